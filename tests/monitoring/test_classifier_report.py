"""The classifier report on Titanic: unshifted batches pass, the simulator's shift is named,
quality is measured on labelled batches."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlworkbench.data.ingest import load_titanic
from mlworkbench.data.simulator import synthetic_passengers
from mlworkbench.errors import DataError
from mlworkbench.monitoring.classifier_report import classifier_report


@pytest.fixture(scope="module")
def scored():
    """Titanic and a logistic regression standing in for the family's model."""
    from sklearn.linear_model import LogisticRegression

    passengers = load_titanic()

    def features(frame: pd.DataFrame) -> np.ndarray:
        return np.c_[frame["pclass"] == "1st", frame["pclass"] == "2nd",
                     frame["sex"] == "male", frame["age"].fillna(30), frame["sibsp"],
                     frame["parch"]]

    model = LogisticRegression(max_iter=500).fit(features(passengers),
                                                 passengers["survived"] == "survived")

    def score(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.assign(probability=model.predict_proba(features(frame))[:, 1])

    return passengers, score


def test_unshifted_batches_are_ok(scored) -> None:
    passengers, score = scored
    for seed in (43, 44):
        batch = score(synthetic_passengers(passengers, 500, 0.0, seed)).drop(columns="survived")
        result = classifier_report(score(passengers), batch)
        assert result.verdict == "ok", result.failed_names
        assert "quality" not in result.parts  # no labels, no quality


def test_shift_is_drift_naming_the_shifted_features(scored) -> None:
    passengers, score = scored
    batch = score(synthetic_passengers(passengers, 500, 0.5, 43)).drop(columns="survived")
    result = classifier_report(score(passengers), batch)
    assert result.verdict == "drift"
    assert {"Value Drift for column age", "Value Drift for column pclass",
            "Value Drift for column probability"} <= set(result.failed_names)
    assert "Value Drift for column parch" not in result.failed_names


def test_labelled_shifted_batch_shows_the_quality_drop(scored) -> None:
    passengers, score = scored
    result = classifier_report(score(passengers),
                               score(synthetic_passengers(passengers, 1000, 0.5, 42)))
    assert result.verdict == "quality drop"
    assert 0.5 < result.metrics["accuracy"] < 1 and result.metrics["roc_auc"] < 0.8
    assert any(t.kind == "quality" and not t.passed for t in result.tests)


def test_a_window_without_probabilities_is_refused(scored) -> None:
    passengers, score = scored
    with pytest.raises(DataError, match="no 'probability' column"):
        classifier_report(score(passengers), passengers)


def test_a_feature_no_request_gave_is_left_unjudged_not_an_error(scored) -> None:
    passengers, score = scored
    served = score(synthetic_passengers(passengers, 300, 0.0, 45)).drop(columns="survived")
    served[["sibsp", "parch"]] = np.nan  # requests that left out the optional fields
    result = classifier_report(score(passengers), served)
    assert result.metrics["features_without_values"] == 2
    assert not any("sibsp" in name or "parch" in name for name in result.failed_names)
    assert "drift_age" in result.metrics and "drift_parch" not in result.metrics
