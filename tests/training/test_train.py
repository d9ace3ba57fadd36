"""A real training run on MovieLens, tracked in a real (embedded) MLflow store."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import mlflow
import numpy as np
import pandas as pd
import pytest

from mlworkbench.config import CHAMPION_ALIAS
from mlworkbench.errors import InvalidParameterError, TrackingUnavailableError
from mlworkbench.models.pyfunc import ids_are_integers
from mlworkbench.tracking.client import configure
from mlworkbench.training.recommender import RECOMMENDER
from mlworkbench.training.train import TrainRequest, frame_schema, train


def test_default_als_clears_the_bar_and_beats_popularity(trained) -> None:
    _, result = trained
    precision = result.metrics["precision_at_10"]
    assert precision >= 0.20
    assert precision > result.baseline["precision_at_10"]
    assert result.metrics["ndcg_at_10"] > result.baseline["ndcg_at_10"]
    assert result.fitted.evaluated == 671


def test_run_logs_params_metrics_dataset_plot_and_model(trained) -> None:
    settings, result = trained
    client = configure(settings)
    run = client.get_run(result.run_id)
    assert run.data.params["model"] == "als" and run.data.params["factors"] == "64"
    assert run.data.params["split"] == "random"
    for name in ("precision_at_10", "popularity_precision_at_10", "fit_seconds"):
        assert name in run.data.metrics
    curve = client.get_metric_history(result.run_id, "ndcg_at_k")
    assert sorted(m.step for m in curve) == list(range(1, 21))
    [dataset_input] = run.inputs.dataset_inputs
    assert dataset_input.dataset.digest == result.dataset_digest
    assert dataset_input.dataset.name == "movielens"
    artifacts = {a.path for a in client.list_artifacts(result.run_id, "plots")}
    assert "plots/metrics_at_k.png" in artifacts


def test_first_version_is_champion(trained) -> None:
    settings, result = trained
    client = configure(settings)
    assert result.version == 1 and result.champion_version == 1
    champion = client.get_model_version_by_alias(settings.recommender_model_name, CHAMPION_ALIAS)
    assert champion.run_id == result.run_id
    assert champion.tags["dataset_digest"] == result.dataset_digest


def test_fresh_process_serves_the_same_recommendations(trained) -> None:
    settings, result = trained
    users = [1, 42, 300, 671, 999999]
    script = (
        "import json, mlflow, pandas as pd\n"
        f"mlflow.set_tracking_uri({settings.resolved_tracking_uri!r})\n"
        "m = mlflow.pyfunc.load_model('models:/movielens-recommender@champion')\n"
        f"out = m.predict(pd.DataFrame({{'user_id': {users}}}), params={{'k': 10}})\n"
        "print(out.to_json(orient='records'))\n"
    )
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True, timeout=120).stdout
    rows = json.loads(output.strip().splitlines()[-1])
    in_memory = result.model.recommend(np.array(users), k=10)
    for index, user in enumerate(users):
        served = [r for r in rows if r["user_id"] == user]
        assert [r["item_id"] for r in served] == in_memory.item_ids[index].tolist()
        np.testing.assert_allclose([r["score"] for r in served], in_memory.scores[index],
                                   rtol=1e-5)
        assert all(r["title"] for r in served)
        assert {r["fallback"] for r in served} == ({"popular"} if user == 999999 else {None})


def test_second_run_registers_a_version_without_taking_champion(workspace, movielens) -> None:
    first = train(RECOMMENDER, TrainRequest(model="popularity"), settings=workspace,
                              data=movielens)
    second = train(RECOMMENDER, TrainRequest(split="temporal", params={"iterations": 3}),
                               settings=workspace, data=movielens)
    assert (first.version, second.version) == (1, 2)
    assert second.champion_version == 1
    client = configure(workspace)
    assert client.get_run(second.run_id).data.params["split"] == "temporal"


def test_bad_request_fails_before_anything_is_logged(workspace) -> None:
    with pytest.raises(InvalidParameterError, match="'factors'"):
        train(RECOMMENDER, TrainRequest(params={"factors": -1}), settings=workspace)
    assert not (workspace.home / "mlflow.db").exists()


def test_unreachable_tracking_server_fails_fast(workspace, monkeypatch) -> None:
    from mlworkbench.config import get_settings

    monkeypatch.setenv("MLWB_TRACKING_URI", "http://127.0.0.1:9")
    get_settings.cache_clear()
    started = time.perf_counter()
    with pytest.raises(TrackingUnavailableError, match="cannot reach the MLflow tracking server"):
        train(RECOMMENDER, settings=get_settings())
    assert time.perf_counter() - started < 10
    mlflow.set_tracking_uri(None)


def test_the_logged_schema_is_the_one_mlflow_infers(movielens) -> None:
    passengers = pd.DataFrame({"pclass": ["1st", "3rd", None], "age": [29.0, np.nan, 4.0],
                               "sibsp": [0, 1, 2], "survived": [True, False, True]})
    with ids_are_integers():
        for frame in (movielens.frame, passengers):
            assert frame_schema(frame) == mlflow.data.from_pandas(frame).schema
