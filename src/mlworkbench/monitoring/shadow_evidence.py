"""Shadow evidence: how a challenger's shadow lists did against the champion's, online.

When the service scores a share of requests with the challenger too (``MLWB_SHADOW_SHARE``),
the prediction log holds both lists for those requests. Judged by what the same users did
after the response (:func:`~mlworkbench.monitoring.online.online_quality`), that is the
challenger's online quality on live traffic, paired with the champion's on the very same
requests. A promotion step can require it: at least ``min_lists`` judged shadow lists and a
hit rate not worse than the champion's by more than a tolerance (:meth:`ShadowEvidence.check`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pandas as pd

from mlworkbench.config import Settings
from mlworkbench.data import windows as store_windows
from mlworkbench.data.ingest import open_store
from mlworkbench.data.shadow_log import SHADOW, shadowed_rows
from mlworkbench.errors import DataError
from mlworkbench.monitoring.online import online_quality
from mlworkbench.monitoring.windows import CurrentWindow, current_batch_ids, read_interactions

CHAMPION = "champion"


@dataclass(frozen=True)
class RoleQuality:
    """One role's lists on the shadowed requests and how they did."""

    lists: int = 0
    judged_lists: int = 0
    hit_rate_at_k: float | None = None
    precision_at_k: float | None = None


@dataclass(frozen=True)
class ShadowEvidence:
    model_name: str
    version: int
    k: int
    requests: int  # requests the challenger scored in shadow
    roles: dict[str, RoleQuality] = field(default_factory=dict)  # champion, shadow

    @property
    def gain(self) -> float | None:
        """The shadow lists' hit rate minus the champion's, on the same requests."""
        shadow, champion = self.roles.get(SHADOW), self.roles.get(CHAMPION)
        if shadow is None or champion is None or None in (shadow.hit_rate_at_k,
                                                          champion.hit_rate_at_k):
            return None
        return shadow.hit_rate_at_k - champion.hit_rate_at_k  # type: ignore[operator]

    def check(self, min_lists: int, tolerance: float = 0.0) -> tuple[bool, str]:
        """Whether the evidence supports a promotion, and why (one line)."""
        judged = self.roles.get(SHADOW, RoleQuality()).judged_lists
        if judged < min_lists:
            return False, (f"shadow evidence: {judged} judged shadow lists of version "
                           f"{self.version}, at least {min_lists} required")
        gain = self.gain
        if gain is None or gain < -tolerance:
            return False, (f"shadow evidence: version {self.version}'s online hit rate@{self.k} "
                           f"trails the champion's by {-(gain or 0):.4f} on {judged} lists "
                           f"(tolerance {tolerance:g})")
        return True, (f"shadow evidence: version {self.version}'s online hit rate@{self.k} "
                      f"{gain:+.4f} against the champion's on {judged} lists")


def _quality(rows: pd.DataFrame, later: pd.DataFrame, k: int) -> RoleQuality:
    lists = rows[rows["user_id"].notna()]
    if lists.empty:
        return RoleQuality()
    if later.empty:
        return RoleQuality(lists=len(lists))
    # one group per role, whichever versions (a champion may have swapped in between)
    judged = online_quality(lists.assign(model_version=0, model_name="role"), later, k)
    row = judged.iloc[0]
    if row["judged_lists"] == 0:
        return RoleQuality(lists=len(lists))
    return RoleQuality(int(row["lists"]), int(row["judged_lists"]), float(row["hit_rate_at_k"]),
                       float(row["precision_at_k"]))


def shadow_evidence(rows: pd.DataFrame, later: pd.DataFrame, model_name: str, version: int,
                    k: int = 10) -> ShadowEvidence:
    """Evidence from ``rows`` (:func:`~mlworkbench.data.shadow_log.shadowed_rows`) judged by
    ``later`` interactions (user_id, item_id, time in unix seconds)."""
    shadow = rows[rows["role"] == SHADOW]
    champion = rows[(rows["role"] == CHAMPION)
                    & rows["request_id"].isin(set(shadow["request_id"]))]
    return ShadowEvidence(model_name, version, k, shadow["request_id"].nunique(), {
        CHAMPION: _quality(champion, later, k), SHADOW: _quality(shadow, later, k)})


def read_shadow_evidence(settings: Settings, model_name: str, version: int,
                         k: int = 10) -> ShadowEvidence:
    """The evidence the store holds now for ``model_name`` version ``version``: its shadow
    rows and the champion's for the same requests, judged on the production interactions
    that arrived after them (the clock of arrival, as monitoring judges served lists)."""
    with open_store(settings) as store:
        rows = shadowed_rows(store.engine, model_name, version)
        later = pd.DataFrame(columns=["user_id", "item_id", "time"])
        if not rows.empty:
            since = datetime.fromtimestamp(float(rows["served_at"].min()), UTC)
            try:
                ids = current_batch_ids(store.engine, CurrentWindow(since=since), "interactions")
            except DataError:  # nothing arrived since: nothing judges the lists yet
                ids = ()
            if ids:
                interactions = read_interactions(store.engine, ids)
                arrivals = store_windows.batch_arrivals(store.engine, ids)
                later = interactions.assign(time=interactions["batch_id"].map(arrivals))
    return shadow_evidence(rows, later, model_name, version, k)
