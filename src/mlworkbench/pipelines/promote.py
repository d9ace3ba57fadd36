"""Step 4, gate: the challenger against the champion on the snapshot's holdout and on the
champion's own data, and, in the two-phase loop, the verdict on its shadow evidence
(training/gate.py decides and moves ``champion``)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from mlworkbench import families
from mlworkbench.config import Settings
from mlworkbench.training import gate as champion_gate


def gate(settings: Settings, family: str, retrain_result: dict[str, Any],
         snapshot_result: dict[str, Any], *, min_gain: float = 0.0,
         tolerance: float = 0.02, online: dict[str, Any] | None = None) -> dict[str, Any]:
    """Promote the retrained version if it wins on the current holdout by ``min_gain`` and
    loses at most ``tolerance`` on the reference window; the decision, as a dict.
    ``online``: the shadow step's verdict (``passed``, ``reason``), required to pass."""
    part = families.get(family)
    trainer = part.trainer
    name = part.model_name(settings)
    if retrain_result.get("first_version"):
        return {"promoted": True, "challenger": retrain_result["version"], "champion": None,
                "reason": "no champion yet: the first version becomes champion"}
    current = trainer.load_data(settings, snapshot_result["snapshot"])
    reference = (trainer.load_data(settings, snapshot_result["reference"])
                 if snapshot_result.get("reference") else None)
    decision = champion_gate.promote(
        trainer, name, min_gain=min_gain, settings=settings, data=current, reference=reference,
        tolerance=tolerance, challenger=int(retrain_result["version"]),
        online=None if online is None else champion_gate.OnlineEvidence(
            bool(online["passed"]), str(online["reason"])))
    return {**asdict(decision), "gain": decision.gain}
