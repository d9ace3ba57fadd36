"""`mlwb monitor run/list/report` end to end: the store, a trained champion, MLflow records,
the Evidently workspace, and one-line errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from fixtures.stores import STORE_KINDS, new_store_url
from fixtures.workspaces import module_workspace
from mlworkbench.cli.main import run as cli
from mlworkbench.data import predictions
from mlworkbench.data.ingest import open_store
from mlworkbench.data.simulator import Drift, Simulator
from mlworkbench.families import monitor
from mlworkbench.monitoring import records
from mlworkbench.monitoring.service import build_app
from mlworkbench.training.recommender import RECOMMENDER
from mlworkbench.training.train import train

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=STORE_KINDS)
def champion(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
             movielens):
    """A champion trained on the simulator's training window; then a strongly drifted
    production batch arrives (on SQLite and on PostgreSQL). One per store for the module:
    its tests add monitoring records of their own and look only at those."""
    url = new_store_url(request, tmp_path_factory.mktemp("monitor-store"))
    with module_workspace(tmp_path_factory, "monitor-cli", url) as workspace:
        simulator = Simulator(movielens)
        with open_store(workspace) as store:
            store.ingest("items", movielens.items, source="movielens")
            store.ingest("interactions", simulator.window("training"), source="training")
        result = train(RECOMMENDER, settings=workspace)
        drifted = simulator.production_batch(0, 1000, Drift(popularity_shift=0.5, new_users=0.3))
        _serve_before(workspace, drifted, result.version)
        with open_store(workspace) as store:
            batch = store.ingest("interactions", drifted, source="drifted", stage="production")
        yield workspace, result, batch


def _serve_before(settings, later: pd.DataFrame, version: int) -> None:
    """Log, before ``later`` arrives, one list per user of it: the first item the user takes
    at rank 1, then nine items the user never takes. By hand: hit rate 1, precision@10 0.1.
    A challenger (version 2) scores the same requests in the shadow with ten items the user
    never takes: hit rate 0, precision 0."""
    taken = later.groupby("user_id")["item_id"].agg(set)
    catalogue = later["item_id"].drop_duplicates().tolist() + list(range(1, 200))
    rows = []
    for user, items in taken.items():
        others = [i for i in catalogue if i not in items][:9]
        served = {"request_id": f"r{user}", "served_at": datetime.now(UTC),
                  "model_name": "movielens-recommender", "source": "model",
                  "user_id": int(user), "fallback": None, "scores": "[]"}
        rows.append({**served, "model_version": version, "role": "champion",
                     "items": json.dumps([int(min(items)), *map(int, others)])})
        never = [i for i in catalogue if i not in items][9:19]
        rows.append({**served, "model_version": version + 1, "role": "shadow",
                     "items": json.dumps(list(map(int, never)))})
    engine = predictions.store_engine(settings.resolved_database_url)
    try:
        predictions.append_predictions(engine, rows)
    finally:
        predictions.dispose_engines()


def test_monitor_run_records_a_drift_verdict(champion, capsys, tmp_path) -> None:
    settings, trained, batch = champion
    before = {earlier.run_id for earlier in records.list_runs(settings)}
    assert cli(["monitor", "run", "--batch", str(batch.id)]) == 0
    printed = capsys.readouterr().out
    assert "verdict drift" in printed or "verdict quality drop" in printed
    assert "Value Drift for column item_popularity" in printed

    (record,) = [new for new in records.list_runs(settings) if new.run_id not in before]
    assert (record.model_name, record.model_version) == ("movielens-recommender", "1")
    assert "item_popularity" in record.failed_tests
    run = mlflow.get_run(record.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["window.reference"] == f"run {trained.run_id}"
    assert run.data.metrics["input_drift_item_popularity"] > 1.2
    assert run.data.metrics["online_hit_rate_at_k"] == pytest.approx(1.0)
    assert run.data.metrics["online_precision_at_k"] == pytest.approx(0.1)
    assert run.data.metrics["online_hit_rate_at_k_champion_v1"] == pytest.approx(1.0)
    assert run.data.metrics["online_hit_rate_at_k_shadow_v2"] == 0.0
    assert run.data.metrics["online_precision_at_k_shadow_v2"] == 0.0
    assert run.data.metrics["online_judged_lists_shadow_v2"] == \
        run.data.metrics["online_judged_lists_champion_v1"] > 0
    gauges = TestClient(build_app(settings, monitor)).get("/metrics").text
    assert ('mlwb_monitoring_online_hit_rate{model="movielens-recommender",role="shadow",'
            'version="2"} 0.0') in gauges
    assert ('mlwb_monitoring_online_hit_rate{model="movielens-recommender",role="champion",'
            'version="1"} 1.0') in gauges
    assert (settings.home / "evidently").is_dir()

    assert cli(["monitor", "list"]) == 0
    assert record.run_id in capsys.readouterr().out
    assert cli(["monitor", "report", record.run_id, "--out", str(tmp_path)]) == 0
    saved = Path(capsys.readouterr().out.strip())
    assert saved.parent == tmp_path and saved.name == "input.html"
    html = saved.read_text()
    assert "item_popularity" in html


def test_bad_windows_and_models_are_one_line(champion, capsys) -> None:
    settings, _, _ = champion
    before = records.list_runs(settings)
    assert cli(["monitor", "run", "--model", "no-such-model"]) == 1
    assert capsys.readouterr().err.startswith("Error: ")
    assert cli(["monitor", "run", "--batch", "9999"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: the current window (batches 9999) holds no production")
    assert len(err.strip().splitlines()) == 1
    assert records.list_runs(settings) == before  # a refused run records nothing


def test_classifier_champion_on_shifted_labelled_passengers(store_workspace, capsys) -> None:
    from mlworkbench.data.ingest import load_titanic
    from mlworkbench.data.simulator import synthetic_passengers
    from mlworkbench.training.classifier import CLASSIFIER

    workspace = store_workspace
    result = train(CLASSIFIER, settings=workspace)  # an empty store gets Titanic first
    shifted = synthetic_passengers(load_titanic(), 500, 0.6, seed=7)
    with open_store(workspace) as store:
        batch = store.ingest("passengers", shifted, source="shifted", stage="production")
    assert cli(["monitor", "run", "--model", "titanic-classifier", "--last", "1"]) == 0
    printed = capsys.readouterr().out
    assert "titanic-classifier v1: verdict" in printed
    assert "Value Drift for column age" in printed
    (record,) = records.list_runs(workspace, "titanic-classifier")
    run = mlflow.get_run(record.run_id)
    assert run.data.params["window.current_batches"] == str(batch.id)
    assert run.data.params["window.reference"] == f"run {result.run_id}"
    assert 0.0 < run.data.metrics["accuracy"] < 1.0  # the batch is labelled: quality measured
