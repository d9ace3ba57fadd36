"""Online quality of served lists against what the same users did afterwards."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd
import pytest

from mlworkbench.data import predictions, windows
from mlworkbench.data.store import Store
from mlworkbench.errors import DataError
from mlworkbench.monitoring.online import online_quality

# Four served lists; what users did afterwards decides each hit by hand:
#   v1 user 1 @100 [10 20 30]: 20 at 200 is a hit (rank 2); 10 at 50 came before -> 1 hit
#   v1 user 2 @100 [10 40 50]: user 2 came back (99 at 150) but took none -> 0 hits
#   v2 user 1 @300 [60 20 70]: 60 at 400 is a hit (rank 1); 20 at 200 came before -> 1 hit
#   v2 user 3 @300 [80 90 10]: user 3 never came back -> not judged
SERVED = pd.DataFrame({
    "model_name": ["rec"] * 4, "model_version": [1, 1, 2, 2], "user_id": [1, 2, 1, 3],
    "served_at": [100, 100, 300, 300],
    "items": [json.dumps(x) for x in ([10, 20, 30], [10, 40, 50], [60, 20, 70], [80, 90, 10])]})
LATER = pd.DataFrame({"user_id": [1, 1, 2, 1], "item_id": [20, 60, 99, 10],
                      "time": [200, 400, 150, 50]})
# A challenger (v3) scored v1's two requests in the shadow; its lists were never returned:
#   shadow v3 user 1 @100 [20 60 30]: 20 at 200 and 60 at 400 are hits -> 2 hits
#   shadow v3 user 2 @100 [99 10 40]: 99 at 150 is a hit -> 1 hit
# so hit rate 1.0 and precision@3 (2/3 + 1/3) / 2 = 0.5, against the champion v1's 0.5, 1/6.
SHADOW = pd.DataFrame({
    "model_name": ["rec"] * 2, "model_version": [3, 3], "role": ["shadow"] * 2,
    "user_id": [1, 2], "served_at": [100, 100],
    "items": [json.dumps(x) for x in ([20, 60, 30], [99, 10, 40])]})
BOTH_ROLES = pd.concat([SERVED.assign(role="champion"), SHADOW], ignore_index=True)


def _by_version(result: pd.DataFrame) -> dict[int, dict]:
    return {int(row.model_version): row._asdict() for row in result.itertuples(index=False)}


def test_hit_rate_and_precision_match_the_hand_count() -> None:
    result = _by_version(online_quality(SERVED, LATER, k=3))
    assert result[1]["lists"] == 2 and result[1]["judged_lists"] == 2
    assert result[1]["hit_rate_at_k"] == pytest.approx(0.5)
    assert result[1]["precision_at_k"] == pytest.approx((1 / 3 + 0) / 2)
    assert result[2]["lists"] == 2 and result[2]["judged_lists"] == 1
    assert result[2]["lists_without_later_activity"] == 1
    assert result[2]["hit_rate_at_k"] == pytest.approx(1.0)
    assert result[2]["precision_at_k"] == pytest.approx(1 / 3)


def _by_role(result: pd.DataFrame) -> dict[tuple[str, int], dict]:
    return {(row.role, int(row.model_version)): row._asdict()
            for row in result.itertuples(index=False)}


def test_each_role_and_version_is_judged_on_its_own() -> None:
    result = _by_role(online_quality(BOTH_ROLES, LATER, k=3))
    assert set(result) == {("champion", 1), ("champion", 2), ("shadow", 3)}
    assert result[("shadow", 3)]["hit_rate_at_k"] == pytest.approx(1.0)
    assert result[("shadow", 3)]["precision_at_k"] == pytest.approx(0.5)
    assert result[("champion", 1)]["hit_rate_at_k"] == pytest.approx(0.5)
    assert result[("champion", 1)]["precision_at_k"] == pytest.approx(1 / 6)
    assert result[("champion", 2)]["precision_at_k"] == pytest.approx(1 / 3)
    no_role = online_quality(SERVED, LATER, k=3)  # rows without a role are the champion's
    assert set(no_role["role"]) == {"champion"}


def test_k_cuts_the_served_lists() -> None:
    result = _by_version(online_quality(SERVED, LATER, k=1))
    assert result[1]["hit_rate_at_k"] == 0.0  # 10 was taken before the response
    assert result[2]["hit_rate_at_k"] == 1.0 and result[2]["precision_at_k"] == 1.0


def test_windows_split_by_serving_time_and_chunks_add_up() -> None:
    chunks = [SERVED.iloc[:1], SERVED.iloc[1:3], SERVED.iloc[3:]]
    whole = online_quality(SERVED, LATER, k=3, window="200s")
    chunked = online_quality(iter(chunks), LATER, k=3, window="200s")
    pd.testing.assert_frame_equal(whole, chunked)
    assert list(whole["window_start"].dt.second + 60 * whole["window_start"].dt.minute) == [0, 200]


def test_an_empty_window_is_one_clear_error() -> None:
    with pytest.raises(DataError, match="no served lists"):
        online_quality(SERVED.iloc[:0], LATER, k=3)


def test_online_quality_from_the_store(store: Store, movielens) -> None:
    """The same hand-counted log, written to and read back from the store's tables."""
    store.ingest("items", movielens.items, source="movielens")
    real = dict(zip([10, 20, 30, 40, 50, 60, 70, 80, 90, 99],
                    movielens.items["item_id"].to_numpy()[:10].tolist(), strict=True))
    day = 10**9  # unix seconds in 2001: event times the store accepts
    engine = predictions.store_engine(store.url)
    try:
        predictions.append_predictions(engine, [
            {"request_id": f"r{i}", "served_at": datetime.fromtimestamp(day + t, UTC),
             "model_name": "rec", "model_version": v, "role": role, "source": "model",
             "user_id": u, "fallback": None,
             "items": json.dumps([real[x] for x in json.loads(items)]), "scores": "[]"}
            for i, (v, role, u, t, items) in enumerate(BOTH_ROLES[
                ["model_version", "role", "user_id", "served_at", "items"]].itertuples(
                    index=False))])
        later = pd.DataFrame({"user_id": LATER["user_id"], "item_id": LATER["item_id"].map(real),
                              "rating": 4.0, "timestamp": LATER["time"] + day})
        batch = store.ingest("interactions", later, source="later", stage="production")
        served = list(windows.iter_predictions(engine, model_name="rec", chunk_rows=2))
        shadow = pd.concat(windows.iter_predictions(engine, model_name="rec", role="shadow"))
        interactions = pd.concat(windows.iter_interactions(store.engine, [batch.id]))
        result = _by_role(online_quality(
            iter(served), interactions.assign(time=interactions["timestamp"]), k=3))
    finally:
        predictions.dispose_engines()
    assert [len(frame) for frame in served] == [2, 2, 2]  # streamed in chunks of two rows
    assert list(shadow["model_version"]) == [3, 3]
    assert result[("champion", 1)]["hit_rate_at_k"] == pytest.approx(0.5)
    assert result[("champion", 1)]["precision_at_k"] == pytest.approx(1 / 6)
    assert result[("champion", 2)]["hit_rate_at_k"] == pytest.approx(1.0)
    assert result[("champion", 2)]["precision_at_k"] == pytest.approx(1 / 3)
    assert result[("shadow", 3)]["hit_rate_at_k"] == pytest.approx(1.0)
    assert result[("shadow", 3)]["precision_at_k"] == pytest.approx(0.5)
