"""``mlwb serve`` as a real process on a free port: answers, then shuts down cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("workers", ["1", "2", "2 --no-pin-workers"])
def test_mlwb_serve_answers_on_a_free_port(trained, tmp_path, workers) -> None:
    settings, result = trained
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("MLWB_")}
    env.update(MLWB_HOME=str(settings.home), OPENBLAS_NUM_THREADS="1",
               MLWB_DATABASE_URL=f"sqlite:///{tmp_path / 'log.db'}")
    mlwb = Path(sys.executable).with_name("mlwb")
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen([str(mlwb), "serve", "models:/movielens-recommender@champion",
                                "--port", str(port), "--workers", *workers.split()],
                               env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the service never became ready"
            time.sleep(0.2)
        response = httpx.get(f"{base}/users/42/recommendations", params={"k": 3}, timeout=10)
        assert response.status_code == 200
        body = response.json()
        assert body["model"] == {"name": "movielens-recommender", "version": result.version}
        assert len(body["recommendations"][0]["items"]) == 3
        bad = httpx.post(f"{base}/recommendations", json={"users": [1], "k": 0}, timeout=10)
        assert bad.status_code == 422 and "Traceback" not in bad.text
        for user in range(1, 6):  # with several workers, these spread over the processes
            assert httpx.get(f"{base}/users/{user}/recommendations", timeout=10).is_success
        metrics = httpx.get(f"{base}/metrics", timeout=10).text
        served = [line for line in metrics.splitlines()
                  if line.startswith("mlwb_recommendation_batch_users_count")]
        assert served and float(served[0].split()[-1]) == 6  # every worker's requests counted
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=30)
        log.close()
    assert code == 0, (tmp_path / "serve.log").read_text()


def test_mlwb_serve_rejects_a_bad_reference_with_one_line(workspace) -> None:
    from mlworkbench.cli.main import run

    assert run(["serve", "models:/nothing@champion", "--port", str(free_port())]) == 1
