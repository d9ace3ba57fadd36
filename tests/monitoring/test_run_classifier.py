"""The classifier's monitoring run on what its service actually saw and answered: requests go
through the real serving app (its prediction-log writer fills ``classifier_predictions``),
then the monitoring service computes runs over time windows of that log, on SQLite and on
a real PostgreSQL."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import mlflow
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from mlworkbench.data import predictions
from mlworkbench.data import windows as store_windows
from mlworkbench.data.ingest import load_titanic, open_store
from mlworkbench.data.simulator import synthetic_passengers
from mlworkbench.families import monitor
from mlworkbench.monitoring.service import build_app as monitoring_app
from mlworkbench.serving.app import build_app as serving_app
from mlworkbench.serving.classifier import SERVED
from mlworkbench.training.classifier import CLASSIFIER
from mlworkbench.training.train import train

pytestmark = pytest.mark.slow
MODEL = "titanic-classifier"


def _requests(passengers: pd.DataFrame) -> list[dict]:
    features = passengers.drop(columns=["survived"])
    return features.astype(object).where(features.notna(), None).to_dict("records")


def _serve(settings, passengers: pd.DataFrame) -> None:
    """POST the passengers to the classifier service in batches of 100; wait until the
    prediction log holds every one."""
    served = settings.model_copy(update={"alias_poll_seconds": 0.0,
                                         "prediction_log_flush_seconds": 0.05})
    engine = predictions.store_engine(settings.resolved_database_url)
    before = len(store_windows.read_served_passengers(engine, MODEL))
    with TestClient(serving_app(f"models:/{MODEL}@champion", SERVED, served)) as client:
        records = _requests(passengers)
        for start in range(0, len(records), 100):
            answer = client.post("/predict", json={"passengers": records[start:start + 100]})
            assert answer.status_code == 200, answer.text
    deadline = time.monotonic() + 30
    while len(store_windows.read_served_passengers(engine, MODEL)) < before + len(passengers):
        assert time.monotonic() < deadline, "the prediction log never received every row"
        time.sleep(0.1)


def test_drift_is_flagged_on_shifted_requests_served_not_on_plain_ones(store_workspace):
    settings = store_workspace
    trained = train(CLASSIFIER, settings=settings)  # an empty store gets Titanic first
    titanic = load_titanic()
    try:
        _serve(settings, synthetic_passengers(titanic, 400, 0.0, seed=3))
        time.sleep(0.05)
        middle = datetime.now(UTC)
        _serve(settings, synthetic_passengers(titanic, 400, 0.6, seed=4))
        with open_store(settings) as store:  # the truth about some passengers arrives later
            store.ingest("passengers", synthetic_passengers(titanic, 300, 0.0, seed=5),
                         source="labelled", stage="production")
    finally:
        predictions.dispose_engines()

    client = TestClient(monitoring_app(settings, monitor))
    plain = client.post("/runs", json={"model": MODEL, "until": middle.isoformat()}).json()
    shifted = client.post("/runs", json={"model": MODEL, "since": middle.isoformat()}).json()

    assert plain["verdict"] == "ok", plain["failed_tests"]
    assert plain["metrics"]["current_rows"] == 400  # the served passengers, no batch
    assert shifted["verdict"] == "drift"
    failed = " ".join(shifted["failed_tests"])
    assert "column age" in failed and "column pclass" in failed
    assert shifted["metrics"]["current_rows"] == 400
    assert shifted["metrics"]["drift_age"] > 0.2
    run = mlflow.get_run(shifted["run_id"])
    assert run.data.params["window.current_source"] == "served"
    assert run.data.params["window.served_rows"] == "400"
    assert run.data.params["window.reference"] == f"run {trained.run_id}"
    # quality on the labelled production batch, scored by the champion
    assert shifted["metrics"]["labelled_rows"] == 300
    assert 0.6 < shifted["metrics"]["accuracy"] < 1.0


def test_a_window_with_nothing_served_and_no_batch_is_a_4xx(store_workspace):
    train(CLASSIFIER, settings=store_workspace)
    client = TestClient(monitoring_app(store_workspace, monitor))
    answer = client.post("/runs", json={"model": MODEL})
    assert answer.status_code == 422 and answer.json()["field"] == "window"
    assert "no served passengers and no production passenger batches" in \
        answer.json()["detail"]
