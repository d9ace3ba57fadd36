from __future__ import annotations

import math

import numpy as np
import pytest

from mlworkbench.data.ingest import load_titanic
from mlworkbench.errors import DataError, InvalidParameterError
from mlworkbench.models.classifier import KINDS, features_frame, labels, make_baseline
from mlworkbench.models.classifier import make_classifier as make
from mlworkbench.training import classifier_plots
from mlworkbench.training.classification import (
    METRICS,
    cross_validate,
    evaluate,
    holdout,
    scores,
    validation_split,
)
from mlworkbench.training.plots import close


@pytest.fixture(scope="module")
def data():
    passengers = load_titanic()
    return features_frame(passengers), labels(passengers)


@pytest.fixture(scope="module")
def split(data):
    X, y = data
    train, test = holdout(y)
    return X.iloc[train], y[train], X.iloc[test], y[test]


@pytest.fixture(scope="module")
def measured(split):
    X_train, y_train, X_test, y_test = split
    results = {kind: evaluate(make(kind).fit(X_train, y_train), X_test, y_test) for kind in KINDS}
    results["sex-rule"] = evaluate(make_baseline().fit(X_train, y_train), X_test, y_test)
    return results


def test_scores_of_a_small_hand_computed_case() -> None:
    y = [1, 0, 1, 0]
    p = [0.9, 0.4, 0.3, 0.1]
    result = scores(y, p)
    assert list(result) == list(METRICS)
    # pairs (positive, negative) ranked right: 0.9>0.4, 0.9>0.1, 0.3>0.1, but 0.3<0.4 -> 3/4
    assert result["roc_auc"] == pytest.approx(0.75)
    # predicted 1, 0, 0, 0: three right; one true positive, one false negative
    assert result["accuracy"] == pytest.approx(0.75)
    assert result["f1"] == pytest.approx(2 * 1 / (2 * 1 + 0 + 1))
    expected_loss = -(math.log(0.9) + math.log(0.6) + math.log(0.3) + math.log(0.9)) / 4
    assert result["log_loss"] == pytest.approx(expected_loss)
    assert result["brier"] == pytest.approx((0.01 + 0.16 + 0.49 + 0.01) / 4)


def test_scores_need_both_outcomes() -> None:
    with pytest.raises(DataError, match="both"):
        scores([1, 1], [0.2, 0.9])


def test_holdout_is_stratified_disjoint_and_seeded(data) -> None:
    _, y = data
    train, test = holdout(y, test_fraction=0.2, seed=42)
    assert len(test) == 262 and len(train) == 1047
    assert np.intersect1d(train, test).size == 0
    assert abs(y[test].mean() - y.mean()) < 0.005
    assert np.array_equal(holdout(y, seed=42)[1], test)
    assert not np.array_equal(holdout(y, seed=7)[1], test)
    plain_train, plain_test = holdout(10, test_fraction=0.3)
    assert sorted([*plain_train, *plain_test]) == list(range(10)) and len(plain_test) == 3
    with pytest.raises(InvalidParameterError, match="test_fraction"):
        holdout(y, test_fraction=1.0)


def test_validation_split_stays_inside_the_training_part_with_its_own_shuffle(split) -> None:
    _, y_train, _, _ = split
    fit, validate = validation_split(y_train, 0.2, seed=42)
    assert np.intersect1d(fit, validate).size == 0 and len(fit) + len(validate) == len(y_train)
    assert abs(y_train[validate].mean() - y_train.mean()) < 0.01
    assert not np.array_equal(validate, holdout(y_train, 0.2, seed=42)[1])


@pytest.mark.parametrize("kind", KINDS)
def test_holdout_roc_auc_reaches_the_bar_and_beats_the_sex_rule(kind, measured) -> None:
    assert measured[kind]["roc_auc"] >= 0.82
    assert measured[kind]["roc_auc"] >= measured["sex-rule"]["roc_auc"] + 0.05
    assert measured[kind]["log_loss"] < measured["sex-rule"]["log_loss"]


@pytest.mark.parametrize("kind", KINDS)
def test_cross_validation_reports_mean_and_spread_of_every_metric(kind, split) -> None:
    X_train, y_train, _, _ = split
    result = cross_validate(kind, {}, X_train, y_train, folds=5, seed=42)
    assert set(result) == {f"cv_{m}_{s}" for m in METRICS for s in ("mean", "std")}
    assert result["cv_roc_auc_mean"] >= 0.82
    assert 0.0 < result["cv_roc_auc_std"] < 0.05


def test_cross_validation_is_seeded(split) -> None:
    X_train, y_train, _, _ = split
    first = cross_validate("logreg", {"C": 0.5}, X_train, y_train, folds=3, seed=1)
    assert cross_validate("logreg", {"C": 0.5}, X_train, y_train, folds=3, seed=1) == first
    assert cross_validate("logreg", {"C": 0.5}, X_train, y_train, folds=3, seed=2) != first


def test_cross_validation_refuses_bad_hyperparameters_before_fitting(split) -> None:
    X_train, y_train, _, _ = split
    with pytest.raises(InvalidParameterError) as caught:
        cross_validate("gbm", {"max_iter": -1}, X_train, y_train)
    assert caught.value.name == "max_iter"


def test_plots_draw_the_model_and_the_baseline(split) -> None:
    X_train, y_train, X_test, y_test = split
    model = make("logreg").fit(X_train, y_train)
    proba = model.predict_proba(X_test)[:, 1]
    rule = make_baseline().fit(X_train, y_train).predict_proba(X_test)[:, 1]
    matrix = classifier_plots.confusion_matrix(y_test, proba)
    counts = sorted(int(t.get_text()) for t in matrix.axes[0].texts)
    assert sum(counts) == len(y_test)
    roc = classifier_plots.roc_curve({"logreg": (y_test, proba), "sex-rule": (y_test, rule)})
    legend = [t.get_text() for t in roc.axes[0].get_legend().get_texts()]
    assert legend[0].startswith("logreg (AUC ") and legend[1].startswith("sex-rule (AUC ")
    calibration = classifier_plots.calibration(y_test, proba)
    assert len(calibration.axes) == 2
    for figure in (matrix, roc, calibration):
        close(figure)
