"""The monitoring service over HTTP, and its page and one report in headless Chromium."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient

from fixtures.workspaces import module_workspace
from mlworkbench.data.ingest import load_titanic
from mlworkbench.data.simulator import synthetic_passengers
from mlworkbench.errors import TrackingError
from mlworkbench.families import monitor
from mlworkbench.monitoring import records
from mlworkbench.monitoring.classifier_report import classifier_report
from mlworkbench.monitoring.service import build_app

MODEL = "titanic-classifier"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """Two recorded classifier runs (ok, then drift) in a workspace of this module's own."""
    with module_workspace(tmp_path_factory, "monitoring") as settings:
        yield _record_two(settings)


def _record_two(workspace):
    passengers = load_titanic()
    rng = np.random.default_rng(0)

    def scored(frame):
        return frame.assign(probability=np.clip(rng.normal(0.4, 0.2, len(frame)), 0, 1))

    reference = scored(passengers)
    for shift in (0.0, 0.6):
        batch = scored(synthetic_passengers(passengers, 500, shift, 43)).drop(columns="survived")
        result = classifier_report(reference, batch)
        records.record(result, workspace, MODEL, 1, {"current": f"shift {shift}"})
    return workspace, records.list_runs(workspace)


def test_runs_status_metrics_and_reports(recorded) -> None:
    settings, runs = recorded
    client = TestClient(build_app(settings, monitor))
    listed = client.get("/runs", params={"model": MODEL}).json()
    assert [r["verdict"] for r in listed] == ["drift", "ok"]
    status = client.get("/status").json()
    assert status[MODEL]["verdict"] == "drift" and "age" in status[MODEL]["failed_tests"]
    metrics = client.get("/metrics").text
    assert f'mlwb_monitoring_drift_share{{model="{MODEL}"}}' in metrics
    assert "mlwb_monitoring_last_run_timestamp_seconds" in metrics
    report = client.get(f"/runs/{runs[0].run_id}/report")  # its first part: drift
    assert report.status_code == 200 and "Drift in column" in report.text


def test_each_run_is_a_snapshot_in_the_evidently_workspace(recorded) -> None:
    from evidently.ui.workspace import Workspace

    settings, _ = recorded
    workspace = Workspace(str(records.workspace_path(settings)))
    (project,) = workspace.search_project(MODEL)
    assert len(workspace.list_runs(project.id)) == 2  # one drift part per run


def test_a_run_that_fails_while_recorded_is_never_marked_done(recorded) -> None:
    settings, _ = recorded
    passengers = load_titanic().assign(probability=0.5)
    result = classifier_report(passengers, passengers.head(300))
    result.metrics["not a metric name!"] = 1.0  # MLflow refuses it after the run has begun
    with pytest.raises(TrackingError):
        records.record(result, settings, "failing-model", 1, {"current": "x"})
    (failed,) = records.list_runs(settings, "failing-model")
    assert failed.verdict == "failed"
    client = TestClient(build_app(settings, monitor))
    assert client.get("/status").json()["failing-model"]["verdict"] == "failed"


def test_bad_requests_are_4xx_with_detail_and_field(recorded) -> None:
    settings, runs = recorded
    client = TestClient(build_app(settings, monitor))
    answer = client.post("/runs", json={"model": "no-such-model"})
    assert answer.status_code == 404 and answer.json()["field"] == "model"
    answer = client.post("/runs", json={"k": 0})
    assert answer.status_code == 422 and answer.json()["field"] == "k"
    answer = client.get(f"/runs/{runs[0].run_id}/report", params={"part": "nope"})
    assert answer.status_code == 422 and answer.json()["field"] == "part"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _chromium(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu",
                           "--hide-scrollbars", "--window-size=1280,1000", *args],
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.integration
def test_page_and_report_render_in_headless_chromium(recorded, tmp_path) -> None:
    import uvicorn
    from matplotlib.image import imread

    assert shutil.which("chromium"), "run scripts/ensure-chromium.sh (make services-deps)"
    settings, runs = recorded
    port = _free_port()
    app = build_app(settings, monitor)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port}"
        dom = _chromium("--dump-dom", f"{url}/").stdout
        shot = tmp_path / "monitoring-page.png"
        _chromium(f"--screenshot={shot}", f"{url}/")
        report_shot = tmp_path / "monitoring-report.png"
        _chromium("--virtual-time-budget=10000", f"--screenshot={report_shot}",
                  f"{url}/runs/{runs[0].run_id}/report")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert MODEL in dom and ">drift<" in dom and "<svg" in dom  # model, verdict, plot
    assert f"/runs/{runs[0].run_id}/report?part=drift" in dom
    page = imread(str(shot))[..., :3]
    drift_badge = np.all(np.abs(page - np.array([0xBF, 0x87, 0x00]) / 255) < 0.02, axis=-1)
    plot_line = np.all(np.abs(page - np.array([0x09, 0x69, 0xDA]) / 255) < 0.02, axis=-1)
    assert drift_badge.sum() > 50 and plot_line.sum() > 50  # the verdict and a plot are drawn
    report = imread(str(report_shot))[..., :3]
    assert report.std() > 0.05  # the Evidently report drew something, not a blank page
