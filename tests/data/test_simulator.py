"""The simulator: time windows, deterministic production batches, each kind of drift."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from mlworkbench.cli.main import app
from mlworkbench.data import schema
from mlworkbench.data.ingest import load_titanic
from mlworkbench.data.simulator import Drift, Simulator, synthetic_passengers
from mlworkbench.errors import InvalidParameterError


@pytest.fixture(scope="module")
def simulator(movielens) -> Simulator:
    return Simulator(movielens, seed=7)


def test_windows_follow_event_time_and_cover_everything(simulator: Simulator, movielens) -> None:
    training, testing = simulator.window("training"), simulator.window("testing")
    assert training["timestamp"].max() <= testing["timestamp"].min()
    assert len(training) + len(testing) + simulator.production_rows == len(movielens.ratings)
    first = simulator.production_batch(0, 100)
    assert first["timestamp"].min() >= testing["timestamp"].max()


def test_batches_are_deterministic_given_seed_and_number(simulator: Simulator, movielens) -> None:
    drift = Drift(popularity_shift=0.3, new_users=0.2, rating_noise=0.5, schema_violations=0.1)
    one = simulator.production_batch(3, 500, drift)
    pd.testing.assert_frame_equal(one, simulator.production_batch(3, 500, drift))
    other = Simulator(movielens, seed=8).production_batch(3, 500, drift)
    assert not one.equals(other)
    assert not one.equals(simulator.production_batch(4, 500, drift))


def test_each_drift_moves_what_it_names(simulator: Simulator, movielens) -> None:
    plain = simulator.production_batch(0, 2000)
    boosted = simulator.production_batch(0, 2000, Drift(popularity_shift=0.5))
    share = boosted["item_id"].isin(simulator.boosted).mean()
    assert share > plain["item_id"].isin(simulator.boosted).mean() + 0.4
    fresh = simulator.production_batch(0, 2000, Drift(new_users=0.25))
    unseen = ~fresh["user_id"].isin(movielens.ratings["user_id"])
    assert 0.2 < unseen.mean() < 0.3
    noisy = simulator.production_batch(0, 2000, Drift(rating_noise=1.0))
    assert (noisy["rating"] != plain["rating"]).mean() > 0.5
    assert noisy["rating"].between(0.5, 5.0).all()


def test_schema_violations_are_exactly_what_validation_rejects(simulator: Simulator,
                                                                movielens) -> None:
    clean = simulator.production_batch(2, 3000)
    broken = simulator.production_batch(2, 3000, Drift(schema_violations=0.1))
    changed = int((clean.astype("float64") != broken.astype("float64")).any(axis=1).sum())
    checked = schema.validate(broken, "interactions", movielens.items["item_id"])
    assert changed > 200
    assert len(checked.rejected) == changed + int(
        schema.validate(clean, "interactions", movielens.items["item_id"])
        .rejected.shape[0])


def test_simulated_files_are_the_same_run_to_run_and_validate_the_same_days_later(
        tmp_path: Path, movielens) -> None:
    args = ["simulate", "--batches", "2", "--batch-size", "2000", "--schema-violations", "0.1"]
    first = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "a")])
    time.sleep(1.1)  # a clock-derived "future" would differ by now
    second = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "b")])
    assert first.exit_code == second.exit_code == 0, first.output + second.output
    names = sorted(path.name for path in (tmp_path / "a").iterdir())
    assert names and names == sorted(path.name for path in (tmp_path / "b").iterdir())
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    batch = pd.read_csv(tmp_path / "a" / "production-0002.csv")
    judged = [schema.validate(batch, "interactions", movielens.items["item_id"], now=now)
              for now in (time.time(), time.time() + 2 * 86_400, time.time() + 365 * 86_400)]
    assert len(judged[0].rejected) > 100
    for later in judged[1:]:
        pd.testing.assert_frame_equal(later.rejected, judged[0].rejected)


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
