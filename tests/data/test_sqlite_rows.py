"""Prediction-log rows appended in multi-row statements on SQLite read back exactly as rows
that SQLAlchemy's own insert wrote: the same timestamps, booleans, nulls and numbers, in
order, across as many statements as the rows need."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from mlworkbench.data import predictions, sqlite_rows
from mlworkbench.errors import DataError

SERVED = dt.datetime(2026, 12, 2, 6, 30, 15, 123456, tzinfo=dt.UTC)


def _passengers() -> list[dict]:
    """Three of the classifier's response rows: timestamps, nulls, numbers and JSON text."""
    head = {"request_id": "r1", "served_at": SERVED, "model_name": "titanic-classifier",
            "model_version": 3, "role": "champion", "source": "post"}
    return [{**head, "passengers": 1, "probabilities": "[0.912345678]",
             "features": '{"pclass":[1],"sex":["female"],"age":[29],"sibsp":[0],'
                         '"parch":[null],"embarked":["S"]}'},
            {**head, "passengers": 2, "probabilities": "[0.1,0.5]",
             "features": '{"pclass":[3,2],"sex":["male","male"],"age":[null,40.5],'
                         '"sibsp":[null,1],"parch":[2,0],"embarked":[null,"C"]}'},
            {**head, "served_at": SERVED + dt.timedelta(seconds=1), "model_version": None,
             "source": "get", "passengers": 1, "probabilities": "[0.5]",
             "features": '{"pclass":[2],"sex":["male"],"age":[40.5],"sibsp":[1],'
                         '"parch":[0],"embarked":[null]}'}]


def test_rows_read_back_as_sqlalchemys_own_insert_wrote_them(tmp_path) -> None:
    ours = predictions.store_engine(f"sqlite:///{tmp_path / 'ours.db'}")
    theirs = predictions.store_engine(f"sqlite:///{tmp_path / 'theirs.db'}")
    table = predictions.served_table("classifier_predictions")
    many = [{**row, "request_id": f"r{at}"} for at in range(sqlite_rows.ROWS_PER_STATEMENT + 7)
            for row in _passengers()[at % 3 : at % 3 + 1]]  # several statements, a remainder
    try:
        predictions.append_predictions(ours, many, "classifier_predictions")
        with theirs.begin() as connection:
            connection.execute(table.insert(), many)
        written = predictions.read_predictions(ours, table="classifier_predictions")
        expected = predictions.read_predictions(theirs, table="classifier_predictions")
    finally:
        predictions.dispose_engines()
    pd.testing.assert_frame_equal(written, expected)
    assert len(written) == len(many) and written["request_id"].iloc[-1] == f"r{len(many) - 1}"
    assert written["passengers"].tolist()[:3] == [1, 2, 1]
    assert written["model_version"].isna().tolist()[:3] == [False, False, True]
    assert written["served_at"].iloc[2] - written["served_at"].iloc[0] == pd.Timedelta("1s")


def test_a_row_without_the_first_rows_columns_is_refused_naming_it(tmp_path) -> None:
    engine = predictions.store_engine(f"sqlite:///{tmp_path / 'log.db'}")
    rows = _passengers()
    del rows[1]["probabilities"]
    try:
        with pytest.raises(DataError, match="lacks 'probabilities'"):
            predictions.append_predictions(engine, rows, "classifier_predictions")
        assert predictions.read_predictions(engine, table="classifier_predictions").empty
    finally:
        predictions.dispose_engines()
