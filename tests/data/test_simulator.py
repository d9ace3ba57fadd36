"""The simulator: time windows, deterministic production batches, each kind of drift."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlworkbench.data import schema
from mlworkbench.data.ingest import load_titanic
from mlworkbench.data.simulator import Drift, Simulator, synthetic_passengers
from mlworkbench.errors import InvalidParameterError

NOW = 1_700_000_000


@pytest.fixture(scope="module")
def simulator(movielens) -> Simulator:
    return Simulator(movielens, seed=7)


def test_windows_follow_event_time_and_cover_everything(simulator: Simulator, movielens) -> None:
    training, testing = simulator.window("training"), simulator.window("testing")
    assert training["timestamp"].max() <= testing["timestamp"].min()
    assert len(training) + len(testing) + simulator.production_rows == len(movielens.ratings)
    first = simulator.production_batch(0, 100, now=NOW)
    assert first["timestamp"].min() >= testing["timestamp"].max()


def test_batches_are_deterministic_given_seed_and_number(simulator: Simulator, movielens) -> None:
    drift = Drift(popularity_shift=0.3, new_users=0.2, rating_noise=0.5, schema_violations=0.1)
    one = simulator.production_batch(3, 500, drift, now=NOW)
    pd.testing.assert_frame_equal(one, simulator.production_batch(3, 500, drift, now=NOW))
    other = Simulator(movielens, seed=8).production_batch(3, 500, drift, now=NOW)
    assert not one.equals(other)
    assert not one.equals(simulator.production_batch(4, 500, drift, now=NOW))


def test_each_drift_moves_what_it_names(simulator: Simulator, movielens) -> None:
    plain = simulator.production_batch(0, 2000, now=NOW)
    boosted = simulator.production_batch(0, 2000, Drift(popularity_shift=0.5), now=NOW)
    share = boosted["item_id"].isin(simulator.boosted).mean()
    assert share > plain["item_id"].isin(simulator.boosted).mean() + 0.4
    fresh = simulator.production_batch(0, 2000, Drift(new_users=0.25), now=NOW)
    unseen = ~fresh["user_id"].isin(movielens.ratings["user_id"])
    assert 0.2 < unseen.mean() < 0.3
    noisy = simulator.production_batch(0, 2000, Drift(rating_noise=1.0), now=NOW)
    assert (noisy["rating"] != plain["rating"]).mean() > 0.5
    assert noisy["rating"].between(0.5, 5.0).all()


def test_schema_violations_are_exactly_what_validation_rejects(simulator: Simulator,
                                                                movielens) -> None:
    clean = simulator.production_batch(2, 3000, now=NOW)
    broken = simulator.production_batch(2, 3000, Drift(schema_violations=0.1), now=NOW)
    changed = int((clean.astype("float64") != broken.astype("float64")).any(axis=1).sum())
    checked = schema.validate(broken, "interactions", movielens.items["item_id"], now=NOW)
    assert changed > 200
    assert len(checked.rejected) == changed + int(
        schema.validate(clean, "interactions", movielens.items["item_id"], now=NOW)
        .rejected.shape[0])


def test_passengers_shift_by_the_named_amount() -> None:
    passengers = load_titanic()
    same = synthetic_passengers(passengers, 2000, 0.0, seed=1)
    shifted = synthetic_passengers(passengers, 2000, 0.5, seed=1)
    assert shifted["age"].mean() > same["age"].mean() + 8
    assert (shifted["pclass"] == "3rd").mean() > (same["pclass"] == "3rd").mean() + 0.2
    assert len(schema.validate(shifted, "passengers").rejected) == 0


def test_bad_drift_is_refused_with_the_parameter_named() -> None:
    with pytest.raises(InvalidParameterError, match="new_users"):
        Drift(new_users=1.5)
    assert np.isclose(Drift(rating_noise=0.2).rating_noise, 0.2)
