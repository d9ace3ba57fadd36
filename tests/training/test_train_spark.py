"""`--engine spark`: Spark MLlib ALS (local mode) trains on MovieLens, the run registers the
model, and the unchanged service serves it; its quality is implicit ALS's."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from mlworkbench.models.pyfunc import load_recommender
from mlworkbench.serving.app import build_app
from mlworkbench.serving.recommender import SERVED
from mlworkbench.tracking.client import configure
from mlworkbench.training.recommender import RECOMMENDER
from mlworkbench.training.train import TrainRequest, train

pytestmark = [pytest.mark.spark, pytest.mark.slow]
CHAMPION = "models:/movielens-recommender@champion"
# Fewer iterations than the default keep Spark's ~30 jobs per iteration to a few seconds;
# both engines get the same hyperparameters, so the comparison is like for like.
PARAMS = {"factors": 32, "iterations": 5, "regularization": 0.05, "alpha": 1.0}


@pytest.fixture(scope="module")
def spark_run(tmp_path_factory, movielens):
    from mlworkbench.config import get_settings

    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("MLWB_HOME", str(tmp_path_factory.mktemp("spark") / "mlwb"))
        get_settings.cache_clear()
        settings = get_settings()
        result = train(RECOMMENDER, TrainRequest(model="als", params={**PARAMS, "engine": "spark"}),
                       settings=settings, data=movielens)
        implicit = train(RECOMMENDER, TrainRequest(model="als", params=PARAMS, register=False),
                         settings=settings, data=movielens)
    get_settings.cache_clear()
    return settings, result, implicit


def test_spark_run_is_registered_with_its_engine(spark_run) -> None:
    settings, result, _ = spark_run
    assert result.version == 1 and result.champion_version == 1
    params = configure(settings).get_run(result.run_id).data.params
    assert params["engine"] == "spark" and params["factors"] == "32"
    model, _ = load_recommender(CHAMPION)
    assert model.engine.engine == "spark" and model.engine.kind == "als"
    np.testing.assert_array_equal(model.engine.check_fitted()[1],
                                  result.model.engine.check_fitted()[1])


def test_spark_precision_is_within_003_of_implicit_als(spark_run) -> None:
    _, spark, implicit = spark_run
    ours, theirs = spark.metrics["precision_at_10"], implicit.metrics["precision_at_10"]
    assert abs(ours - theirs) <= 0.03, (ours, theirs)
    assert ours > spark.baseline["precision_at_10"] + 0.05


def test_the_unchanged_api_serves_the_spark_model(spark_run) -> None:
    settings, result, _ = spark_run
    served = settings.model_copy(update={"alias_poll_seconds": 0.0})
    with TestClient(build_app(CHAMPION, SERVED, served)) as client:
        info = client.get("/model").json()
        assert info["version"] == result.version and info["run_id"] == result.run_id
        body = client.post("/recommendations", json={"users": [42, 99_999_999], "k": 5}).json()
        expected = result.model.recommend(np.array([42, 99_999_999]), k=5)
        assert [[item["id"] for item in entry["items"]] for entry in body["recommendations"]] \
            == expected.item_ids.tolist()
        assert body["recommendations"][1]["fallback"] == "popular"
        # a new visitor is folded in by Spark's own least squares, still without pyspark
        history = client.post("/recommendations", json={"items": [260, 1196, 1210], "k": 5})
        assert history.status_code == 200
        items = [item["id"] for item in history.json()["recommendations"][0]["items"]]
        assert items == result.model.recommend_for_history(
            np.array([260, 1196, 1210]), k=5).item_ids[0].tolist()
