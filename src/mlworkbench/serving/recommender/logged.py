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
        valid = self.item_ids >= 0
        return [
            {"request_id": self.request_id, "served_at": self.served_at,
             "model_name": self.model_name, "model_version": self.model_version,
             "role": "champion", "source": self.source, "user_id": user, "fallback": fallback,
             "items": orjson.dumps(items[keep].tolist()).decode(),
             "scores": orjson.dumps(np.round(scores[keep].astype(np.float64), 6).tolist()).decode()}
            for user, items, scores, keep, fallback in zip(
                self.user_ids, self.item_ids, self.scores, valid, self.fallback, strict=True)
        ]
