"""The classifier's monitoring report: feature drift, prediction drift, quality, a verdict.

Frames hold one passenger per row: the features (pclass, sex, age, sibsp, parch, and
embarked when present), ``probability`` (the model's probability of survival) and, when
labels exist, ``survived`` ("yes"/"no" as in the store, or 1/0). Every feature and the
probability get a drift test; quality (accuracy, ROC AUC, F1) is computed on the labelled
frame given (passengers whose truth arrived later, scored by the model), or on the current
window when it carries labels itself, tested against the reference's own quality.

Distances are used for drift whatever the window size — normed Wasserstein for numbers,
Jensen-Shannon for categories — so the tests point one way (drift when *above* the
threshold); Evidently's automatic choice switches to p-value tests below 1,000 rows,
whose scores mean drift when *below*.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlworkbench.errors import DataError
from mlworkbench.monitoring import evidence
from mlworkbench.monitoring.verdict import MonitoringResult

NUMERICAL = ["age", "sibsp", "parch"]
CATEGORICAL = ["pclass", "sex", "embarked"]
PROBABILITY = "probability"
TARGET = "survived"


@dataclass(frozen=True)
class ClassifierThresholds:
    """Calibrated on Titanic (README, "Monitoring"): unshifted synthetic batches of 200+
    passengers pass, the simulator's ``--shift 0.5`` fails on the shifted features."""

    numerical: float = 0.2  # normed Wasserstein
    categorical: float = 0.1  # Jensen-Shannon distance
    probability: float = 0.2
    quality_relative: float = 0.15  # accuracy, ROC AUC, F1 may fall this much


def _prepared(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    if frame.empty:
        raise DataError(f"the {name} window holds no passengers: choose batches that have some")
    if PROBABILITY not in frame:
        raise DataError(f"the {name} window has no {PROBABILITY!r} column: score it with the "
                        "model first")
    frame = frame.copy()
    if TARGET in frame and frame[TARGET].notna().any():
        labels = frame[TARGET].map({"yes": 1, "no": 0, "survived": 1, "died": 0}) \
            if frame[TARGET].dtype == object else frame[TARGET]
        frame[TARGET] = pd.to_numeric(labels, errors="coerce")
    for column in CATEGORICAL:
        if column in frame:
            frame[column] = frame[column].astype(str)
    return frame


def has_labels(frame: pd.DataFrame) -> bool:
    return TARGET in frame and frame[TARGET].notna().all()


def classifier_report(reference: pd.DataFrame, current: pd.DataFrame,
                      thresholds: ClassifierThresholds | None = None,
                      labelled: pd.DataFrame | None = None) -> MonitoringResult:
    """Drift of every feature and of the probability of ``current``; quality on ``labelled``
    (default: ``current`` when it is labelled)."""
    from evidently import DataDefinition
    from evidently.metrics import ValueDrift

    t = thresholds or ClassifierThresholds()
    reference, current = _prepared(reference, "reference"), _prepared(current, "current")
    # a feature no request gave (sibsp and parch are optional) has no distribution to judge
    numerical = [c for c in NUMERICAL if c in current and c in reference
                 and current[c].notna().any() and reference[c].notna().any()]
    unjudged = [c for c in NUMERICAL if c in current and c not in numerical]
    categorical = [c for c in CATEGORICAL if c in current and c in reference]
    columns = {**{c: ("wasserstein", t.numerical) for c in numerical},
               **{c: ("jensenshannon", t.categorical) for c in categorical},
               PROBABILITY: ("wasserstein", t.probability)}
    metrics = [ValueDrift(column=c, method=method, threshold=threshold)
               for c, (method, threshold) in columns.items()]
    definition = DataDefinition(numerical_columns=[*numerical, PROBABILITY],
                                categorical_columns=categorical)
    keep = [*columns]
    snapshot, tests = evidence.run_report(metrics, current[keep], reference[keep], definition,
                                          "drift", name="classifier drift")
    found = evidence.values(snapshot)
    numbers = {f"drift_{c}": float(found[f"ValueDrift(column={c},method={m},threshold={th})"])
               for c, (m, th) in columns.items()}
    numbers["drift_share"] = float(np.mean([not test.passed for test in tests]))
    numbers["current_rows"] = float(len(current))
    numbers["features_without_values"] = float(len(unjudged))
    result = MonitoringResult(family="classifier")
    result.merge("drift", snapshot, tests, numbers)
    if labelled is not None:
        labelled = _prepared(labelled, "labelled")
        if not has_labels(labelled):
            raise DataError("the labelled passengers lack some labels: give only passengers "
                            f"whose {TARGET!r} is known")
        result.metrics["labelled_rows"] = float(len(labelled))
        _quality(result, reference, labelled, t)
    elif has_labels(current):
        _quality(result, reference, current, t)
    return result


def _quality(result: MonitoringResult, reference: pd.DataFrame, current: pd.DataFrame,
             t: ClassifierThresholds) -> None:
    from evidently import BinaryClassification, DataDefinition
    from evidently.metrics import Accuracy, F1Score, RocAuc
    from evidently.tests import Reference, gte

    labelled = has_labels(reference)
    definition = DataDefinition(
        classification=[BinaryClassification(target=TARGET, prediction_probas=PROBABILITY,
                                              pos_label=1)],
        numerical_columns=[PROBABILITY], categorical_columns=[TARGET])

    def floor() -> list | None:
        return [gte(Reference(relative=t.quality_relative))] if labelled else None

    metrics = [Accuracy(tests=floor()), RocAuc(tests=floor()), F1Score(tests=floor())]
    keep = [TARGET, PROBABILITY]
    snapshot, tests = evidence.run_report(
        metrics, current[keep].astype({TARGET: "int64"}),
        reference[keep].astype({TARGET: "int64"}) if labelled else None, definition,
        "quality", name="classifier quality")
    found = {name.split("(")[0].lower(): value for name, value in
             evidence.values(snapshot).items()}
    numbers = {"accuracy": float(found["accuracy"]), "roc_auc": float(found["rocauc"]),
               "f1": float(found["f1score"])}
    result.merge("quality", snapshot, tests, numbers)
