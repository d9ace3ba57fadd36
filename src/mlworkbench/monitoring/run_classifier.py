"""One monitoring run of the classifier champion: passengers it was trained on vs production
passenger batches, both scored by the champion; quality when the batches carry labels."""

from __future__ import annotations

import pandas as pd

from mlworkbench.config import Settings
from mlworkbench.data import windows as store_windows
from mlworkbench.data.ingest import open_store
from mlworkbench.errors import DataError
from mlworkbench.models.classifier import features_frame
from mlworkbench.models.pyfunc_classifier import load_classifier, survival
from mlworkbench.monitoring import records
from mlworkbench.monitoring.classifier_report import PROBABILITY, TARGET, classifier_report
from mlworkbench.monitoring.run import Outcome
from mlworkbench.monitoring.windows import (
    CurrentWindow,
    champion,
    current_batch_ids,
    reference_batch_ids,
)


def _scored(pipeline: object, passengers: pd.DataFrame) -> pd.DataFrame:
    frame = passengers.drop(columns="batch_id")
    return frame.assign(**{PROBABILITY: survival(pipeline, features_frame(frame))})


def monitor_classifier(settings: Settings, model_name: str | None = None,
                       window: CurrentWindow | None = None, k: int = 10) -> Outcome:
    """Compute the classifier report for the champion of ``model_name`` and record it."""
    window = window or CurrentWindow()
    best = champion(settings, model_name or settings.classifier_model_name)
    name, version, training_run = best.name, best.version, best.training_run
    pipeline, _ = load_classifier(best.uri)
    with open_store(settings) as store:
        reference = store_windows.read_passengers(
            store.engine, reference_batch_ids(best.client, store.engine, training_run))
        current_ids = current_batch_ids(store.engine, window, "passengers")
        current = store_windows.read_passengers(store.engine, current_ids)
    reference = reference[reference[TARGET].notna()]
    if current.empty:
        raise DataError(f"the current window ({window.describe()}) holds no passengers")
    result = classifier_report(_scored(pipeline, reference), _scored(pipeline, current))
    windows = {"reference": f"run {training_run}", "current": window.describe(),
               "current_batches": ",".join(map(str, current_ids))}
    run_id = records.record(result, settings, name, version, windows)
    return Outcome(run_id, name, version, result)
