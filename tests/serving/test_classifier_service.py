"""The classifier served by GET on the seed's parameters, POST batches and MLflow's scoring
protocol: one probability for one passenger, whichever door it comes through."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from mlworkbench.data import predictions
from mlworkbench.data.windows import served_passengers
from mlworkbench.serving.app import build_app
from mlworkbench.serving.classifier import SERVED

CHAMPION = "models:/titanic-classifier@champion"
ROSE = {"pclass": 1, "sex": "female", "age": 17.0, "sibsp": 1, "parch": 1}
JACK = {"pclass": 3, "sex": "male", "age": 20.0, "sibsp": 0, "parch": 0}


@pytest.fixture(scope="module")
def classifier_settings(trained_classifier, tmp_path_factory):
    settings, _ = trained_classifier
    log = tmp_path_factory.mktemp("log") / "log.db"
    return settings.model_copy(update={"alias_poll_seconds": 0.0,
                                       "database_url": f"sqlite:///{log}",
                                       "prediction_log_flush_seconds": 0.05})


@pytest.fixture(scope="module")
def client(classifier_settings):
    with TestClient(build_app(CHAMPION, SERVED, classifier_settings)) as started:
        yield started


def test_get_predict_answers_with_the_model_and_its_headers(client, trained_classifier):
    _, result = trained_classifier
    response = client.get("/predict", params={**ROSE, "pclass": "1st"})
    assert response.status_code == 200
    body = response.json()
    assert body["model"] == {"name": "titanic-classifier", "version": result.version}
    assert response.headers["X-Model-Version"] == str(result.version)
    assert response.headers["X-Request-ID"] == body["request_id"]
    assert body["survived"] is True and 0.5 < body["probability"] < 1
    jack = client.get("/predict", params={"class": "3", "sex": "M", "age": "20"}).json()
    assert jack["survived"] is False and jack["probability"] < body["probability"]
    info = client.get("/model").json()
    assert info["family"] == "classifier" and info["features"][:2] == ["pclass", "sex"]


def test_get_post_invocations_and_the_registry_pyfunc_agree(client, trained_classifier,
                                                            classifier_settings):
    get = [client.get("/predict", params=p).json()["probability"] for p in (ROSE, JACK)]
    post = client.post("/predict", json={"passengers": [ROSE, JACK]}).json()
    assert [p["probability"] for p in post["predictions"]] == get
    frame = pd.DataFrame([ROSE, JACK])
    for body in ({"dataframe_split": frame.to_dict(orient="split")},
                 {"dataframe_records": frame.to_dict(orient="records")},
                 {"inputs": frame.to_dict(orient="list")}):
        answer = client.post("/invocations", json=body)
        assert answer.status_code == 200, answer.text
        assert [round(row[1], 6) for row in answer.json()["predictions"]] == get
    csv = client.post("/invocations", content=frame.to_csv(index=False),
                      headers={"Content-Type": "text/csv"})
    assert [round(row[1], 6) for row in csv.json()["predictions"]] == get
    assert client.get("/ping").status_code == 200 and client.get("/version").text
    fresh = subprocess.run(  # the registered pyfunc, in a process of its own
        [sys.executable, "-c", "import sys, mlflow, pandas as pd; "
         "mlflow.set_tracking_uri(sys.argv[1]); "
         "m = mlflow.pyfunc.load_model('models:/titanic-classifier@champion'); "
         f"print(','.join(f'{{p:.6f}}' for p in m.predict(pd.DataFrame({[ROSE, JACK]!r}))[:, 1]))",
         classifier_settings.resolved_tracking_uri],
        capture_output=True, text=True, timeout=120, check=True)
    assert [float(p) for p in fresh.stdout.strip().split(",")] == get


@pytest.mark.parametrize(("params", "field"), [
    ({**ROSE, "pclass": 7}, "pclass"), ({**ROSE, "sex": "x"}, "sex"),
    ({**ROSE, "age": -3}, "age"), ({**ROSE, "age": "abc"}, "age"),
    ({**ROSE, "deck": "B"}, "deck"), ({**ROSE, "sibsp": "-1"}, "sibsp"),
    ({"sex": "female"}, "pclass"), ({**ROSE, "embarked": "X"}, "embarked"),
])
def test_bad_values_get_a_4xx_naming_the_parameter(client, params, field):
    response = client.get("/predict", params=params)
    assert response.status_code == 422
    assert response.json()["field"] == field and field in response.json()["detail"]


def test_bad_batches_name_the_record_and_the_limit(client, classifier_settings):
    bad = client.post("/predict", json={"passengers": [ROSE, {**JACK, "age": 500}]})
    assert bad.status_code == 422 and bad.json()["field"] == "passengers.1.age"
    limit = classifier_settings.max_batch_users
    too_many = client.post("/predict", json={"passengers": [ROSE] * (limit + 1)})
    assert too_many.status_code == 413 and too_many.json()["field"] == "passengers"
    assert limit == 10_000


def test_every_answer_is_logged_with_features_and_probability(client, classifier_settings):
    before = len(predictions.read_predictions(
        predictions.store_engine(classifier_settings.resolved_database_url),
        table="classifier_predictions"))
    answer = client.get("/predict", params=JACK, headers={"X-Request-ID": "jack-1"}).json()
    engine = predictions.store_engine(classifier_settings.resolved_database_url)
    deadline = time.monotonic() + 10
    while True:
        rows = predictions.read_predictions(engine, table="classifier_predictions")
        if len(rows) > before or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    row = served_passengers(rows[rows["request_id"] == "jack-1"]).iloc[0]
    assert (row["pclass"], row["sex"], row["age"], row["role"]) == (3, "male", 20.0, "champion")
    assert row["probability"] == pytest.approx(answer["probability"], abs=1e-6)


def test_mlwb_serve_speaks_mlflows_scoring_protocol_to_mlflows_own_client(
        trained_classifier, tmp_path):
    from mlflow.pyfunc.scoring_server.client import ScoringServerClient

    from mlworkbench.platform.postgres import free_port

    settings, _ = trained_classifier
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("MLWB_")}
    env.update(MLWB_HOME=str(settings.home), MLWB_DATABASE_URL=f"sqlite:///{tmp_path / 'l.db'}")
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen([str(Path(sys.executable).with_name("mlwb")), "serve", CHAMPION,
                                "--port", str(port)], env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    try:
        scoring = ScoringServerClient("127.0.0.1", port)
        scoring.wait_server_ready(timeout=90, scoring_server_proc=process)
        answer = scoring.invoke(pd.DataFrame([ROSE, JACK])).get_predictions()
        direct = httpx.get(f"http://127.0.0.1:{port}/predict", params=ROSE).json()
        assert round(float(answer.iloc[0, 1]), 6) == direct["probability"]
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=30)
        log.close()
    assert code == 0, (tmp_path / "serve.log").read_text()
