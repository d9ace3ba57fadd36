"""Automatic rollback: after a promotion, the new champion's online quality over the users it
served (judged once N of them did something after their answer) against the previous
champion's over the last N it served; more than a margin worse, and ``champion`` goes back
(through training/gate.py).

Online quality is the served lists' hit rate@10, judged by what users did next on the
arrival clock (monitoring/online.py). Families whose served rows carry no later outcome
have no entry in :data:`ONLINE_QUALITY`; their canary says so and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pandas as pd

from mlworkbench import families
from mlworkbench.config import CHAMPION_ALIAS, Settings
from mlworkbench.data import windows as store_windows
from mlworkbench.data.ingest import open_store
from mlworkbench.errors import DataError
from mlworkbench.monitoring.online import online_quality
from mlworkbench.tracking import client as tracking
from mlworkbench.tracking import registry
from mlworkbench.training import gate as champion_gate

TAG = "canary."
K = 10


def _served(engine: Any, name: str, version: int, users: int | None, first: bool,
            since: dt.datetime | None = None, until: dt.datetime | None = None) -> pd.DataFrame:
    """One served list per user: the first list of each user (or the last), of the last
    ``users`` users served (None: of every user)."""
    try:
        parts = list(store_windows.iter_predictions(engine, name, version, since, until,
                                                    role="champion"))
    except DataError:
        return pd.DataFrame()
    if not parts:
        return pd.DataFrame()
    rows = pd.concat(parts, ignore_index=True).drop_duplicates(
        "user_id", keep="first" if first else "last")
    if users is not None:
        rows = rows.tail(users)
    return rows.assign(model_name=name)


def list_quality(settings: Settings, name: str, new: int, old: int, promoted_at: dt.datetime,
                 users: int) -> dict[int, dict[str, float]]:
    """Hit rate@10 and judged lists of ``new`` (every user served since ``promoted_at``: a
    user with no later activity says nothing, so the canary waits for ``users`` judged ones)
    and ``old`` (its last ``users`` users served before), on the interactions that arrived
    after each list was served."""
    with open_store(settings) as store:
        engine = store.engine
        served = pd.concat([_served(engine, name, new, None, True, since=promoted_at),
                            _served(engine, name, old, users, False, until=promoted_at)],
                           ignore_index=True)
        if served.empty:
            return {}
        since = dt.datetime.fromtimestamp(float(served["served_at"].min()), dt.UTC)
        batches = [batch.id for batch in store_windows.find_batches(
            engine, "interactions", stage="production", since=since)]
        arrivals = store_windows.batch_arrivals(engine, batches)
        later = pd.concat(list(store_windows.iter_interactions(engine, batches)) or
                          [pd.DataFrame(columns=["user_id", "item_id", "batch_id"])],
                          ignore_index=True)
    later = later.assign(time=later["batch_id"].map(arrivals).astype(float))
    if later.empty:
        return {}
    quality = online_quality(served, later, K)
    return {int(row.model_version): {"hit_rate": float(row.hit_rate_at_k)
                                     if pd.notna(row.hit_rate_at_k) else 0.0,
                                     "judged": int(row.judged_lists)}
            for row in quality.itertuples()}


ONLINE_QUALITY: dict[str, Callable[..., dict[int, dict[str, float]]]] = {
    "recommender": list_quality}


def canary(settings: Settings, family: str, *, users: int | None = None,
           margin: float | None = None) -> dict[str, Any]:
    """Judge the current champion once it served ``users`` judged users; roll it back to the
    version it replaced when its hit rate is lower by more than ``margin``. Returns the
    decision (``waiting``, ``kept``, ``rolled back``, ``not applicable``) and the numbers."""
    part = families.get(family)
    users = users or settings.canary_users
    margin = settings.canary_margin if margin is None else margin
    judge = ONLINE_QUALITY.get(family)
    if judge is None:
        return {"decision": "not applicable",
                "reason": f"the {family} family has no online quality to judge by"}
    client = tracking.configure(settings)
    name = part.model_name(settings)
    new = registry.alias_version(client, name, CHAMPION_ALIAS)
    if new is None:
        return {"decision": "not applicable", "reason": f"{name!r} has no champion"}
    with tracking.translated(f"read version {new} of {name!r}"):
        tags = client.get_model_version(name, str(new)).tags
    if tags.get(TAG + "decision"):
        return {"decision": "already judged", "version": new,
                "reason": f"version {new}: {tags[TAG + 'decision']}: {tags.get(TAG + 'reason')}"}
    old, decided_at = tags.get("promotion.compared_against"), tags.get("promotion.decided_at")
    if not old or not decided_at:
        return {"decision": "not applicable", "version": new,
                "reason": f"version {new} replaced no champion"}
    promoted_at = dt.datetime.fromisoformat(decided_at)
    quality = judge(settings, name, new, int(old), promoted_at, users)
    ours, theirs = quality.get(new, {"judged": 0}), quality.get(int(old), {"judged": 0})
    numbers = {"version": new, "previous": int(old), "new": ours, "old": theirs,
               "users": users, "margin": margin}
    if ours["judged"] < users or theirs["judged"] == 0:
        return {**numbers, "decision": "waiting",
                "reason": f"version {new} has {ours['judged']} judged users of {users} "
                          f"(previous: {theirs['judged']})"}
    drop = theirs["hit_rate"] - ours["hit_rate"]
    reason = (f"online hit rate@{K} of version {new} {ours['hit_rate']:.4f} vs "
              f"{theirs['hit_rate']:.4f} of version {old} over {ours['judged']} users: "
              f"drop {drop:+.4f} "
              f"{'>' if drop > margin else '<='} margin {margin:g}")
    decision = "rolled back" if drop > margin else "kept"
    with tracking.translated(f"record the canary on version {new}"):
        client.set_model_version_tag(name, str(new), TAG + "decision", decision)
        client.set_model_version_tag(name, str(new), TAG + "reason", reason)
    if decision == "rolled back":
        champion_gate.rollback(name, int(old), f"canary: {reason}", settings)
    return {**numbers, "decision": decision, "reason": reason}
