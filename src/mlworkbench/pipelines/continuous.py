"""The continuous-training loop: check -> snapshot -> retrain -> (shadow) -> gate -> verify
-> record.

Every step is a plain function of JSON-serialisable values (``dict`` in, ``dict`` out), and a
turn of the loop is a JSON state those steps move forward (:mod:`~mlworkbench.pipelines.turn`:
``begin`` takes the lock, ``advance`` runs a step, ``finish`` records and frees it), so a
scheduler, the jobs service or an Airflow task per step run the very same turn.
:func:`run_pipeline` is that turn in one process; it holds no logic of its own.

Outcomes: ``promoted`` (a new champion is served), ``kept`` (the gate kept the champion),
``shadowing`` (a new challenger waits for shadow evidence), ``waiting`` (not enough yet),
``skipped`` (nothing to do, or the cooldown / lock / retry budget said wait), ``failed``
(a step raised or verify timed out; ``failed_step`` names it).
"""

from __future__ import annotations

from typing import Any

from mlworkbench.config import Settings
from mlworkbench.pipelines.check import check
from mlworkbench.pipelines.policy import Policy
from mlworkbench.pipelines.promote import gate
from mlworkbench.pipelines.records import record
from mlworkbench.pipelines.retrain import retrain, snapshot
from mlworkbench.pipelines.turn import (
    OUTCOMES,
    STEPS,
    PipelineResult,
    Progress,
    advance,
    begin,
    finish,
)
from mlworkbench.pipelines.verify import verify

__all__ = ["OUTCOMES", "STEPS", "PipelineResult", "advance", "begin", "check", "finish", "gate",
           "record", "retrain", "run_pipeline", "snapshot", "verify"]


def run_pipeline(settings: Settings, family: str, *, trigger: str = "manual",
                 force: bool = False, progress: Progress | None = None,
                 policy: Policy | None = None, grid: dict[str, list[Any]] | None = None,
                 params: dict[str, Any] | None = None) -> PipelineResult:
    """One turn of the loop for ``family``'s model (``recommender`` | ``classifier``).

    ``trigger`` says who asked (manual, schedule, drift, jobs, airflow); ``force`` retrains
    even when the check finds nothing and ignores the cooldown and the retry budget (never
    the lock). ``progress(step, output)`` hears each step as it finishes. ``policy``
    defaults to the settings' ``MLWB_PIPELINE_*`` / ``MLWB_GATE_*`` values; ``grid`` tunes
    instead of retraining with the champion's parameters (``params`` overrides some of those).
    A turn refused by the lock, the cooldown or the retry budget is returned ``skipped``
    and not recorded; every other turn is recorded in MLflow, a crashed step included.
    """
    result = begin(settings, family, trigger=trigger, force=force, policy=policy, grid=grid,
                   params=params)
    try:
        for step in STEPS:
            advance(settings, result, step, progress)
    finally:
        finish(settings, result)
    return result
