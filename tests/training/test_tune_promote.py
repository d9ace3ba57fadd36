"""Grid search and the promotion gate against a real MLflow store, on MovieLens."""

from __future__ import annotations

from functools import partial

import pytest

from mlworkbench.cli.main import run
from mlworkbench.config import CHALLENGER_ALIAS, CHAMPION_ALIAS
from mlworkbench.errors import InvalidParameterError, ModelNotFoundError
from mlworkbench.models.hyperparameters import validate
from mlworkbench.tracking.client import configure
from mlworkbench.tracking.registry import alias_version, set_alias
from mlworkbench.training.gate import promote
from mlworkbench.training.grid import build_grid
from mlworkbench.training.recommender import RECOMMENDER
from mlworkbench.training.train import TrainRequest, train
from mlworkbench.training.tune import TuneRequest, tune

ALS = partial(validate, "als")

WORSE = {"factors": 2, "iterations": 1}


@pytest.fixture(scope="module")
def gate(tmp_path_factory, movielens):
    """v1: a deliberately bad champion; then a 2x2 grid whose best becomes v2 challenger."""
    from mlworkbench.config import Settings

    settings = Settings(home=tmp_path_factory.mktemp("gate") / "mlwb")
    bad = train(RECOMMENDER, TrainRequest(params=WORSE), settings=settings, data=movielens)
    grid = build_grid(ALS, ["factors=16,32", "iterations=3,6"])
    tuned = tune(RECOMMENDER, TuneRequest(grid=grid, metric="ndcg_at_10"), settings=settings,
                             data=movielens)
    return settings, bad, tuned


def test_grid_has_one_parent_and_a_child_per_combination(gate) -> None:
    settings, _, tuned = gate
    client = configure(settings)
    children = client.search_runs(
        [client.get_experiment_by_name(settings.experiment_name).experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{tuned.parent_run_id}'",
    )
    assert len(children) == 4
    combos = {(r.data.params["factors"], r.data.params["iterations"]) for r in children}
    assert combos == {("16", "3"), ("16", "6"), ("32", "3"), ("32", "6")}
    assert all("val_ndcg_at_10" in r.data.metrics and "fit_seconds" in r.data.metrics
               for r in children)
    # only the winner, refitted on the train part, carries test-holdout numbers
    tested = [r for r in children if "ndcg_at_10" in r.data.metrics]
    assert [r.info.run_id for r in tested] == [tuned.best.run_id]
    assert tested[0].data.metrics["ndcg_at_10"] == pytest.approx(tuned.test_metrics["ndcg_at_10"])
    artifacts = {a.path for a in client.list_artifacts(tuned.parent_run_id, "tuning")}
    assert {"tuning/results.csv", "tuning/metric_by_parameter.png"} <= artifacts


def test_challenger_is_the_argmax_of_the_metric(gate) -> None:
    settings, _, tuned = gate
    client = configure(settings)
    best = max(tuned.trials, key=lambda t: t.metrics["ndcg_at_10"])
    challenger = client.get_model_version_by_alias(settings.recommender_model_name,
                                                   CHALLENGER_ALIAS)
    assert challenger.run_id == best.run_id == tuned.best.run_id
    assert int(challenger.version) == tuned.version == 2


def test_gate_promotes_better_and_refuses_worse(gate, movielens) -> None:
    settings, bad, tuned = gate
    name = settings.recommender_model_name
    client = configure(settings)

    dry = promote(RECOMMENDER, dry_run=True, settings=settings, data=movielens)
    assert dry.promoted and alias_version(client, name, CHAMPION_ALIAS) == bad.version

    won = promote(RECOMMENDER, settings=settings, data=movielens)
    assert won.promoted and won.champion == bad.version and won.challenger == tuned.version
    assert alias_version(client, name, CHAMPION_ALIAS) == tuned.version
    assert alias_version(client, name, CHALLENGER_ALIAS) is None
    tags = client.get_model_version(name, str(tuned.version)).tags
    assert tags["promotion.decision"] == "promoted"
    assert tags["promotion.compared_against"] == str(bad.version)
    assert float(tags["promotion.challenger_score"]) > float(tags["promotion.champion_score"])

    worse = train(RECOMMENDER, TrainRequest(params=WORSE), settings=settings, data=movielens)
    set_alias(client, name, CHALLENGER_ALIAS, worse.version)
    lost = promote(RECOMMENDER, settings=settings, data=movielens)
    assert not lost.promoted and lost.gain < 0
    assert alias_version(client, name, CHAMPION_ALIAS) == tuned.version
    tags = client.get_model_version(name, str(worse.version)).tags
    assert tags["promotion.decision"] == "rejected"
    assert "does not beat" in tags["promotion.reason"]


def test_gate_cli_exit_code_and_describe(gate, monkeypatch, capsys) -> None:
    settings, _, tuned = gate
    from mlworkbench.config import get_settings

    monkeypatch.setenv("MLWB_HOME", str(settings.home))
    get_settings.cache_clear()
    try:
        # the rejected challenger from the previous test still holds the alias: champion stays
        assert run(["models", "promote", "--dry-run"]) == 3
        assert "not promoted" in capsys.readouterr().out
        ref = f"{settings.recommender_model_name}/{tuned.version}"
        assert run(["models", "describe", ref]) == 0
        out = capsys.readouterr().out
        assert "promotion history" in out and "promoted" in out and "rejected" in out
        assert "data digest" in out and "ndcg_at_10" in out
        assert "schema version -" not in out  # the data layer's schema version is shown
    finally:
        get_settings.cache_clear()


def test_bad_requests_fail_before_training(workspace) -> None:
    grid = build_grid(ALS, ["factors=8"])
    with pytest.raises(InvalidParameterError, match="'metric' of tune"):
        tune(RECOMMENDER, TuneRequest(grid=grid, metric="auc"), settings=workspace)
    with pytest.raises(InvalidParameterError, match="'parallel' of tune"):
        tune(RECOMMENDER, TuneRequest(grid=grid, parallel=64), settings=workspace)
    assert not (workspace.home / "mlflow.db").exists()
    with pytest.raises(ModelNotFoundError):
        promote(RECOMMENDER, settings=workspace)


def test_bad_grid_on_the_cli_is_one_line(workspace, capsys) -> None:
    assert run(["tune", "recommender", "--grid", "factors=abc"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("Error: parameter 'factors'") and "\n" not in err


def test_parallel_trials_match_sequential_ones(workspace, movielens) -> None:
    grid = build_grid(ALS, ["factors=8,16", "iterations=2"])
    sequential = tune(RECOMMENDER, TuneRequest(grid=grid, register=False), settings=workspace,
                                  data=movielens)
    parallel = tune(RECOMMENDER, TuneRequest(grid=grid, register=False, parallel=2),
                                settings=workspace, data=movielens)
    assert parallel.version is None
    by_params = {tuple(t.params.items()): t.metrics["ndcg_at_10"] for t in sequential.trials}
    for trial in parallel.trials:
        assert trial.metrics["ndcg_at_10"] == pytest.approx(by_params[tuple(trial.params.items())],
                                                            abs=1e-4)
