"""The recommender's prediction-log rows: one per (response, user), items and scores as served."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import orjson

from mlworkbench.data.columns import Columns
from mlworkbench.serving.prediction_log import response_columns


@dataclass(frozen=True)
class Served:
    """One response: a row per user, items and scores as served."""

    request_id: str
    served_at: dt.datetime
    model_name: str
    model_version: int | None
    source: str
    user_ids: list[int | None]
    item_ids: np.ndarray  # (users, k), -1 = padding
    scores: np.ndarray  # (users, k)
    fallback: list[str | None]

    @property
    def size(self) -> int:
        return len(self.user_ids)

    def rows(self) -> list[dict]:
        """One dict per user: items and scores as JSON text (padding left out)."""
        return Served.columns_of([self]).rows()

    @staticmethod
    def columns_of(entries: Sequence[Served]) -> Columns:
        """The rows of many responses at once: their matrices stacked and serialised by one
        orjson call each, then cut into rows, with no numpy or JSON work per response or
        user (the writer thread makes these for every served user, sharing the interpreter
        with the requests)."""
        if len({entry.item_ids.shape[1] for entry in entries}) > 1:  # k differs: one by one
            return Columns.joined([Served.columns_of([entry]) for entry in entries])
        item_ids = np.concatenate([entry.item_ids for entry in entries])
        scores = np.round(np.concatenate([entry.scores for entry in entries])
                          .astype(np.float64), 6)
        if item_ids.size == 0 or (item_ids < 0).any():
            items, texts = _padded(item_ids, scores)
        else:
            items, texts = _json_rows(item_ids), _json_rows(scores)
        columns = response_columns(entries, "champion")
        columns["user_id"] = [user for entry in entries for user in entry.user_ids]
        columns["fallback"] = [reason for entry in entries for reason in entry.fallback]
        columns["items"], columns["scores"] = items, texts
        return Columns(columns)


def _padded(item_ids: np.ndarray, scores: np.ndarray) -> tuple[list[str], list[str]]:
    """Rows with fewer items than k: the padding (-1 / NaN) left out, row by row."""
    items, texts = [], []
    for item_row, score_row in zip(item_ids.tolist(), scores.tolist(), strict=True):
        kept = [at for at, item in enumerate(item_row) if item >= 0]
        items.append(orjson.dumps([item_row[at] for at in kept]).decode())
        texts.append(orjson.dumps([score_row[at] for at in kept]).decode())
    return items, texts


def _json_rows(matrix: np.ndarray) -> list[str]:
    """``[json.dumps(row) for row in matrix]``, from one serialisation of the whole matrix."""
    if matrix.shape[1] == 0:
        return ["[]"] * matrix.shape[0]
    text = orjson.dumps(np.ascontiguousarray(matrix), option=orjson.OPT_SERIALIZE_NUMPY).decode()
    return ["[" + row + "]" for row in text[2:-2].split("],[")]
