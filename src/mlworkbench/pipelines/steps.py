"""The steps of a pipeline turn, in order, its outcomes, and whether a step of a turn has work
to do — importable without the loop's heavy parts (MLflow, the model families), so a caller
that runs each step in a process of its own (an Airflow task) skips an idle step in a fraction
of a second, and finds the state the last step that ran left."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

STEPS = ("check", "snapshot", "retrain", "shadow", "gate", "verify")
# promoted: a new champion is served; kept: the gate kept the champion; shadowing: a new
# challenger waits for shadow evidence; waiting: not enough evidence yet; skipped: nothing to
# do, or the lock / cooldown / retry budget said wait; failed: a step raised or verify timed out
OUTCOMES = ("promoted", "kept", "shadowing", "waiting", "skipped", "failed")
# the exit status of a step's own process when the step has nothing to do in its turn (an
# Airflow task exiting with it is marked skipped, not success)
IDLE = 99


def due(turn: Mapping[str, Any], step: str | None = None) -> bool:
    """Whether ``step`` is the next one of ``turn`` (a turn's state, as a mapping) and the
    turn holds the lock; ``step`` None: whether the turn has anything to record and free."""
    if turn.get("holder") is None:
        return False
    return step is None or turn.get("next_step") == step


def latest(turns: Sequence[Mapping[str, Any] | None]) -> Mapping[str, Any]:
    """The newest of a turn's states as the earlier steps left them, oldest first (an idle
    step, skipped, leaves none); empty when none is left."""
    return next((turn for turn in reversed(turns) if turn), {})
