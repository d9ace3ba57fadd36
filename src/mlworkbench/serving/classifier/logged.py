"""The classifier's prediction-log rows: one per response, its passengers' features and
P(survived) as JSON arrays (a passenger is answered ``survived`` when P >= 0.5).

One row per response rather than per passenger: a 100-passenger batch is one insert of a
few values, not a hundred inserts of fourteen (which cost the log writer 6 us a passenger,
more than the request itself; migration 7 of the store)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import orjson

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
        return 1

    def rows(self) -> list[dict]:
        return Predicted.columns_of([self]).rows()

    @staticmethod
    def columns_of(entries: Sequence[Predicted]) -> Columns:
        """The rows of many responses at once, a column at a time."""
        columns = response_columns(entries, "champion")
        columns["passengers"] = [len(entry.passengers) for entry in entries]
        columns["features"] = [
            orjson.dumps({name: getattr(entry.passengers, name) for name in FIELDS}).decode()
            for entry in entries]
        columns["probabilities"] = [
            orjson.dumps(entry.probabilities, option=orjson.OPT_SERIALIZE_NUMPY).decode()
            for entry in entries]
        return Columns(columns)
