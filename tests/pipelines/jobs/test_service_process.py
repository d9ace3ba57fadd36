"""`mlwb jobs serve` as a real process: killed mid-job, restarted, the job is listed as failed."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from mlworkbench.pipelines.jobs.runner import KILLED

pytestmark = pytest.mark.integration
TOKEN = "jobs-secret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(url: str, body: dict | None = None) -> dict | list:
    request = urllib.request.Request(
        url, data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _start(home: Path, port: int, log: Path) -> subprocess.Popen:
    env = {key: value for key, value in os.environ.items() if not key.startswith("MLWB_")}
    env |= {"MLWB_HOME": str(home), "MLWB_ADMIN_TOKEN": TOKEN, "OPENBLAS_NUM_THREADS": "1"}
    mlwb = Path(sys.executable).parent / "mlwb"
    with log.open("ab") as out:
        process = subprocess.Popen([str(mlwb), "jobs", "serve", "--port", str(port)], env=env,
                                   stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            _call(f"http://127.0.0.1:{port}/health")
            return process
        except (urllib.error.URLError, OSError):
            assert process.poll() is None, log.read_text()
            time.sleep(0.2)
    process.kill()
    raise AssertionError(f"jobs service not healthy in 60 s: {log.read_text()}")


def test_a_service_killed_mid_job_marks_it_failed_when_it_restarts(tmp_path) -> None:
    home, port, log = tmp_path / "mlwb", _free_port(), tmp_path / "jobs.log"
    url = f"http://127.0.0.1:{port}"
    process = _start(home, port, log)
    try:
        job = _call(f"{url}/jobs", {"kind": "train", "family": "recommender"})
        deadline = time.monotonic() + 60
        while _call(f"{url}/jobs/{job['id']}")["state"] != "running":
            assert time.monotonic() < deadline, "the job never started"
            time.sleep(0.1)
        process.send_signal(signal.SIGKILL)  # the service dies mid-training
        process.wait(10)
        process = _start(home, port, log)
        listed = _call(f"{url}/jobs")
        assert [j["id"] for j in listed] == [job["id"]]
        assert listed[0]["state"] == "failed" and listed[0]["error"] == KILLED
        again = _call(f"{url}/jobs", {"kind": "train", "family": "recommender",
                                      "params": {"model": "popularity"}})
        assert again["id"] == job["id"] + 1  # the model is free again
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
