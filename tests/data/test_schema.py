"""The data contract: every kind of bad row gets its reason; good rows come out typed."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from mlworkbench.data import schema
from mlworkbench.data.ingest import load_titanic
from mlworkbench.errors import DataError

NOW = 1_500_000_000


def _validate(rows: list[tuple[object, object, object, object]]) -> schema.Validated:
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "timestamp"])
    return schema.validate(frame, "interactions", known_items=[10, 20], now=NOW)


def test_each_kind_of_bad_row_is_rejected_with_its_reason() -> None:
    checked = _validate([
        (1, 10, 4.0, 100),             # good
        (2, 20, 0.5, "2001-09-09T01:46:40Z"),  # good: ISO time
        ("x", 10, 3.0, 100),           # user not a number
        (3, 99, 3.0, 100),             # unknown item
        (4, 10, 5.5, 100),             # rating out of range
        (5, 10, 3.3, 100),             # rating not in half steps
        (6, 10, 3.0, NOW + 1),         # future
        (7, 10, 3.0, "yesterday"),     # unparseable time
        (1, 10, 2.0, 100),             # duplicate (user, item, time) of the first row
        (None, 2.5, 9.0, 100),         # several reasons at once
    ])
    assert checked.received == 10
    assert checked.accepted.to_dict("list") == {
        "user_id": [1, 2], "item_id": [10, 20], "rating": [4.0, 0.5],
        "timestamp": [100, 1_000_000_000]}
    assert list(checked.accepted.dtypes.astype(str)) == ["int64", "int64", "float64", "int64"]
    assert dict(zip(checked.rejected.index, checked.rejected[schema.REASONS], strict=True)) == {
        2: "user_id is missing or not a number",
        3: "item_id refers to no known item",
        4: "rating must be 0.5 to 5.0 in steps of 0.5",
        5: "rating must be 0.5 to 5.0 in steps of 0.5",
        6: "timestamp is in the future",
        7: "timestamp is missing or not unix seconds or ISO time",
        8: "duplicate of an earlier (user_id, item_id, timestamp) row",
        9: "user_id is missing or not a number; item_id must be a positive integer; "
           "item_id refers to no known item; rating must be 0.5 to 5.0 in steps of 0.5",
    }
    assert checked.rejected.loc[2, "user_id"] == "x"  # kept as received


def test_aliases_are_accepted_and_unknown_or_missing_columns_are_named() -> None:
    frame = pd.DataFrame({"userId": [1], "movieId": [10], "rating": [4.0], "timestamp": [1]})
    assert list(schema.conform_columns(frame, "interactions").columns) == [
        "user_id", "item_id", "rating", "timestamp"]
    with pytest.raises(DataError, match=r"unknown column\(s\) title and missing column\(s\) "
                                        r"timestamp"):
        schema.conform_columns(frame.drop(columns="timestamp").assign(title="x"), "interactions")


def test_titanic_passes_the_passenger_schema_and_bad_passengers_do_not() -> None:
    passengers = load_titanic()
    assert schema.validate(passengers, "passengers").accepted.shape == (1309, 7)  # + embarked
    broken = passengers.head(3).copy()
    broken.loc[0, "pclass"] = "4th"
    broken.loc[1, "age"] = -1.0
    rejected = schema.validate(broken, "passengers").rejected
    assert list(rejected[schema.REASONS]) == ["pclass must be 1st, 2nd or 3rd",
                                              "age must be 0 to 110"]


def test_the_schema_document_is_versioned_json(tmp_path) -> None:
    document = json.loads(schema.save_schema(tmp_path / "schema.json").read_text())
    assert document["version"] == schema.SCHEMA_VERSION
    interactions = document["tables"]["interactions"]
    assert interactions["unique"] == ["user_id", "item_id", "timestamp"]
    rating_checks = interactions["columns"]["rating"]["checks"]
    assert "rating must be 0.5 to 5.0 in steps of 0.5" in rating_checks
