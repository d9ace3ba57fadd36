"""The classifier's part of a monitoring run (injected into ``run.monitor_champion``).

Reference: the labelled passengers the champion was trained on, scored by it. Current
window, for drift: what the service actually saw and answered — the champion's rows of the
classifier's prediction log (``classifier_predictions``: each response's passengers, their
features and the probability served) in the window's time range; when nothing was served
there, the window's production passenger batches scored by the champion. Quality: the window's
production batches that carry labels (the simulator's Titanic batches do), scored by the
champion, since served requests never carry the truth.
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from mlworkbench.config import Settings
from mlworkbench.data import windows as store_windows
from mlworkbench.errors import DataError
from mlworkbench.models.classifier import features_frame
from mlworkbench.models.pyfunc_classifier import load_classifier, survival
from mlworkbench.monitoring.classifier_report import PROBABILITY, TARGET, classifier_report
from mlworkbench.monitoring.online import CHAMPION_ROLE
from mlworkbench.monitoring.run import Computed, Outcome, monitor_champion
from mlworkbench.monitoring.windows import (
    Champion,
    CurrentWindow,
    production_batch_ids,
    reference_batch_ids,
)


def scored(pipeline: object, passengers: pd.DataFrame) -> pd.DataFrame:
    """Passengers in the model's form (pclass 1/2/3, ...) with the model's probability, and
    their label when the store has one."""
    features = features_frame(passengers.drop(columns="batch_id", errors="ignore"))
    frame = features.assign(**{PROBABILITY: survival(pipeline, features)})
    if TARGET in passengers:
        frame[TARGET] = passengers[TARGET].to_numpy()
    return frame.reset_index(drop=True)


def served_frame(served: pd.DataFrame) -> pd.DataFrame:
    """Prediction-log rows as the report takes them: features and the probability served."""
    return served.drop(columns=["served_at", "model_version", "role"]).astype(
        {"sibsp": "float64", "parch": "float64"})


def classifier_monitoring(best: Champion, engine: sa.Engine, window: CurrentWindow,
                          k: int) -> Computed:
    """Feature and prediction drift of what was served, quality on labelled batches."""
    pipeline, _ = load_classifier(best.uri)
    reference = store_windows.read_passengers(
        engine, reference_batch_ids(best.client, engine, best.training_run))
    reference = scored(pipeline, reference[reference[TARGET].notna()])
    served = store_windows.read_served_passengers(engine, best.name, best.version,
                                                  CHAMPION_ROLE, window.since, window.until)
    batch_ids = production_batch_ids(engine, window, "passengers")
    batches = store_windows.read_passengers(engine, batch_ids)
    if served.empty and batches.empty:
        raise DataError(f"the current window ({window.describe()}) holds no served passengers "
                        "and no production passenger batches: send requests to the classifier "
                        "service or ingest a batch")
    labelled = batches[batches[TARGET].notna()] if TARGET in batches else batches.iloc[:0]
    current = served_frame(served) if not served.empty else scored(pipeline, batches)
    result = classifier_report(reference, current,
                               labelled=scored(pipeline, labelled) if len(labelled) else None)
    return Computed(result, {
        "current_source": "served" if not served.empty else "production batches",
        "served_rows": str(len(served)),
        "current_batches": ",".join(map(str, batch_ids)) or "-"})


def monitor_classifier(settings: Settings, model_name: str | None = None,
                       window: CurrentWindow | None = None, k: int = 10) -> Outcome:
    """Compute the classifier report for the champion of ``model_name`` and record it."""
    return monitor_champion(settings, model_name or settings.classifier_model_name, window, k,
                            classifier_monitoring)
