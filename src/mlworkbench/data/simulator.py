"""Replay MovieLens by event time as training, testing and production data, with drift.

The ratings, ordered by time, are cut into a training window (the first 60 %), a testing
window (the next 20 %) and the production stream (the rest), served in batches that wrap
around. Drift is injected per batch: a popularity shift toward a fixed set of boosted
items, brand-new users, rating noise, and schema violations (rows the store must
quarantine). Everything is deterministic given the data, the seed and the batch number
(never the clock).
For tabular data, :func:`synthetic_passengers` draws Titanic-like passengers whose
features shift by a named amount.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlworkbench.data.datasets import RATING_COLUMNS, Interactions
from mlworkbench.errors import InvalidParameterError

WINDOWS = ("training", "testing")
BOOSTED_ITEMS = 20
VIOLATIONS = ("rating out of range", "unknown item", "missing user", "future timestamp")
# "future" rows lie this far after the data's last event: fixed by the data, not the clock,
# so a file is the same run to run and is judged the same on any day before 2100
FUTURE_OFFSET_S = 100 * 365 * 86_400


def _share(name: str, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise InvalidParameterError(name, "the drift", "a share in [0, 1]", value)
    return value


@dataclass(frozen=True)
class Drift:
    """How a production batch departs from the past; every field is a share of its rows."""

    popularity_shift: float = 0.0  # rows redirected to a fixed set of boosted items
    new_users: float = 0.0  # rows given to users never seen before
    rating_noise: float = 0.0  # rows whose rating moves by a random ±0.5..2.0
    schema_violations: float = 0.0  # rows broken on purpose (see VIOLATIONS)

    def __post_init__(self) -> None:
        for name in ("popularity_shift", "new_users", "rating_noise", "schema_violations"):
            _share(name, getattr(self, name))


class Simulator:
    """Windows and production batches over one data set's ratings."""

    def __init__(self, data: Interactions, seed: int = 42, training: float = 0.6,
                 testing: float = 0.2) -> None:
        if not (training > 0 and testing > 0 and training + testing < 1):
            raise InvalidParameterError("training/testing", "the simulator",
                                        "positive shares summing to less than 1",
                                        (training, testing))
        self.seed = seed
        ratings = data.ratings[RATING_COLUMNS]
        order = np.lexsort((ratings["item_id"], ratings["user_id"], ratings["timestamp"]))
        self.ratings = ratings.iloc[order].reset_index(drop=True)
        n = len(self.ratings)
        self._cuts = (int(n * training), int(n * (training + testing)))
        self.items = data.items
        catalogue = data.items["item_id"].to_numpy()
        self.boosted = np.random.default_rng(seed).choice(
            catalogue, size=min(BOOSTED_ITEMS, len(catalogue)), replace=False)
        self._max_user = int(self.ratings["user_id"].max())
        self._max_item = int(catalogue.max())
        self.future_time = int(self.ratings["timestamp"].max()) + FUTURE_OFFSET_S

    def window(self, name: str) -> pd.DataFrame:
        """The training or testing window, in event-time order."""
        if name not in WINDOWS:
            raise InvalidParameterError("window", "the simulator", f"one of {WINDOWS}", name)
        start, end = (0, self._cuts[0]) if name == "training" else self._cuts
        return self.ratings.iloc[start:end].reset_index(drop=True)

    @property
    def production_rows(self) -> int:
        return len(self.ratings) - self._cuts[1]

    def production_batch(self, index: int, size: int, drift: Drift | None = None
                         ) -> pd.DataFrame:
        """Production batch number ``index`` (0-based) of ``size`` rows, drift applied."""
        if size < 1:
            raise InvalidParameterError("batch_size", "the simulator", "at least 1", size)
        stream = self.ratings.iloc[self._cuts[1]:]
        positions = (index * size + np.arange(size)) % len(stream)
        batch = stream.iloc[positions].reset_index(drop=True)
        return self._drifted(batch, drift or Drift(), np.random.default_rng((self.seed, index)))

    def _drifted(self, batch: pd.DataFrame, drift: Drift, rng: np.random.Generator
                 ) -> pd.DataFrame:
        batch = batch.copy()
        n = len(batch)

        def pick(share: float) -> np.ndarray:
            return np.flatnonzero(rng.random(n) < share)

        rows = pick(drift.popularity_shift)
        batch.loc[rows, "item_id"] = rng.choice(self.boosted, size=len(rows))
        rows = pick(drift.new_users)
        batch.loc[rows, "user_id"] = self._max_user + 1 + rng.integers(
            0, max(1, len(rows) // 5), size=len(rows))
        rows = pick(drift.rating_noise)
        noisy = batch.loc[rows, "rating"] + rng.choice([-2, -1.5, -1, -0.5, 0.5, 1, 1.5, 2],
                                                        size=len(rows))
        batch.loc[rows, "rating"] = noisy.clip(0.5, 5.0)
        return self._violated(batch, pick(drift.schema_violations))

    def _violated(self, batch: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
        """Break ``rows`` in turn: each kind of violation the store must quarantine."""
        if len(rows) == 0:
            return batch
        batch = batch.astype({"user_id": "float64", "item_id": "float64"})
        kinds = np.arange(len(rows)) % len(VIOLATIONS)
        batch.loc[rows[kinds == 0], "rating"] = 7.5
        batch.loc[rows[kinds == 1], "item_id"] = float(self._max_item + 1_000_000)
        batch.loc[rows[kinds == 2], "user_id"] = np.nan
        batch.loc[rows[kinds == 3], "timestamp"] = self.future_time
        return batch


def synthetic_passengers(passengers: pd.DataFrame, n: int, shift: float = 0.0,
                         seed: int = 42) -> pd.DataFrame:
    """``n`` passengers resampled from ``passengers``, shifted by ``shift`` in [0, 1].

    A shift of s makes everyone older by s*20 years (capped at 110), moves a share s of
    passengers to 3rd class and a share s/2 to male: a named, measurable drift.
    """
    _share("shift", shift)
    if n < 1:
        raise InvalidParameterError("n", "synthetic passengers", "at least 1", n)
    rng = np.random.default_rng(seed)
    sample = passengers.iloc[rng.integers(0, len(passengers), size=n)].reset_index(drop=True)
    sample["age"] = (sample["age"] + shift * 20).clip(upper=110)
    sample.loc[rng.random(n) < shift, "pclass"] = "3rd"
    sample.loc[rng.random(n) < shift / 2, "sex"] = "male"
    return sample
