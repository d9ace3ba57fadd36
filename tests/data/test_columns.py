"""Rows held as columns: the same rows back as dicts, joined in order, refused when a row or
a part lacks a column."""

from __future__ import annotations

import pytest

from mlworkbench.data.columns import Columns
from mlworkbench.errors import DataError

ROWS = [{"request_id": "r1", "user_id": 1, "items": "[5]"},
        {"request_id": "r1", "user_id": 2, "items": "[]"},
        {"request_id": "r2", "user_id": None, "items": "[7,8]"}]


def test_rows_come_back_as_they_went_in() -> None:
    columns = Columns.of_rows(ROWS)
    assert len(columns) == 3 and columns.names == ("request_id", "user_id", "items")
    assert columns.rows() == ROWS
    assert columns.slice(1, 3).rows() == ROWS[1:]


def test_parts_join_in_order_whatever_the_order_of_their_columns() -> None:
    reordered = [{"items": row["items"], "user_id": row["user_id"],
                  "request_id": row["request_id"]} for row in ROWS]
    joined = Columns.joined([Columns.of_rows(ROWS[:2]), Columns({}),
                             Columns.of_rows(reordered[2:])])
    assert joined.rows() == ROWS


def test_a_row_or_a_part_without_a_column_is_refused_naming_it() -> None:
    with pytest.raises(DataError, match="lacks 'items'"):
        Columns.of_rows([ROWS[0], {"request_id": "r3", "user_id": 3}])
    with pytest.raises(DataError, match="cannot join rows with columns request_id, user_id"):
        Columns.joined([Columns.of_rows(ROWS), Columns({"request_id": ["r"], "user_id": [1]})])
    with pytest.raises(DataError, match="different lengths"):
        Columns({"request_id": ["r1", "r2"], "user_id": [1]})
