"""The classifier's prediction-log rows: one per (response, passenger), features and P(survived)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mlworkbench.data.columns import Columns
from mlworkbench.serving.classifier.passengers import Passengers
from mlworkbench.serving.classifier.schemas import FIELDS
from mlworkbench.serving.prediction_log import response_columns


@dataclass(frozen=True)
class Predicted:
    request_id: str
    served_at: dt.datetime
    model_name: str
    model_version: int | None
    source: str
    passengers: Passengers
    probabilities: np.ndarray

    @property
    def size(self) -> int:
        return len(self.passengers)

    def rows(self) -> list[dict]:
        return Predicted.columns_of([self]).rows()

    @staticmethod
    def columns_of(entries: Sequence[Predicted]) -> Columns:
        """The rows of many responses at once, a column at a time (no dict per passenger)."""
        columns = response_columns(entries, "champion")
        for name in FIELDS:
            columns[name] = [value for entry in entries
                             for value in getattr(entry.passengers, name)]
        probabilities = (np.concatenate([entry.probabilities for entry in entries])
                         if entries else np.empty(0))
        columns["probability"] = probabilities.tolist()
        columns["survived"] = (probabilities >= 0.5).tolist()
        return Columns(columns)
