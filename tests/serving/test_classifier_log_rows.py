"""A classifier response's prediction-log rows: one per passenger, its features as checked,
P(survived) and the verdict, the response's id, time and model on every row."""

from __future__ import annotations

import datetime as dt

import numpy as np

from mlworkbench.serving.classifier.logged import Predicted
from mlworkbench.serving.classifier.passengers import parse_passengers
from mlworkbench.serving.shadow import Shadowed

SERVED = dt.datetime(2026, 12, 2, 8, 0, tzinfo=dt.UTC)


def _predicted(request_id: str, records: list[dict], probabilities: list[float]) -> Predicted:
    return Predicted(request_id, SERVED, "titanic-classifier", 3, "post",
                     parse_passengers(records), np.array(probabilities))


def test_each_passenger_is_a_row_with_the_responses_head() -> None:
    first = _predicted("r1", [{"pclass": 1, "sex": "female", "age": 29},
                              {"pclass": "3rd", "sex": "M", "embarked": "s"}], [0.93, 0.5])
    second = _predicted("r2", [{"pclass": 2, "sex": "male", "age": 40.5, "sibsp": 1,
                                "parch": 0, "embarked": None}], [0.12])
    rows = Predicted.columns_of([first, second]).rows()
    head = {"served_at": SERVED, "model_name": "titanic-classifier", "model_version": 3,
            "role": "champion", "source": "post"}
    assert rows == [
        {"request_id": "r1", **head, "pclass": 1, "sex": "female", "age": 29, "sibsp": None,
         "parch": None, "embarked": None, "probability": 0.93, "survived": True},
        {"request_id": "r1", **head, "pclass": 3, "sex": "male", "age": None, "sibsp": None,
         "parch": None, "embarked": "S", "probability": 0.5, "survived": True},
        {"request_id": "r2", **head, "pclass": 2, "sex": "male", "age": 40.5, "sibsp": 1,
         "parch": 0, "embarked": None, "probability": 0.12, "survived": False}]
    assert first.rows() == rows[:2]


def test_a_shadowed_response_logs_the_same_rows_in_the_shadow_role() -> None:
    predicted = _predicted("r1", [{"pclass": 1, "sex": "female"}], [0.9])
    (row,) = Shadowed.columns_of([Shadowed(predicted)]).rows()
    assert row == {**predicted.rows()[0], "role": "shadow"}
