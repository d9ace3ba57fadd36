"""The recommender report on MovieLens replayed by time: the next window passes, the
simulator's strong drift is named, quality is measured where later interactions exist."""

from __future__ import annotations

import numpy as np
import pytest

from mlworkbench.data.simulator import Drift, Simulator
from mlworkbench.errors import DataError
from mlworkbench.models.engines import make_engine
from mlworkbench.models.recommender import Recommender
from mlworkbench.monitoring.recommender_report import RecommenderReport, RecommenderWindow
from mlworkbench.monitoring.run_recommender import served_lists


@pytest.fixture(scope="module")
def replay(movielens):
    """The champion's view: ALS fitted on the training window; its answers on the next
    (testing) window are the output reference."""
    simulator = Simulator(movielens)
    train, testing = simulator.window("training"), simulator.window("testing")
    model = Recommender.fit(make_engine("als", seed=42, threads=1), train, movielens.items,
                            np.sort(train["user_id"].unique()),
                            movielens.items["item_id"].to_numpy())
    reference = RecommenderWindow(train, served_lists(model, testing["user_id"].unique()),
                                  later=testing)
    return simulator, model, reference, RecommenderReport(movielens.items)


def _current(replay, drift: Drift | None) -> RecommenderWindow:
    simulator, model, _, _ = replay
    batch = simulator.production_batch(0, 1000, drift)
    return RecommenderWindow(batch, served_lists(model, batch["user_id"].unique()), later=batch)


@pytest.fixture(scope="module")
def plain(replay):
    return replay[3].run(replay[2], _current(replay, None))


@pytest.fixture(scope="module")
def strong(replay):
    return replay[3].run(replay[2], _current(replay, Drift(popularity_shift=0.5, new_users=0.3)))


def test_the_next_window_replayed_plainly_shows_no_drift(plain) -> None:
    assert [t.name for t in plain.failed if t.kind == "drift"] == []
    assert set(plain.parts) == {"input", "output", "diversity", "quality"}


def test_strong_drift_is_the_verdict_and_names_what_moved(strong, plain) -> None:
    assert strong.verdict in {"drift", "quality drop"}
    drifted = [t.name for t in strong.failed if t.kind == "drift"]
    assert "Value Drift for column item_popularity" in drifted  # input: what users took
    assert any(name.startswith("Personalization") for name in drifted)  # output: fallbacks
    assert strong.metrics["input_drift_item_popularity"] > plain.metrics[
        "input_drift_item_popularity"]
    assert strong.metrics["personalization"] < plain.metrics["personalization"]


def test_quality_of_served_lists_falls_under_drift(strong, plain) -> None:
    for result in (plain, strong):
        assert 0.0 <= result.metrics["precision_at_10"] <= 1.0
        assert result.metrics["reference_precision_at_10"] > 0.1
    assert strong.metrics["hit_rate_at_10"] < plain.metrics["hit_rate_at_10"]
    assert any(t.kind == "quality" and not t.passed for t in strong.tests)


def test_html_report_renders_each_part(plain) -> None:
    html = plain.html("input")
    assert "<html" in html.lower() and "item_popularity" in html


def test_an_empty_window_is_refused(replay) -> None:
    _, _, reference, report = replay
    empty = RecommenderWindow(reference.interactions.iloc[:0])
    with pytest.raises(DataError, match="current window holds no interactions"):
        report.run(reference, empty)
