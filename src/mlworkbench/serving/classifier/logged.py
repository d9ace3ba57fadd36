"""The classifier's prediction-log rows: one per (response, passenger), features and P(survived)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from mlworkbench.serving.classifier.passengers import Passengers


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
        head = {"request_id": self.request_id, "served_at": self.served_at,
                "model_name": self.model_name, "model_version": self.model_version,
                "role": "champion", "source": self.source}
        p = self.passengers
        return [
            {**head, "pclass": pclass, "sex": sex, "age": age, "sibsp": sibsp, "parch": parch,
             "embarked": embarked, "probability": probability, "survived": probability >= 0.5}
            for pclass, sex, age, sibsp, parch, embarked, probability in zip(
                p.pclass, p.sex, p.age, p.sibsp, p.parch, p.embarked,
                self.probabilities.tolist(), strict=True)
        ]
