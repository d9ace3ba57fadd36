"""One turn of the loop as a state that moves forward a step at a time.

:func:`begin` takes the model's lock (or says why not: busy, cooldown, retry budget);
:func:`advance` runs one step when it is the turn's next one (and only then), renewing the
lock's lease while it works; :func:`finish` records the turn in MLflow and frees the lock.
The state (:class:`PipelineResult`) is JSON, so one process can run a whole turn
(:func:`~mlworkbench.pipelines.continuous.run_pipeline`) or one Airflow task per call.

The steps, in order: check -> snapshot -> retrain -> shadow -> gate -> verify. Which run
depends on what each finds: nothing to do ends after check; a retrain in the two-phase loop
(``MLWB_GATE_SHADOW_MIN_LISTS`` > 0) ends after retrain (``shadowing``); a later turn with a
challenger in shadow goes check -> shadow (-> gate -> verify once enough lists are judged).
An exception escaping a step ends the turn ``failed`` at that step, with the error.

Each step's module is imported when the step runs, not with this one: an Airflow task runs
one step in a new process, and the others' imports (monitoring, training, plotting) cost a
task seconds for nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from mlworkbench import families
from mlworkbench.config import Settings
from mlworkbench.pipelines import lock as locks
from mlworkbench.pipelines import shadowing
from mlworkbench.pipelines.policy import Policy
from mlworkbench.pipelines.steps import OUTCOMES, STEPS, due

__all__ = ["OUTCOMES", "STEPS", "PipelineResult", "advance", "begin", "finish"]
logger = logging.getLogger(__name__)
Progress = Callable[[str, dict[str, Any]], None]  # (step, its output)


@dataclass
class PipelineResult:
    """What one pipeline turn did (and, while it runs, what comes next); ``asdict`` is JSON."""

    family: str
    model_name: str
    trigger: str
    outcome: str = "skipped"
    reason: str = ""
    failed_step: str | None = None
    version_before: int | None = None
    version_after: int | None = None
    run_id: str | None = None  # the MLflow run in experiment continuous-training
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)  # step -> outcome, output
    seconds: float = 0.0
    policy: dict[str, Any] = field(default_factory=dict)
    started_at: float = 0.0  # unix seconds
    force: bool = False
    grid: dict[str, list[Any]] | None = None  # tune over this instead of retraining
    params: dict[str, Any] | None = None  # overrides of the champion's hyperparameters
    holder: str | None = None  # the lock's holder token while the turn runs
    next_step: str | None = None  # None: the turn is over (finish records it)
    retrained: bool = False  # starts the cooldown when the lock is freed

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> PipelineResult:
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in known})

    def output(self, step: str) -> dict[str, Any]:
        return dict(self.steps.get(step, {}).get("output", {}))

    def end(self, outcome: str, reason: str) -> None:
        self.outcome, self.reason, self.next_step = outcome, reason, None


def begin(settings: Settings, family: str, *, trigger: str = "manual", force: bool = False,
          policy: Policy | None = None, grid: dict[str, list[Any]] | None = None,
          params: dict[str, Any] | None = None, detached: bool = False) -> PipelineResult:
    """A new turn holding ``family``'s lock (``next_step`` ``check``), or one refused by the
    lock, the cooldown or the retry budget (``skipped``, nothing next, never recorded).
    ``detached``: the turn's steps run in other processes (the lock's lease alone frees it).
    A shadow requirement the family has no evidence for is refused here (ConfigError)."""
    part = families.get(family)
    policy = policy or Policy.from_settings(settings)
    shadowing.require_evidence(part, policy)
    name = part.model_name(settings)
    result = PipelineResult(family, name, trigger, policy=policy.to_dict(),
                            started_at=time.time(), force=force, grid=grid or None,
                            params=params)
    lease = locks.take(settings, name, policy, force, detached)
    if lease.holder is None:
        result.end("skipped", lease.refused or "")
        return result
    result.holder, result.next_step = lease.holder, STEPS[0]
    return result


def advance(settings: Settings, result: PipelineResult, step: str,
            progress: Progress | None = None) -> PipelineResult:
    """Run ``step`` when it is ``result``'s next one (else leave it as it is); the step's
    output, outcome and seconds go into ``result``, and ``progress(step, output)`` hears it.
    Anything raised meanwhile (the listener's too) fails the turn at this step, with the
    error; an interruption (not an ``Exception``) is noted so and raised again, for
    :func:`finish` to record. Returns ``result`` (changed in place)."""
    if not due(vars(result), step):
        return result
    policy = Policy.from_dict(result.policy)
    started = time.perf_counter()
    try:
        with locks.renewing(settings, result.model_name, result.holder, policy.lease_seconds):
            output, label = _STEPS[step](settings, result, policy)
            result.steps[step] = {"outcome": label, "seconds": time.perf_counter() - started,
                                  "output": output}
            if progress is not None:
                progress(step, output)
    except BaseException as exc:
        error = f"{type(exc).__name__}: {exc}"
        result.steps[step] = {"outcome": "failed", "seconds": time.perf_counter() - started,
                              "output": {**result.output(step), "error": error}}
        result.failed_step, result.retrained = step, True  # a failure counts: cooldown, budget
        result.end("failed", f"failed at step {step}: {error}")
        logger.warning("pipeline %s %s", result.model_name, result.reason)
        if not isinstance(exc, Exception):
            raise
    return result


def finish(settings: Settings, result: PipelineResult) -> PipelineResult:
    """Record a turn that held the lock as an MLflow run, then free the lock (a turn that
    retrained, or failed, starts the cooldown). A refused turn is neither."""
    if not due(vars(result)):
        return result
    if result.next_step is not None:  # stopped half-way (an interrupted process)
        result.failed_step, result.retrained = result.next_step, True
        result.end("failed", f"failed at step {result.failed_step}: the turn stopped before it")
    result.seconds = time.time() - result.started_at
    from mlworkbench.pipelines.records import record

    try:
        result.run_id = record(settings, result.to_dict())
    except Exception as exc:  # the turn happened; only its record is missing
        logger.error("could not record the pipeline run of %s: %s", result.model_name, exc)
    locks.give_back(settings, result.model_name, result.holder, result.outcome,
                    result.retrained)
    result.holder = None
    return result


# -- the steps: each returns (its output, its outcome) and says what comes next ---------------

Step = Callable[[Settings, PipelineResult, Policy], tuple[dict[str, Any], str]]


def _check(settings: Settings, result: PipelineResult, policy: Policy
           ) -> tuple[dict[str, Any], str]:
    from mlworkbench.pipelines.check import check

    checked = check(settings, result.family, trigger=result.trigger, force=result.force,
                    policy=policy)
    result.version_before = result.version_after = (checked["champion"] or {}).get("version")
    if checked.get("shadowing"):
        result.next_step = "shadow"
    elif checked["retrain"]:
        result.next_step = "snapshot"
    else:
        result.end("skipped", checked["reason"])
        return checked, "nothing to do"
    return checked, "ok"


def _snapshot(settings: Settings, result: PipelineResult, policy: Policy
              ) -> tuple[dict[str, Any], str]:
    from mlworkbench.pipelines.retrain import snapshot

    snap = snapshot(settings, result.family, result.output("check"))
    result.retrained, result.next_step = True, "retrain"
    return snap, "ok"


def _retrain(settings: Settings, result: PipelineResult, policy: Policy
             ) -> tuple[dict[str, Any], str]:
    from mlworkbench.pipelines.retrain import retrain

    trained = retrain(settings, result.family, result.output("snapshot"), grid=result.grid,
                      params=result.params)
    if policy.shadow_min_lists > 0 and not trained["first_version"]:
        left = shadowing.start(settings, result.family, trained, result.output("snapshot"),
                               policy)
        result.end("shadowing", left["reason"])
        return {**trained, "shadowing": left}, "ok"
    result.next_step = "gate"
    return trained, "ok"


def _shadow(settings: Settings, result: PipelineResult, policy: Policy
            ) -> tuple[dict[str, Any], str]:
    judged = shadowing.judge(settings, result.family, result.output("check")["shadowing"],
                             policy)
    if not judged["enough"]:
        result.end("waiting", judged["reason"])  # not retrained: no cooldown
        return judged, "waiting"
    result.retrained, result.next_step = True, "gate"  # a decision starts the cooldown
    return judged, "ok" if judged["passed"] else "refused"


def _gate(settings: Settings, result: PipelineResult, policy: Policy
          ) -> tuple[dict[str, Any], str]:
    from mlworkbench.pipelines.promote import gate

    if "shadow" in result.steps:  # the challenger an earlier turn left in shadow
        waiting = result.output("check")["shadowing"]
        trained = {"version": waiting["version"], "first_version": False}
        snap, online = waiting["snapshot"], result.output("shadow")
    else:
        trained, snap, online = result.output("retrain"), result.output("snapshot"), None
    decided = gate(settings, result.family, trained, snap, min_gain=policy.min_gain,
                   tolerance=policy.tolerance, online=online)
    if not decided["promoted"]:
        result.end("kept", decided["reason"])
        return decided, "refused"
    result.next_step = "verify"
    return decided, "ok"


def _verify(settings: Settings, result: PipelineResult, policy: Policy
            ) -> tuple[dict[str, Any], str]:
    from mlworkbench.pipelines.verify import verify

    decided = result.output("gate")
    verified = verify(settings, result.family, decided, urls=list(policy.serving_urls),
                      timeout_s=policy.verify_seconds)
    if not verified["ok"]:
        result.failed_step = "verify"
        result.version_after = verified.get("rolled_back_to", result.version_after)
        result.end("failed", verified["reason"])
        return verified, "refused"
    result.version_after = int(decided["challenger"])
    result.end("promoted", decided["reason"])
    return verified, "ok"


_STEPS: dict[str, Step] = {"check": _check, "snapshot": _snapshot, "retrain": _retrain,
                           "shadow": _shadow, "gate": _gate, "verify": _verify}
