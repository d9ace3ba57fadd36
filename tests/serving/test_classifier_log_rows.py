"""A classifier response's prediction-log row: one per response, the response's id, time and
model, how many passengers, their features as checked and P(survived) as JSON arrays in the
order asked; read back, one row per passenger again."""

from __future__ import annotations

import datetime as dt

import numpy as np
import orjson
import pandas as pd
import pytest

from mlworkbench.data.windows import served_passengers
from mlworkbench.errors import DataError
from mlworkbench.serving.classifier.logged import Predicted
from mlworkbench.serving.classifier.passengers import parse_passengers
from mlworkbench.serving.shadow import Shadowed

SERVED = dt.datetime(2026, 12, 2, 8, 0, tzinfo=dt.UTC)
HEAD = {"served_at": SERVED, "model_name": "titanic-classifier", "model_version": 3,
        "role": "champion", "source": "post"}


def _predicted(request_id: str, records: list[dict], probabilities: list[float]) -> Predicted:
    return Predicted(request_id, SERVED, "titanic-classifier", 3, "post",
                     parse_passengers(records), np.array(probabilities))


def _responses() -> tuple[Predicted, Predicted]:
    first = _predicted("r1", [{"pclass": 1, "sex": "female", "age": 29},
                              {"pclass": "3rd", "sex": "M", "embarked": "s"}],
                       [0.93, 0.123456789012345])
    second = _predicted("r2", [{"pclass": 2, "sex": "male", "age": 40.5, "sibsp": 1,
                                "parch": 0, "embarked": None}], [0.12])
    return first, second


def test_each_response_is_a_row_with_its_passengers_as_arrays() -> None:
    first, second = _responses()
    rows = Predicted.columns_of([first, second]).rows()
    assert [{k: v for k, v in row.items() if k not in ("features", "probabilities")}
            for row in rows] == [{"request_id": "r1", **HEAD, "passengers": 2},
                                 {"request_id": "r2", **HEAD, "passengers": 1}]
    assert orjson.loads(rows[0]["features"]) == {
        "pclass": [1, 3], "sex": ["female", "male"], "age": [29, None],
        "sibsp": [None, None], "parch": [None, None], "embarked": [None, "S"]}
    assert orjson.loads(rows[0]["probabilities"]) == [0.93, 0.123456789012345]  # every digit
    assert orjson.loads(rows[1]["features"])["age"] == [40.5]
    assert first.rows() == rows[:1] and first.size == 1


def test_read_back_each_passenger_is_a_row_again_in_order() -> None:
    rows = pd.DataFrame(Predicted.columns_of(list(_responses())).rows())
    passengers = served_passengers(rows)
    assert passengers["request_id"].tolist() == ["r1", "r1", "r2"]
    assert passengers[["pclass", "sex", "embarked"]].values.tolist() == [
        [1, "female", None], [3, "male", "S"], [2, "male", None]]
    assert passengers["probability"].tolist() == [0.93, 0.123456789012345, 0.12]
    assert passengers["age"].fillna(-1).tolist() == [29, -1, 40.5]


def test_a_row_whose_arrays_disagree_with_its_count_is_refused() -> None:
    rows = pd.DataFrame(Predicted.columns_of(list(_responses())).rows())
    rows.loc[1, "passengers"] = 2
    with pytest.raises(DataError, match="row 1 of this read holds \\[1\\] values for 2 "
                                        "passengers"):
        served_passengers(rows)


def test_a_shadowed_response_logs_the_same_row_in_the_shadow_role() -> None:
    predicted = _predicted("r1", [{"pclass": 1, "sex": "female"}], [0.9])
    (row,) = Shadowed.columns_of([Shadowed(predicted)]).rows()
    assert row == {**predicted.rows()[0], "role": "shadow"}
