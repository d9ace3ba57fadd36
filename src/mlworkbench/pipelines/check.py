"""Step 1, check: is a retrain due? Three reasons say yes — the champion's monitoring verdict
on the production batches it has not seen, enough new validated rows since its data, or the
schedule — and ``force``; a model without a champion gets its first one. In the two-phase loop
(``MLWB_GATE_SHADOW_MIN_LISTS`` > 0) a challenger an earlier turn left in shadow comes first:
the turn judges it instead of retraining."""

from __future__ import annotations

import logging
from typing import Any

from mlworkbench import families
from mlworkbench.config import Settings
from mlworkbench.data.ingest import open_store
from mlworkbench.data.store import TRAINING_STAGES
from mlworkbench.errors import MlwbError
from mlworkbench.monitoring.windows import CurrentWindow
from mlworkbench.pipelines import champion as champions
from mlworkbench.pipelines import shadowing
from mlworkbench.pipelines.lock import last_run_age
from mlworkbench.pipelines.policy import Policy

logger = logging.getLogger(__name__)


def _new_batches(settings: Settings, family: families.Family,
                 seen: tuple[int, ...]) -> tuple[list[int], list[int], int]:
    """Batches of the latest validated data the champion did not see: (all, production, rows),
    from the store's list of batches alone (no data row is read)."""
    with open_store(settings) as store:
        latest = [batch for batch in store.batches(family.data_kind)
                  if batch.stage in TRAINING_STAGES]
    known = set(seen)
    new = sorted((batch for batch in latest if batch.id not in known), key=lambda b: b.id)
    return ([batch.id for batch in new],
            [batch.id for batch in new if batch.stage == "production"],
            sum(batch.accepted for batch in new))


def _monitoring(settings: Settings, family: families.Family, name: str,
                production: list[int]) -> dict[str, Any]:
    """The champion's verdict on the production batches it has not seen."""
    if not production:
        return {"verdict": None, "note": "no new production batches to monitor"}
    try:
        outcome = family.monitor(settings, name, CurrentWindow(batch_ids=tuple(production)), 10)
    except MlwbError as exc:  # a window monitoring cannot judge is evidence too
        logger.warning("monitoring %s failed: %s", name, exc)
        return {"verdict": None, "note": f"monitoring failed: {exc}"}
    result = outcome.result
    return {"verdict": result.verdict, "failed_tests": result.failed_names,
            "monitoring_run": outcome.run_id,
            "metrics": {key: float(value) for key, value in result.metrics.items()}}


def check(settings: Settings, family: str, *, trigger: str = "manual", force: bool = False,
          policy: Policy | None = None) -> dict[str, Any]:
    """Whether ``family``'s model should be retrained now, and the evidence.

    Returns ``retrain`` (bool), ``reason``, ``trigger``, the champion (version, run, data),
    the new batches and rows since its data, the monitoring verdict on the new production
    batches (with its MLflow run id), and whether the schedule is due; or, when a challenger
    waits in shadow, ``shadowing`` (its version, since when, its snapshot) and no retrain.
    """
    part = families.get(family)
    policy = policy or Policy.from_settings(settings)
    name = part.model_name(settings)
    best = champions.current(settings, part)
    evidence: dict[str, Any] = {"family": family, "model_name": name, "trigger": trigger,
                                "force": force, "champion": champions.as_dict(best)}
    if best is None:
        return {**evidence, "retrain": True, "reason": "no champion yet: train the first one"}
    waiting = shadowing.pending(settings, part) if policy.shadow_min_lists > 0 else None
    if waiting is not None:
        return {**evidence, "retrain": False, "shadowing": waiting,
                "reason": f"challenger version {waiting['version']} is in shadow since "
                          f"{waiting['since']}: judge its online evidence"}
    new, production, rows = _new_batches(settings, part, best.batch_ids)
    evidence.update(new_batches=new, new_production_batches=production, new_rows=rows)
    evidence["monitoring"] = _monitoring(settings, part, name, production)
    age = last_run_age(settings, name)
    due = policy.every_seconds is not None and (
        age is None or age.total_seconds() >= policy.every_seconds)
    evidence["schedule_due"] = due
    verdict = evidence["monitoring"]["verdict"]
    reasons = []
    if verdict not in (None, "ok"):
        failed = ", ".join(evidence["monitoring"]["failed_tests"])
        reasons.append(f"monitoring verdict {verdict!r} on batches {production} ({failed})")
    if rows >= policy.min_new_rows:
        reasons.append(f"{rows} new rows in {len(new)} batches >= {policy.min_new_rows}")
    if due:
        reasons.append(f"schedule: retrain every {policy.every_seconds:g} s")
    if force:
        reasons.append("forced")
    if reasons:
        return {**evidence, "retrain": True, "reason": "; ".join(reasons)}
    return {**evidence, "retrain": False,
            "reason": f"nothing to do: verdict {verdict or 'not run'}, {rows} new rows "
                      f"(< {policy.min_new_rows}), schedule not due"}
