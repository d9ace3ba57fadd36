"""``mlwb serve --workers 2`` as a real process: under load, every worker converges to the
new version with zero errors, a broken version keeps the old one in every worker, and
``/metrics`` adds up both workers (each worker's gauges are listed by pid)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import mlflow
import pytest

from mlworkbench.tracking import client as tracking
from mlworkbench.tracking.registry import set_alias

pytestmark = pytest.mark.integration
NAME = "workers-recommender"


def _register(directory: Path, experiment: str) -> int:
    with mlflow.start_run(experiment_id=experiment):
        mlflow.log_artifacts(str(directory), "model")
        run_id = mlflow.active_run().info.run_id
    return int(mlflow.register_model(f"runs:/{run_id}/model", NAME).version)


def _versions(metrics: str) -> dict[str, float]:
    """Each worker's served version, by pid (multiprocess gauges keep a pid label)."""
    found = re.findall(r'mlwb_model_version\{model_name="[^"]+",pid="(\d+)"\} ([\d.]+)', metrics)
    found += re.findall(r'mlwb_model_version\{pid="(\d+)",model_name="[^"]+"\} ([\d.]+)', metrics)
    return {pid: float(value) for pid, value in found}


def _total(metrics: str, name: str, labels: str = "") -> float:
    return sum(float(line.split()[-1]) for line in metrics.splitlines()
               if line.startswith(name) and labels in line)


def test_two_workers_converge_keep_the_old_on_a_broken_version_and_add_up(trained,
                                                                          tmp_path) -> None:
    settings, result = trained
    client = tracking.configure(settings)
    experiment = tracking.ensure_experiment(client, settings)
    source = Path(mlflow.artifacts.download_artifacts(result.model_uri,
                                                      dst_path=str(tmp_path / "src")))
    good = _register(source, experiment)
    broken_dir = tmp_path / "broken"
    shutil.copytree(source, broken_dir)
    npz = next(broken_dir.rglob("recommender.npz"))
    npz.write_bytes(npz.read_bytes()[:1000])
    broken = _register(broken_dir, experiment)
    later = _register(source, experiment)
    set_alias(client, NAME, "champion", good)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {key: value for key, value in os.environ.items() if not key.startswith("MLWB_")}
    env.update(MLWB_HOME=str(settings.home), OPENBLAS_NUM_THREADS="1",
               MLWB_ALIAS_POLL_SECONDS="0.3", MLWB_DATABASE_URL=f"sqlite:///{tmp_path / 'l.db'}")
    log = (tmp_path / "serve.log").open("w")
    mlwb = Path(sys.executable).with_name("mlwb")
    process = subprocess.Popen([str(mlwb), "serve", f"models:/{NAME}@champion", "--port",
                                str(port), "--workers", "2"], env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    outcomes: list[tuple[int, int | None]] = []
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            with httpx.Client(base_url=base, timeout=10) as fresh:  # a new connection each time
                response = fresh.post("/recommendations", json={"users": [42, 7], "k": 5})
            body = response.json() if response.status_code == 200 else {}
            outcomes.append((response.status_code, body.get("model", {}).get("version")))

    def metrics() -> str:
        return httpx.get(f"{base}/metrics", timeout=10).text

    try:
        deadline = time.monotonic() + 180
        while len(_versions(seen := metrics() if _up(base) else "")) < 2:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, f"both workers never came up: {seen[-3000:]}"
            time.sleep(0.3)
        senders = [threading.Thread(target=hammer) for _ in range(2)]
        for sender in senders:
            sender.start()
        try:
            time.sleep(1.0)
            set_alias(client, NAME, "champion", broken)
            time.sleep(3.0)  # ten polls in each worker
            during = metrics()
            set_alias(client, NAME, "champion", later)
            deadline = time.monotonic() + 30
            while set(_versions(metrics()).values()) != {float(later)}:
                assert time.monotonic() < deadline, _versions(metrics())
                time.sleep(0.2)
            time.sleep(0.5)
        finally:
            stop.set()
            for sender in senders:
                sender.join()
        after = metrics()
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=30)
        log.close()
    assert code == 0, (tmp_path / "serve.log").read_text()

    statuses = {status for status, _ in outcomes}
    assert statuses == {200}, statuses
    assert {version for _, version in outcomes} == {good, later}  # never the broken one
    assert set(_versions(during).values()) == {float(good)} and len(_versions(during)) == 2
    assert _total(during, "mlwb_model_load_failures_total") >= 2  # each worker failed it
    assert len(_versions(after)) == 2  # two workers, each on the later version
    served = _total(after, "mlwb_http_requests_total", 'route="/recommendations"')
    assert served == len(outcomes), (served, len(outcomes))  # both workers' counts, added up
    text = (tmp_path / "serve.log").read_text()
    assert text.count(f"(version {broken})") == 2, text  # logged once per worker


def _up(base: str) -> bool:
    try:
        return httpx.get(f"{base}/ready", timeout=1).status_code == 200
    except httpx.TransportError:
        return False
