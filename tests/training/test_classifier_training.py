"""The classifier through the family seam: trained from the store, logged, registered, tuned,
gated — by the same run, grid and gate code as the recommender."""

from __future__ import annotations

from functools import partial

import mlflow
import pytest

from mlworkbench.config import CHALLENGER_ALIAS, CHAMPION_ALIAS
from mlworkbench.errors import InvalidParameterError
from mlworkbench.models.classifier import validate_params
from mlworkbench.tracking.client import configure
from mlworkbench.tracking.registry import alias_version, set_alias
from mlworkbench.training.classifier import CLASSIFIER
from mlworkbench.training.gate import promote
from mlworkbench.training.grid import build_grid
from mlworkbench.training.train import TrainRequest, train
from mlworkbench.training.tune import TuneRequest, tune


def test_the_default_classifier_clears_the_bar_and_beats_the_sex_rule(trained_classifier):
    settings, result = trained_classifier
    auc = result.metrics["roc_auc"]
    assert auc >= 0.82
    assert auc >= result.baseline["roc_auc"] + 0.05
    assert result.fitted.evaluated == round(1309 * 0.2)  # the stratified 20 % holdout
    assert result.registered_name == "titanic-classifier"
    assert result.version == result.champion_version == 1

    client = configure(settings)
    run = client.get_run(result.run_id)
    for metric in ("roc_auc", "accuracy", "f1", "log_loss", "brier"):
        assert f"cv_{metric}_mean" in run.data.metrics and f"cv_{metric}_std" in run.data.metrics
        assert f"sex_rule_{metric}" in run.data.metrics
    assert run.data.tags["data.snapshot"] == "latest" and run.data.tags["family"] == "classifier"
    artifacts = {a.path for a in client.list_artifacts(result.run_id, "plots")}
    assert artifacts == {"plots/confusion_matrix.png", "plots/roc.png", "plots/calibration.png"}
    assert {a.path for a in client.list_artifacts(result.run_id, "data")} == {"data/schema.json"}
    info = mlflow.models.get_model_info(f"models:/titanic-classifier/{result.version}")
    assert "sklearn" in info.flavors
    assert [c.name for c in info.signature.inputs.inputs] == ["pclass", "sex", "age", "sibsp",
                                                               "parch"]
    assert info.metadata["data_schema"]["tables"]["passengers"]["optional"] == ["embarked"]


def test_bad_hyperparameters_fail_before_any_work(workspace):
    with pytest.raises(InvalidParameterError, match="C"):
        train(CLASSIFIER, TrainRequest(model="logreg", params={"C": -1}), settings=workspace)
    with pytest.raises(InvalidParameterError, match="split"):
        train(CLASSIFIER, TrainRequest(split="temporal"), settings=workspace)


def test_tune_then_the_gate_promotes_a_better_and_refuses_a_worse_challenger(trained_classifier):
    settings, result = trained_classifier
    client = configure(settings)
    weak = train(CLASSIFIER, TrainRequest(model="gbm", params={"max_iter": 1, "max_depth": 1}),
                 settings=settings)
    set_alias(client, "titanic-classifier", CHALLENGER_ALIAS, weak.version)
    refused = promote(CLASSIFIER, settings=settings)
    assert not refused.promoted and refused.metric == "roc_auc"
    assert refused.challenger_score < refused.champion_score
    assert alias_version(client, "titanic-classifier", CHAMPION_ALIAS) == result.version

    grid = build_grid(partial(validate_params, "gbm"), ["max_depth=2,3", "learning_rate=0.1"])
    tuned = tune(CLASSIFIER, TuneRequest(grid=grid, model="gbm"), settings=settings)
    assert len(tuned.trials) == 2 and tuned.metric == "roc_auc"
    assert tuned.trials[0].metrics["roc_auc"] >= tuned.trials[1].metrics["roc_auc"]
    children = client.search_runs(
        [client.get_run(tuned.parent_run_id).info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{tuned.parent_run_id}'")
    assert len(children) == 2
    assert alias_version(client, "titanic-classifier", CHALLENGER_ALIAS) == tuned.version
    decision = promote(CLASSIFIER, settings=settings, dry_run=True)
    assert decision.challenger == tuned.version and decision.champion == result.version
