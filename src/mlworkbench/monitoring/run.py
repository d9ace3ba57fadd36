"""One monitoring run of a model's champion: champion -> windows -> report -> records.

The skeleton is the same for every family: find the champion and the training run that
names its reference, open the store, let the family compute its report over the reference
and the current window, then record the run (MLflow and the Evidently workspace). What a
family computes is injected as a :data:`Compute` (``run_recommender``, ``run_classifier``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa

from mlworkbench.config import Settings
from mlworkbench.data.ingest import open_store
from mlworkbench.monitoring import records
from mlworkbench.monitoring.verdict import MonitoringResult
from mlworkbench.monitoring.windows import Champion, CurrentWindow, champion


@dataclass(frozen=True)
class Outcome:
    run_id: str
    model_name: str
    model_version: int
    result: MonitoringResult


@dataclass(frozen=True)
class Computed:
    """A family's report and what its current window held (logged as ``window.<key>``)."""

    result: MonitoringResult
    windows: dict[str, str] = field(default_factory=dict)


# The family-specific part: (champion, the store's engine, the current window, k) -> report.
Compute = Callable[[Champion, sa.Engine, CurrentWindow, int], Computed]


def monitor_champion(settings: Settings, model_name: str, window: CurrentWindow | None,
                     k: int, compute: Compute) -> Outcome:
    """Compute ``compute``'s report for the champion of ``model_name`` and record it."""
    window = window or CurrentWindow()
    best = champion(settings, model_name)
    with open_store(settings) as store:
        computed = compute(best, store.engine, window, k)
    windows = {"reference": f"run {best.training_run}", "current": window.describe(),
               **computed.windows}
    run_id = records.record(computed.result, settings, best.name, best.version, windows)
    return Outcome(run_id, best.name, best.version, computed.result)
