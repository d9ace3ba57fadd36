"""The recommender's part of a monitoring run (injected into ``run.monitor_champion``).

The reference is what the champion was trained on; its output reference is the champion's
lists for the users of the reference's last fifth (by time), judged on what they did then.
The current output is what the prediction log says the champion served in the window
(role ``champion``, its version), or, when nothing was served, the champion's lists for the
window's users. Online quality (hit rate and precision of the served lists) is computed for
every role and model version the log holds in the window (the champion, and a challenger
scoring the same requests as ``shadow``), judged on the clock of arrival: an interaction
counts as "after" a response when its batch reached the store after it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import sqlalchemy as sa

from mlworkbench.config import Settings
from mlworkbench.data import windows as store_windows
from mlworkbench.errors import DataError
from mlworkbench.models.pyfunc import load_recommender
from mlworkbench.models.recommender import Recommender
from mlworkbench.monitoring.online import CHAMPION_ROLE, explode_served, online_quality
from mlworkbench.monitoring.recommender_report import RecommenderReport, RecommenderWindow
from mlworkbench.monitoring.run import Computed, Outcome, monitor_champion
from mlworkbench.monitoring.verdict import MonitoringResult
from mlworkbench.monitoring.windows import (
    Champion,
    CurrentWindow,
    current_batch_ids,
    read_interactions,
    reference_batch_ids,
)


def served_lists(model: Recommender, users: np.ndarray, k: int = 10) -> pd.DataFrame:
    answer = model.recommend(np.asarray(users), k=k)
    n, depth = answer.item_ids.shape
    frame = pd.DataFrame({"user_id": np.repeat(answer.user_ids, depth),
                          "rank": np.tile(np.arange(1, depth + 1), n),
                          "item_id": answer.item_ids.ravel()})
    return frame[frame["item_id"] >= 0]


def _logged(engine: sa.Engine, name: str, window: CurrentWindow) -> pd.DataFrame:
    """Every row served for ``name`` in the window, whatever its version and role."""
    try:
        parts = list(store_windows.iter_predictions(engine, name, None, window.since,
                                                    window.until))
    except DataError:  # no prediction log table yet: nothing was served
        return pd.DataFrame()
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def online_metrics(logged: pd.DataFrame, later: pd.DataFrame, version: int,
                   k: int) -> dict[str, float]:
    """Online hit rate and precision @k per role and version (``..._<role>_v<version>``),
    and the champion's own under the plain names."""
    online = online_quality(logged, later, k)
    numbers: dict[str, float] = {}
    for row in online.itertuples(index=False):
        suffix = f"{row.role}_v{row.model_version}"
        numbers[f"online_lists_{suffix}"] = float(row.lists)
        numbers[f"online_judged_lists_{suffix}"] = float(row.judged_lists)
        if row.judged_lists:
            numbers[f"online_hit_rate_at_k_{suffix}"] = float(row.hit_rate_at_k)
            numbers[f"online_precision_at_k_{suffix}"] = float(row.precision_at_k)
    own = f"{CHAMPION_ROLE}_v{version}"
    if f"online_hit_rate_at_k_{own}" in numbers:
        numbers["online_hit_rate_at_k"] = numbers[f"online_hit_rate_at_k_{own}"]
        numbers["online_precision_at_k"] = numbers[f"online_precision_at_k_{own}"]
    return numbers


def recommender_report(best: Champion, engine: sa.Engine, window: CurrentWindow,
                       k: int) -> Computed:
    """Input, output, diversity and quality parts, and online quality, for ``best``."""
    model, _ = load_recommender(best.uri)
    reference = read_interactions(engine, reference_batch_ids(best.client, engine,
                                                              best.training_run))
    current_ids = current_batch_ids(engine, window, "interactions")
    current = read_interactions(engine, current_ids)
    items = store_windows.read_items(engine)
    logged = _logged(engine, best.name, window)
    arrivals = store_windows.batch_arrivals(engine, current_ids)
    tail = reference.sort_values("timestamp").iloc[int(len(reference) * 0.8):]
    ref_window = RecommenderWindow(reference, served_lists(model, tail["user_id"].unique(), k),
                                   later=tail)
    own = logged[(logged["role"] == CHAMPION_ROLE)
                 & (logged["model_version"] == best.version)] if not logged.empty else logged
    if own.empty:
        served = served_lists(model, current["user_id"].unique(), k)
    else:
        served = explode_served(own, k)[["user_id", "rank", "item_id"]].drop_duplicates(
            ["user_id", "rank"], keep="last")
    result: MonitoringResult = RecommenderReport(items, k).run(
        ref_window, RecommenderWindow(current, served, later=current))
    if not logged.empty:
        later = current.assign(time=current["batch_id"].map(arrivals).to_numpy())
        result.metrics.update(online_metrics(logged, later, best.version, k))
    return Computed(result, {"current_batches": ",".join(map(str, current_ids))})


def monitor_recommender(settings: Settings, model_name: str | None = None,
                        window: CurrentWindow | None = None, k: int = 10) -> Outcome:
    """Compute the recommender report for the champion of ``model_name`` and record it."""
    return monitor_champion(settings, model_name or settings.recommender_model_name, window, k,
                            recommender_report)
