"""The recommender's prediction-log rows: one per (response, user), items and scores as served."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import orjson


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
        """One dict per user: items and scores as JSON text (padding left out). Each matrix
        is serialised by one orjson call and cut into rows, with no numpy or JSON work per
        user: the writer thread makes these for every served user, sharing the interpreter
        with the requests."""
        head = {"request_id": self.request_id, "served_at": self.served_at,
                "model_name": self.model_name, "model_version": self.model_version,
                "role": "champion", "source": self.source}
        if self.item_ids.size == 0 or (self.item_ids < 0).any():
            items, scores = self._padded()
        else:
            items = _json_rows(self.item_ids)
            scores = _json_rows(np.round(self.scores.astype(np.float64), 6))
        return [{**head, "user_id": user, "fallback": fallback, "items": item_row,
                 "scores": score_row}
                for user, fallback, item_row, score_row in zip(self.user_ids, self.fallback,
                                                                items, scores, strict=True)]

    def _padded(self) -> tuple[list[str], list[str]]:
        """Rows with fewer items than k: the padding (-1 / NaN) left out, row by row."""
        items, scores = [], []
        for item_row, score_row in zip(self.item_ids.tolist(),
                                       np.round(self.scores.astype(np.float64), 6).tolist(),
                                       strict=True):
            kept = [at for at, item in enumerate(item_row) if item >= 0]
            items.append(orjson.dumps([item_row[at] for at in kept]).decode())
            scores.append(orjson.dumps([score_row[at] for at in kept]).decode())
        return items, scores


def _json_rows(matrix: np.ndarray) -> list[str]:
    """``[json.dumps(row) for row in matrix]``, from one serialisation of the whole matrix."""
    if matrix.shape[1] == 0:
        return ["[]"] * matrix.shape[0]
    text = orjson.dumps(np.ascontiguousarray(matrix), option=orjson.OPT_SERIALIZE_NUMPY).decode()
    return ["[" + row + "]" for row in text[2:-2].split("],[")]
