"""Figures of a survival classifier: confusion matrix, ROC curves, calibration.

Close each figure with :func:`mlworkbench.training.plots.close` once it is saved.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

from mlworkbench.training.classification import THRESHOLD
from mlworkbench.training.plots import Figure, plt

OUTCOMES = ("died", "survived")


def confusion_matrix(y: Any, proba: Any) -> Figure:
    """Counts of true outcome by predicted outcome (survived when P >= 0.5)."""
    predicted = (np.asarray(proba) >= THRESHOLD).astype(np.int64)
    counts = skm.confusion_matrix(np.asarray(y, dtype=np.int64), predicted, labels=[0, 1])
    figure, axis = plt.subplots(figsize=(4, 3.6))
    axis.imshow(counts, cmap="Blues")
    for (row, column), count in np.ndenumerate(counts):
        dark = count > counts.max() / 2
        axis.text(column, row, str(count), ha="center", va="center",
                  color="white" if dark else "black")
    axis.set_xticks([0, 1], OUTCOMES)
    axis.set_yticks([0, 1], OUTCOMES)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    axis.set_title(f"confusion matrix (threshold {THRESHOLD})")
    figure.tight_layout()
    return figure


def roc_curve(curves: dict[str, tuple[Any, Any]]) -> Figure:
    """One ROC curve per model, e.g. {"gbm": (y, p), "sex-rule": (y, p)}, AUC in the legend."""
    figure, axis = plt.subplots(figsize=(4.2, 4))
    for name, (y, proba) in curves.items():
        false_positive, true_positive, _ = skm.roc_curve(y, proba)
        auc = skm.roc_auc_score(y, proba)
        axis.plot(false_positive, true_positive, label=f"{name} (AUC {auc:.3f})")
    axis.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="chance")
    axis.set_xlabel("false positive rate")
    axis.set_ylabel("true positive rate")
    axis.set_title("ROC")
    axis.grid(alpha=0.3)
    axis.legend(loc="lower right")
    figure.tight_layout()
    return figure


def calibration(y: Any, proba: Any, bins: int = 10) -> Figure:
    """Observed survival rate against predicted probability, per probability bin."""
    observed, predicted = calibration_curve(y, proba, n_bins=bins, strategy="uniform")
    figure, (curve, counts) = plt.subplots(
        2, 1, figsize=(4.2, 5), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    curve.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfect")
    curve.plot(predicted, observed, marker="o", label="model")
    curve.set_ylabel("observed survival rate")
    curve.set_title("calibration")
    curve.grid(alpha=0.3)
    curve.legend(loc="upper left")
    counts.hist(np.asarray(proba), bins=bins, range=(0, 1))
    counts.set_xlabel("predicted P(survived)")
    counts.set_ylabel("passengers")
    figure.tight_layout()
    return figure
