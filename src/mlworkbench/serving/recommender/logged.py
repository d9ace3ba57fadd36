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
        """One dict per user: items and scores as JSON text (padding left out). Built from
        whole-matrix ``tolist`` calls, not per-row numpy work: the writer thread makes
        these for every served user, sharing the interpreter with the requests."""
        head = {"request_id": self.request_id, "served_at": self.served_at,
                "model_name": self.model_name, "model_version": self.model_version,
                "role": "champion", "source": self.source}
        items = self.item_ids.tolist()
        scores = np.round(self.scores.astype(np.float64), 6).tolist()
        rows = []
        for user, item_row, score_row, fallback in zip(self.user_ids, items, scores,
                                                       self.fallback, strict=True):
            if item_row and min(item_row) < 0:  # padding: fewer items than k
                score_row = [s for i, s in zip(item_row, score_row, strict=True) if i >= 0]
                item_row = [i for i in item_row if i >= 0]
            rows.append({**head, "user_id": user, "fallback": fallback,
                         "items": orjson.dumps(item_row).decode(),
                         "scores": orjson.dumps(score_row).decode()})
        return rows
