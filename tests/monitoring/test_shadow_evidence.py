"""Shadow evidence: the challenger's shadow lists against the champion's on the same requests."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pandas as pd
import pytest

from mlworkbench.config import Settings
from mlworkbench.data import predictions
from mlworkbench.data.store import Store
from mlworkbench.monitoring.shadow_evidence import read_shadow_evidence, shadow_evidence

# Two shadowed requests and one that was not; what users did afterwards decides by hand:
#   r1 user 1 @100: champion [10 11], shadow [12 13]; user 1 took 12 at 200 -> shadow hit
#   r2 user 2 @100: champion [10],    shadow [14];    user 2 took 10 and 14 at 150 -> both hit
#   r3 user 3 @100: champion only [15]: not shadowed, left out (though 15 at 300 is a hit)
ROWS = pd.DataFrame({
    "request_id": ["r1", "r1", "r2", "r2", "r3"],
    "role": ["champion", "shadow", "champion", "shadow", "champion"],
    "model_name": ["rec"] * 5, "model_version": [1, 2, 1, 2, 1],
    "user_id": [1, 1, 2, 2, 3], "served_at": [100.0] * 5,
    "items": [json.dumps(x) for x in ([10, 11], [12, 13], [10], [14], [15])]})
LATER = pd.DataFrame({"user_id": [1, 2, 2, 3], "item_id": [12, 10, 14, 15],
                      "time": [200, 150, 150, 300]})


def test_hit_rates_per_role_match_the_hand_count() -> None:
    evidence = shadow_evidence(ROWS, LATER, "rec", 2, k=10)
    assert evidence.requests == 2
    assert evidence.roles["shadow"].lists == evidence.roles["shadow"].judged_lists == 2
    assert evidence.roles["shadow"].hit_rate_at_k == pytest.approx(1.0)
    assert evidence.roles["champion"].lists == 2  # r3 was not shadowed
    assert evidence.roles["champion"].hit_rate_at_k == pytest.approx(0.5)
    assert evidence.gain == pytest.approx(0.5)


def test_a_gate_can_require_enough_lists_and_no_loss() -> None:
    evidence = shadow_evidence(ROWS, LATER, "rec", 2)
    assert evidence.check(min_lists=2) == (True, "shadow evidence: version 2's online hit "
                                                 "rate@10 +0.5000 against the champion's on 2 "
                                                 "lists")
    ok, reason = evidence.check(min_lists=3)
    assert not ok and "2 judged shadow lists of version 2, at least 3 required" in reason
    swapped = ROWS.iloc[:4].assign(role=ROWS["role"].iloc[:4].map(
        {"champion": "shadow", "shadow": "champion"}))  # the champion's lists in shadow
    worse = shadow_evidence(swapped, LATER, "rec", 2)
    ok, reason = worse.check(min_lists=1, tolerance=0.1)
    assert not ok and "trails the champion's by 0.5000" in reason


def test_no_later_activity_judges_nothing() -> None:
    evidence = shadow_evidence(ROWS, LATER.iloc[:0], "rec", 2)
    assert evidence.roles["shadow"].lists == 2 and evidence.roles["shadow"].judged_lists == 0
    assert evidence.gain is None and not evidence.check(min_lists=1)[0]


def test_evidence_from_the_store(store: Store, movielens, workspace: Settings) -> None:
    """The hand-counted log written to the store, judged by a production batch that arrived
    after it (the clock of arrival)."""
    store.ingest("items", movielens.items, source="movielens")
    real = dict(zip([10, 11, 12, 13, 14, 15], movielens.items["item_id"].to_numpy()[:6].tolist(),
                    strict=True))
    served_at = datetime.fromtimestamp(time.time() - 60, UTC)
    engine = predictions.store_engine(store.url)
    try:
        predictions.append_predictions(engine, [
            {"request_id": row.request_id, "served_at": served_at, "model_name": "rec",
             "model_version": row.model_version, "role": row.role, "source": "live",
             "user_id": row.user_id, "fallback": None, "scores": "[]",
             "items": json.dumps([real[x] for x in json.loads(row.items)])}
            for row in ROWS.itertuples(index=False)])
        store.ingest("interactions", pd.DataFrame({
            "user_id": LATER["user_id"], "item_id": LATER["item_id"].map(real), "rating": 4.0,
            "timestamp": 10**9 + LATER["time"]}), source="later", stage="production")
        evidence = read_shadow_evidence(workspace.model_copy(update={"database_url": store.url}),
                                        "rec", 2)
        nothing = read_shadow_evidence(workspace.model_copy(update={"database_url": store.url}),
                                       "rec", 3)
    finally:
        predictions.dispose_engines()
    assert evidence.requests == 2
    assert evidence.roles["shadow"].hit_rate_at_k == pytest.approx(1.0)
    assert evidence.roles["champion"].hit_rate_at_k == pytest.approx(0.5)
    assert nothing.requests == 0 and nothing.roles["shadow"].lists == 0
