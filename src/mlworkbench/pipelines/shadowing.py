"""The two-phase loop (``MLWB_GATE_SHADOW_MIN_LISTS`` > 0): a retrained challenger is first
left for the service to shadow, and a later turn judges what its shadow answers did with live
users before the gate weighs it.

Turn 1 tags the new version (``pipeline.shadow.*``: since when, the snapshot it was trained
on) while it holds ``challenger``. A later turn finds it (:func:`pending`) and reads its
family's online evidence (:func:`judge`): too few judged lists means wait; otherwise the
verdict goes to the gate (training/gate.py), which refuses a challenger the evidence does not
support and scores one it supports offline, as every challenger is scored.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict
from typing import Any

from mlworkbench import families
from mlworkbench.config import CHALLENGER_ALIAS, Settings
from mlworkbench.errors import ConfigError, ModelNotFoundError
from mlworkbench.pipelines.policy import Policy
from mlworkbench.tracking import client as tracking
from mlworkbench.tracking import registry

TAG = "pipeline.shadow."
SHADOW_ROLE = "shadow"


def require_evidence(family: families.Family, policy: Policy) -> None:
    """Refuse a shadow requirement the family has no online evidence for."""
    if policy.shadow_min_lists > 0 and family.shadow_evidence is None:
        raise ConfigError(
            f"MLWB_GATE_SHADOW_MIN_LISTS={policy.shadow_min_lists}: the {family.name} family "
            "has no online evidence to judge a shadowed challenger by (nothing served says "
            f"later whether its answer was right); set MLWB_GATE_SHADOW_MIN_LISTS=0 to gate "
            f"{family.name} models offline only")


def start(settings: Settings, family: str, retrain_result: dict[str, Any],
          snapshot_result: dict[str, Any], policy: Policy) -> dict[str, Any]:
    """Leave the retrained challenger to the service's shadow: tag it with the data it was
    trained on (what the gate will score on) and since when it is shadowed."""
    name = families.get(family).model_name(settings)
    version = str(retrain_result["version"])
    since = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    client = tracking.configure(settings)
    with tracking.translated(f"tag version {version} of {name!r} for shadowing"):
        client.set_model_version_tag(name, version, TAG + "since", since)
        client.set_model_version_tag(name, version, TAG + "snapshot",
                                     json.dumps(snapshot_result, default=str))
        client.set_model_version_tag(name, version, TAG + "min_lists",
                                     str(policy.shadow_min_lists))
    note = ("" if settings.shadow_share > 0 else
            " (MLWB_SHADOW_SHARE is 0 in this process: the serving processes need a share "
            "above 0 for any evidence to come)")
    return {"version": int(version), "since": since, "min_lists": policy.shadow_min_lists,
            "reason": f"version {version} is challenger; the service shadows it until "
                      f"{policy.shadow_min_lists} judged lists say how it does online{note}"}


def pending(settings: Settings, family: families.Family) -> dict[str, Any] | None:
    """The challenger an earlier turn left in shadow and no gate has decided on, or None."""
    client = tracking.configure(settings)
    name = family.model_name(settings)
    try:
        version = registry.alias_version(client, name, CHALLENGER_ALIAS)
    except ModelNotFoundError:
        return None
    if version is None:
        return None
    with tracking.translated(f"read version {version} of {name!r}"):
        tags = client.get_model_version(name, str(version)).tags
    if TAG + "snapshot" not in tags or "promotion.decision" in tags:
        return None  # a challenger set by hand, or one already decided on
    return {"version": version, "since": tags.get(TAG + "since"),
            "snapshot": json.loads(tags[TAG + "snapshot"])}


def judge(settings: Settings, family: str, waiting: dict[str, Any],
          policy: Policy) -> dict[str, Any]:
    """The shadow evidence on the pending challenger now: ``enough`` judged lists or not,
    ``passed`` (enough, and its online hit rate not worse than the champion's by more than
    the tolerance) and the reason, with the counts per role."""
    part = families.get(family)
    if part.shadow_evidence is None:  # require_evidence refused this before the run
        raise ConfigError(f"the {family} family has no shadow evidence")
    evidence = part.shadow_evidence(settings, part.model_name(settings),
                                    int(waiting["version"]))
    passed, reason = evidence.check(policy.shadow_min_lists, policy.shadow_tolerance)
    judged = evidence.roles[SHADOW_ROLE].judged_lists
    enough = judged >= policy.shadow_min_lists
    if not enough:
        reason = (f"waiting for shadow evidence: {judged} of {policy.shadow_min_lists} judged "
                  f"shadow lists of version {evidence.version} ({evidence.requests} requests "
                  f"shadowed since {waiting.get('since')})")
    return {"version": evidence.version, "requests": evidence.requests, "k": evidence.k,
            "roles": {role: asdict(quality) for role, quality in evidence.roles.items()},
            "gain": evidence.gain, "judged_lists": judged, "enough": enough,
            "passed": passed, "reason": reason}
