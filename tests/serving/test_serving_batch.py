"""``mlwb recommend-all``: Parquet and the store table, then ``?source=precomputed``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlworkbench.cli.main import run
from mlworkbench.config import get_settings


@pytest.fixture(scope="module")
def precomputed(trained, tmp_path_factory):
    """recommend-all at k=5 into the trained workspace's store, and its Parquet file."""
    settings, _ = trained
    out = tmp_path_factory.mktemp("batch") / "recs.parquet"
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("MLWB_HOME", str(settings.home))
        get_settings.cache_clear()
        code = run(["recommend-all", "--k", "5", "--out", str(out)])
    get_settings.cache_clear()
    assert code == 0
    return out


def test_parquet_holds_every_user_ranked_like_the_model(precomputed, recommender) -> None:
    frame = pd.read_parquet(precomputed)
    assert list(frame.columns) == ["user_id", "rank", "item_id", "score", "model_name",
                                   "model_version"]
    assert frame.user_id.nunique() == len(recommender.user_ids) and len(frame) == 671 * 5
    assert set(frame.model_version) == {1} and set(frame["rank"]) == {1, 2, 3, 4, 5}
    expected = recommender.recommend(recommender.user_ids[:3], k=5).item_ids.ravel()
    first = frame[frame.user_id.isin(recommender.user_ids[:3])].sort_values(["user_id", "rank"])
    np.testing.assert_array_equal(first.item_id.to_numpy(), expected)


def test_service_answers_from_the_precomputed_table(precomputed, client) -> None:
    body = {"users": [42, 7, 42, 99_999_999], "k": 5}
    live = client.post("/recommendations", json=body).json()
    stored = client.post("/recommendations", params={"source": "precomputed"}, json=body).json()
    assert stored["source"] == "precomputed"
    ids = [[i["id"] for i in entry["items"]] for entry in stored["recommendations"]]
    assert ids == [[i["id"] for i in entry["items"]] for entry in live["recommendations"]]
    assert stored["recommendations"][3]["fallback"] == "popular"
    one = client.get("/users/42/recommendations", params={"source": "precomputed", "k": 3})
    assert [i["id"] for i in one.json()["recommendations"][0]["items"]] == ids[0][:3]
    deeper = client.post("/recommendations", params={"source": "precomputed"},
                         json={"users": [42], "k": 6})
    assert deeper.status_code == 422 and deeper.json()["field"] == "k"
    seen = client.post("/recommendations", params={"source": "precomputed"},
                       json={"users": [42], "exclude_seen": False})
    assert seen.status_code == 422 and seen.json()["field"] == "exclude_seen"


def test_nothing_precomputed_is_a_409_that_says_what_to_run(make_client, tmp_path) -> None:
    with make_client(database_url=f"sqlite:///{tmp_path / 'empty.db'}") as client:
        response = client.get("/users/42/recommendations", params={"source": "precomputed"})
    assert response.status_code == 409 and "mlwb recommend-all" in response.json()["detail"]
