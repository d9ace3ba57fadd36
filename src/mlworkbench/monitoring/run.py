"""One monitoring run of the recommender champion: windows -> report -> records.

The reference is what the champion was trained on; its output reference is the champion's
lists for the users of the reference's last fifth (by time), judged on what they did then.
The current output is what the prediction log says was served in the window, or, when
nothing was served, the champion's lists for the window's users. Online quality (hit
rate and precision of the served lists) is added when the log has rows for this version,
judged on the clock of arrival: an interaction counts as "after" a response when its batch
reached the store after it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlworkbench.config import Settings
from mlworkbench.data import windows as store_windows
from mlworkbench.data.ingest import open_store
from mlworkbench.errors import DataError
from mlworkbench.models.pyfunc import load_recommender
from mlworkbench.models.recommender import Recommender
from mlworkbench.monitoring import records
from mlworkbench.monitoring.online import explode_served, online_quality
from mlworkbench.monitoring.recommender_report import RecommenderReport, RecommenderWindow
from mlworkbench.monitoring.verdict import MonitoringResult
from mlworkbench.monitoring.windows import (
    CurrentWindow,
    champion,
    current_batch_ids,
    read_interactions,
    reference_batch_ids,
)


@dataclass(frozen=True)
class Outcome:
    run_id: str
    model_name: str
    model_version: int
    result: MonitoringResult


def served_lists(model: Recommender, users: np.ndarray, k: int = 10) -> pd.DataFrame:
    answer = model.recommend(np.asarray(users), k=k)
    n, depth = answer.item_ids.shape
    frame = pd.DataFrame({"user_id": np.repeat(answer.user_ids, depth),
                          "rank": np.tile(np.arange(1, depth + 1), n),
                          "item_id": answer.item_ids.ravel()})
    return frame[frame["item_id"] >= 0]


def _logged(engine, name: str, version: int, window: CurrentWindow) -> pd.DataFrame:
    try:
        parts = list(store_windows.iter_predictions(engine, name, version, window.since,
                                                    window.until))
    except DataError:  # no prediction log table yet: nothing was served
        return pd.DataFrame()
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def monitor_recommender(settings: Settings, model_name: str | None = None,
                        window: CurrentWindow | None = None, k: int = 10) -> Outcome:
    """Compute the report for the champion of ``model_name`` and record it."""
    window = window or CurrentWindow()
    best = champion(settings, model_name or settings.recommender_model_name)
    name, version, training_run = best.name, best.version, best.training_run
    model, _ = load_recommender(best.uri)
    with open_store(settings) as store:
        engine = store.engine
        reference = read_interactions(engine, reference_batch_ids(best.client, engine,
                                                                  training_run))
        current_ids = current_batch_ids(engine, window, "interactions")
        current = read_interactions(engine, current_ids)
        items = store_windows.read_items(engine)
        logged = _logged(engine, name, version, window)
        arrivals = store_windows.batch_arrivals(engine, current_ids)
    tail = reference.sort_values("timestamp").iloc[int(len(reference) * 0.8):]
    ref_window = RecommenderWindow(reference, served_lists(model, tail["user_id"].unique(), k),
                                   later=tail)
    if logged.empty:
        served = served_lists(model, current["user_id"].unique(), k)
    else:
        served = explode_served(logged, k)[["user_id", "rank", "item_id"]].drop_duplicates(
            ["user_id", "rank"], keep="last")
    result = RecommenderReport(items, k).run(
        ref_window, RecommenderWindow(current, served, later=current))
    if not logged.empty:
        online = online_quality(logged, current.assign(time=current["batch_id"].map(
            arrivals).to_numpy()), k)
        result.metrics["online_hit_rate_at_k"] = float(online["hit_rate_at_k"].iloc[0])
        result.metrics["online_precision_at_k"] = float(online["precision_at_k"].iloc[0])
    windows = {"reference": f"run {training_run}", "current": window.describe(),
               "current_batches": ",".join(map(str, current_ids))}
    run_id = records.record(result, settings, name, version, windows)
    return Outcome(run_id, name, version, result)
