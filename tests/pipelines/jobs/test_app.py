"""The jobs service through FastAPI's TestClient, with real training on Titanic and MovieLens."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from mlworkbench.config import Settings
from mlworkbench.pipelines.jobs.app import build_app
from mlworkbench.tracking import client as tracking
from mlworkbench.tracking import registry

TOKEN = "jobs-secret"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def settings(workspace: Settings) -> Settings:
    return workspace.model_copy(update={"admin_token": TOKEN})


@pytest.fixture
def client(settings: Settings):
    with TestClient(build_app(settings)) as opened:
        yield opened
        opened.app.state.runner.wait(300)


def _finished(client: TestClient, job_id: int, timeout_s: float = 240) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = client.get(f"/jobs/{job_id}").json()
        if job["state"] in ("succeeded", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {job['state']} after {timeout_s} s")


def test_a_train_job_runs_in_the_background_and_records_its_mlflow_run(client, settings):
    answer = client.post("/jobs", json={"kind": "train", "family": "classifier",
                                        "params": {"model": "logreg", "params": {"C": 0.5}}},
                         headers=ADMIN)
    assert answer.status_code == 202, answer.text
    submitted = answer.json()
    assert submitted["state"] in ("queued", "running")
    assert submitted["model_name"] == settings.classifier_model_name
    assert submitted["params"]["params"] == {"C": 0.5}
    job = _finished(client, submitted["id"])
    assert job["state"] == "succeeded", job["error"]
    assert job["result"]["version"] == 1 and job["result"]["champion_version"] == 1
    assert job["progress"]["stage"] == "log" and job["progress"]["done"] == 1
    mlflow_client = tracking.configure(settings)
    (run_id,) = job["run_ids"]
    run = mlflow_client.get_run(run_id)
    assert run.data.params["C"] == "0.5" and run.info.status == "FINISHED"
    assert registry.alias_version(mlflow_client, settings.classifier_model_name,
                                  "champion") == 1
    assert [j["id"] for j in client.get("/jobs").json()] == [job["id"]]


def test_one_job_at_a_time_per_model_a_second_is_409_another_model_runs(client, settings):
    first = client.post("/jobs", json={"kind": "train", "model": settings.recommender_model_name,
                                       "params": {"params": {"iterations": 5}}}, headers=ADMIN)
    assert first.status_code == 202, first.text
    second = client.post("/jobs", json={"kind": "train", "family": "recommender"},
                         headers=ADMIN)
    assert second.status_code == 409
    assert second.json()["field"] == "model"
    assert f"already has job {first.json()['id']}" in second.json()["detail"]
    beside = client.post("/jobs", json={"kind": "train", "family": "classifier"}, headers=ADMIN)
    assert beside.status_code == 202
    assert _finished(client, first.json()["id"])["state"] == "succeeded"
    assert _finished(client, beside.json()["id"])["state"] == "succeeded"
    again = client.post("/jobs", json={"kind": "train", "family": "recommender",
                                       "params": {"model": "popularity"}}, headers=ADMIN)
    assert again.status_code == 202  # the model is free again
    assert _finished(client, again.json()["id"])["result"]["version"] == 2


def test_tune_with_a_grid_then_promote(client, settings):
    client.post("/jobs", json={"kind": "train", "family": "classifier"}, headers=ADMIN)
    _finished(client, 1)
    tuned = client.post("/jobs", json={"kind": "tune", "family": "classifier",
                                       "params": {"grid": {"C": [0.01, 1.0]}}}, headers=ADMIN)
    assert tuned.status_code == 202, tuned.text
    job = _finished(client, tuned.json()["id"])
    assert job["state"] == "succeeded", job["error"]
    assert job["result"]["trials"] == 2 and job["result"]["version"] == 2
    assert len(job["run_ids"]) == 3 and job["run_ids"][0] == job["result"]["parent_run_id"]
    promoted = client.post("/jobs", json={"kind": "promote", "family": "classifier",
                                          "params": {"min_gain": 0.0}}, headers=ADMIN)
    decision = _finished(client, promoted.json()["id"])
    assert decision["state"] == "succeeded", decision["error"]
    assert decision["result"]["challenger"] == 2 and decision["result"]["champion"] == 1
    assert "reason" in decision["result"] and decision["result"]["challenger_score"] is not None


@pytest.mark.parametrize(("body", "field"), [
    ({"kind": "train", "family": "classifier", "params": {"params": {"C": -1}}}, "C"),
    ({"kind": "train", "family": "recommender", "params": {"modle": "als"}}, "params.modle"),
    ({"kind": "tune", "family": "classifier", "params": {}}, "params.grid"),
    ({"kind": "tune", "family": "classifier", "params": {"grid": {"C": ["x"]}}}, "C"),
    ({"kind": "promote", "family": "classifier", "params": {"metric": "nope"}},
     "params.metric"),
    ({"kind": "deploy", "family": "classifier"}, "kind"),
    ({"kind": "train", "family": "forest"}, "family"),
])
def test_bad_jobs_are_422_naming_the_field_and_never_queued(client, body, field):
    answer = client.post("/jobs", json=body, headers=ADMIN)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field and answer.json()["detail"]
    assert client.get("/jobs").json() == []


def test_an_unknown_model_or_job_is_404(client):
    answer = client.post("/jobs", json={"kind": "train", "model": "nobody"}, headers=ADMIN)
    assert (answer.status_code, answer.json()["field"]) == (404, "model")
    missing = client.get("/jobs/99")
    assert (missing.status_code, missing.json()["field"]) == (404, "job_id")


def test_submitting_needs_the_admin_token(client, workspace):
    body = {"kind": "train", "family": "classifier"}
    assert client.post("/jobs", json=body).status_code == 401
    wrong = client.post("/jobs", json=body, headers={"Authorization": "Bearer nope"})
    assert (wrong.status_code, wrong.json()["field"]) == (403, "Authorization")
    with TestClient(build_app(workspace)) as no_token:  # no token configured: disabled
        refused = no_token.post("/jobs", json=body, headers=ADMIN)
        assert refused.status_code == 403 and "no MLWB_ADMIN_TOKEN" in refused.json()["detail"]
    assert client.get("/jobs").json() == []


def test_a_failing_job_ends_failed_with_its_error(client):
    answer = client.post("/jobs", json={"kind": "promote", "family": "classifier"},
                         headers=ADMIN)  # nothing trained: the gate has no version to judge
    job = _finished(client, answer.json()["id"])
    assert job["state"] == "failed" and "not found" in job["error"]
    assert job["finished_at"] is not None


def test_docs_openapi_and_metrics(client):
    client.post("/jobs", json={"kind": "promote", "family": "classifier"}, headers=ADMIN)
    _finished(client, 1)
    assert client.get("/docs").status_code == 200
    assert {"/jobs", "/jobs/{job_id}", "/metrics"} <= set(client.get("/openapi.json")
                                                          .json()["paths"])
    text = client.get("/metrics").text
    assert 'mlwb_jobs_submitted_total{kind="promote"} 1.0' in text
    assert 'mlwb_jobs_finished_total{kind="promote",state="failed"} 1.0' in text
    assert 'mlwb_jobs{kind="promote",state="failed"} 1.0' in text


def test_a_pipeline_job_runs_the_loop_and_records_its_run(client, settings):
    client.post("/jobs", json={"kind": "train", "family": "classifier"}, headers=ADMIN)
    assert _finished(client, 1)["state"] == "succeeded"
    answer = client.post("/jobs", json={"kind": "pipeline", "model":
                                        settings.classifier_model_name}, headers=ADMIN)
    assert answer.status_code == 202, answer.text
    job = _finished(client, answer.json()["id"])
    assert job["state"] == "succeeded", job["error"]
    result = job["result"]
    assert result["trigger"] == "jobs" and result["outcome"] == "skipped"  # nothing new
    assert result["version_before"] == 1 and "check" in result["steps"]
    assert job["run_ids"] == [result["run_id"]] and job["progress"]["stage"] == "check"
    run = tracking.configure(settings).get_run(result["run_id"])
    assert run.info.experiment_id and run.info.status == "FINISHED"
