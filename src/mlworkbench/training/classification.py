"""How well a classifier predicts survival: the metrics, the stratified splits and CV.

Every metric is computed by :func:`scores` from P(survived), so the holdout, the folds of
cross-validation and the baseline are all measured by the same formulas.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm
from sklearn.model_selection import StratifiedKFold, train_test_split

from mlworkbench.errors import DataError, InvalidParameterError
from mlworkbench.models.classifier import make_classifier, validate_params

METRICS = ("roc_auc", "accuracy", "f1", "log_loss", "brier")
THRESHOLD = 0.5
_VALIDATION_SEED_OFFSET = 1  # the tuning split must not repeat the holdout's shuffle


def scores(y_true: Any, proba: Any) -> dict[str, float]:
    """ROC AUC, accuracy and F1 (survived when P >= 0.5), log loss and Brier score."""
    y = np.asarray(y_true, dtype=np.int64)
    p = np.asarray(proba, dtype=np.float64)
    if y.shape != p.shape or y.ndim != 1:
        raise DataError(f"labels {y.shape} and probabilities {p.shape} must be two equal vectors")
    if len(np.unique(y)) < 2:
        raise DataError("scoring needs both survivors and deaths among the passengers")
    predicted = (p >= THRESHOLD).astype(np.int64)
    return {
        "roc_auc": float(skm.roc_auc_score(y, p)),
        "accuracy": float(skm.accuracy_score(y, predicted)),
        "f1": float(skm.f1_score(y, predicted, zero_division=0.0)),
        "log_loss": float(skm.log_loss(y, p, labels=[0, 1])),
        "brier": float(skm.brier_score_loss(y, p)),
    }


def holdout(frame_len_or_labels: int | Any, test_fraction: float = 0.2,
            seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    """Sorted (train, test) positions: stratified on the labels when given, else shuffled."""
    if not 0.0 < test_fraction < 1.0:
        raise InvalidParameterError("test_fraction", "the split", "a number in (0, 1)",
                                    test_fraction)
    if isinstance(frame_len_or_labels, int | np.integer):
        positions, stratify = np.arange(int(frame_len_or_labels)), None
    else:
        stratify = np.asarray(frame_len_or_labels)
        positions = np.arange(len(stratify))
    try:
        train, test = train_test_split(positions, test_size=test_fraction, random_state=seed,
                                       stratify=stratify)
    except ValueError as exc:  # too few rows of a class, or a fraction leaving nothing
        raise DataError(f"cannot hold out {test_fraction} of {len(positions)} "
                        f"passengers: {exc}") from exc
    return np.sort(train), np.sort(test)


def validation_split(train_labels: Any, validation_fraction: float = 0.2,
                     seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    """Tuning's (fit, validate) positions inside the training part, stratified."""
    return holdout(np.asarray(train_labels), validation_fraction,
                   seed + _VALIDATION_SEED_OFFSET)


def cross_validate(kind: str, params: dict[str, Any], X: pd.DataFrame, y: Any,
                   folds: int = 5, seed: int = 42) -> dict[str, float]:
    """``cv_<metric>_mean`` and ``cv_<metric>_std`` (over folds) for every metric."""
    typed = validate_params(kind, params)
    labels = np.asarray(y, dtype=np.int64)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    per_fold = []
    for fit_rows, score_rows in splitter.split(np.zeros(len(labels)), labels):
        model = make_classifier(kind, seed, **typed).fit(X.iloc[fit_rows], labels[fit_rows])
        per_fold.append(evaluate(model, X.iloc[score_rows], labels[score_rows]))
    table = pd.DataFrame(per_fold)
    summary = {}
    for metric in METRICS:
        summary[f"cv_{metric}_mean"] = float(table[metric].mean())
        summary[f"cv_{metric}_std"] = float(table[metric].std(ddof=0))
    return summary


def evaluate(model: Any, X_test: pd.DataFrame, y_test: Any) -> dict[str, float]:
    """:func:`scores` of a fitted model (or the baseline) on held-out passengers."""
    return scores(y_test, model.predict_proba(X_test)[:, 1])
