"""The continuous-training loop: check -> snapshot -> retrain -> gate -> verify -> record.

Every step is a plain function of JSON-serialisable values (``dict`` in, ``dict`` out), so
a scheduler, the jobs service or an Airflow task per step can pass one step's output to the
next. :func:`run_pipeline` is their composition under the model's lock, with the cooldown,
the retry budget and the record; it holds no logic of its own.

Outcomes: ``promoted`` (a new champion is served), ``kept`` (the gate kept the champion),
``skipped`` (nothing to do, or the cooldown / lock / retry budget said wait), ``failed``
(a step raised; ``failed_step`` names it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from mlworkbench import families
from mlworkbench.config import Settings
from mlworkbench.pipelines import lock as locks
from mlworkbench.pipelines.check import check
from mlworkbench.pipelines.policy import Policy
from mlworkbench.pipelines.promote import gate
from mlworkbench.pipelines.records import record
from mlworkbench.pipelines.retrain import retrain, snapshot
from mlworkbench.pipelines.verify import verify

__all__ = ["OUTCOMES", "PipelineResult", "check", "gate", "record", "retrain", "run_pipeline",
           "snapshot", "verify"]
logger = logging.getLogger(__name__)
OUTCOMES = ("promoted", "kept", "skipped", "failed")
Progress = Callable[[str, dict[str, Any]], None]  # (step, its output so far)


@dataclass
class PipelineResult:
    """What one pipeline run did; ``asdict`` of it is JSON."""

    family: str
    model_name: str
    trigger: str
    outcome: str = "skipped"  # promoted | kept | skipped | failed
    reason: str = ""
    failed_step: str | None = None
    version_before: int | None = None
    version_after: int | None = None
    run_id: str | None = None  # the MLflow run in experiment continuous-training
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)  # step -> outcome, output
    seconds: float = 0.0
    policy: dict[str, Any] = field(default_factory=dict)
    started_at: float = 0.0  # unix seconds

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _timed(result: PipelineResult, step: str, progress: Progress | None,
           work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one step, keep its output, outcome and seconds in ``result``; a raise fails it."""
    started = time.perf_counter()
    try:
        output = work()
    except Exception as exc:
        result.steps[step] = {"outcome": "failed", "seconds": time.perf_counter() - started,
                              "output": {"error": f"{type(exc).__name__}: {exc}"}}
        raise _StepFailed(step, exc) from exc
    outcome = ("nothing to do" if output.get("retrain") is False else
               "refused" if output.get("promoted") is False or output.get("ok") is False
               else "ok")
    result.steps[step] = {"outcome": outcome, "seconds": time.perf_counter() - started,
                          "output": output}
    if progress is not None:
        progress(step, output)
    return output


class _StepFailed(Exception):
    def __init__(self, step: str, cause: Exception) -> None:
        super().__init__(f"{step}: {type(cause).__name__}: {cause}")
        self.step = step


def run_pipeline(settings: Settings, family: str, *, trigger: str = "manual",
                 force: bool = False, progress: Progress | None = None,
                 policy: Policy | None = None, grid: dict[str, list[Any]] | None = None,
                 params: dict[str, Any] | None = None) -> PipelineResult:
    """One run of the loop for ``family``'s model (``recommender`` | ``classifier``).

    ``trigger`` says who asked (manual, schedule, drift, jobs, airflow); ``force`` retrains
    even when the check finds nothing and ignores the cooldown and the retry budget (never
    the lock). ``progress(step, output)`` hears each step as it finishes. ``policy``
    defaults to the settings' ``MLWB_PIPELINE_*`` values; ``grid`` tunes instead of
    retraining with the champion's parameters (``params`` overrides some of those).
    A run refused by the lock, the cooldown or the retry budget is returned ``skipped``
    and not recorded; every other run is recorded in MLflow.
    """
    part = families.get(family)
    policy = policy or Policy.from_settings(settings)
    name = part.model_name(settings)
    result = PipelineResult(family, name, trigger, policy=policy.to_dict(),
                            started_at=time.time())
    clock = time.perf_counter()
    with locks.held(settings, name, policy, force) as lease:
        if lease.refused is not None:
            result.reason = lease.refused
            return result
        try:
            _steps(settings, family, result, policy, force, progress, lease, grid, params)
        except _StepFailed as failure:
            result.outcome, result.failed_step, result.reason = "failed", failure.step, str(
                failure)
            lease.retrained = True  # a failure counts: cooldown and retry budget
            logger.warning("pipeline %s failed at %s", name, failure)
        lease.outcome = result.outcome
        result.seconds = time.perf_counter() - clock
        try:
            result.run_id = record(settings, result.to_dict())
        except Exception as exc:  # the run happened; only its record is missing
            logger.error("could not record the pipeline run of %s: %s", name, exc)
    return result


def _steps(settings: Settings, family: str, result: PipelineResult, policy: Policy,
           force: bool, progress: Progress | None, lease: locks.Lease,
           grid: dict[str, list[Any]] | None, params: dict[str, Any] | None) -> None:
    checked = _timed(result, "check", progress, lambda: check(
        settings, family, trigger=result.trigger, force=force, policy=policy))
    result.version_before = result.version_after = (checked["champion"] or {}).get("version")
    if not checked["retrain"]:
        result.outcome, result.reason = "skipped", checked["reason"]
        return
    snap = _timed(result, "snapshot", progress, lambda: snapshot(settings, family, checked))
    lease.retrained = True
    trained = _timed(result, "retrain", progress, lambda: retrain(
        settings, family, snap, checked, grid=grid or None, params=params))
    decided = _timed(result, "gate", progress, lambda: gate(
        settings, family, trained, snap, min_gain=policy.min_gain, tolerance=policy.tolerance))
    if not decided["promoted"]:
        result.outcome, result.reason = "kept", decided["reason"]
        return
    verified = _timed(result, "verify", progress, lambda: verify(
        settings, family, decided, urls=list(policy.serving_urls),
        timeout_s=policy.verify_seconds))
    if not verified["ok"]:
        result.outcome, result.failed_step, result.reason = "failed", "verify", verified["reason"]
        result.version_after = verified.get("rolled_back_to", result.version_after)
        return
    result.outcome, result.reason = "promoted", decided["reason"]
    result.version_after = int(decided["challenger"])
