"""``POST /invocations`` answers what ``mlflow models serve`` answers for the same registered
model, request for request: both services run as real processes side by side."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest

from mlworkbench.platform.postgres import free_port

BIN = Path(sys.executable).parent
PASSENGERS = pd.DataFrame({"pclass": [1, 3, 2], "sex": ["female", "male", "male"],
                           "age": [29.0, 20.0, 40.0], "sibsp": [0, 0, 1], "parch": [0, 0, 2]})


def _requests(family: str) -> list[tuple[str, bytes]]:
    """(content type, body) pairs in every format the protocol has."""
    if family == "classifier":
        frame, params = PASSENGERS, None
    else:
        frame, params = pd.DataFrame({"user_id": [42, 7, 99_999]}), {"k": 3}
    extra = f', "params": {json.dumps(params)}' if params else ""
    split = f'{{"dataframe_split": {frame.to_json(orient="split", index=False)}{extra}}}'
    records = f'{{"dataframe_records": {frame.to_json(orient="records")}}}'
    inputs = json.dumps({"inputs": {column: frame[column].tolist() for column in frame}})
    json_type = "application/json"
    return [(json_type, body.encode()) for body in (split, records, inputs)] + [
        ("text/csv", frame.to_csv(index=False).encode()),
        (json_type, b'{"dataframe_split": {"columns": ["nothing"], "data": [[1]]}}'),
        (json_type, b"not json"),
    ]


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("w") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def _wait(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 120
    while True:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            if httpx.get(f"{url}/ping", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{url} never answered /ping"
        time.sleep(0.3)


@pytest.fixture(params=["recommender", "classifier"])
def both(request, tmp_path) -> Iterator[tuple[str, str, str]]:
    """(family, our URL, peer URL) for the family's champion."""
    settings, _ = request.getfixturevalue(
        "trained" if request.param == "recommender" else "trained_classifier")
    model = ("models:/movielens-recommender@champion" if request.param == "recommender"
             else "models:/titanic-classifier@champion")
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("MLWB_", "MLFLOW_"))}
    env.update(MLWB_HOME=str(settings.home), OPENBLAS_NUM_THREADS="1",
               MLWB_DATABASE_URL=f"sqlite:///{tmp_path / 'log.db'}", MLWB_ALIAS_POLL_SECONDS="0",
               MLFLOW_TRACKING_URI=settings.resolved_tracking_uri,
               PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")  # the peer execs uvicorn
    ours, peer = free_port(), free_port()
    processes = [
        (_start([str(BIN / "mlwb"), "serve", model, "--port", str(ours)], env,
                tmp_path / "ours.log"), f"http://127.0.0.1:{ours}", tmp_path / "ours.log"),
        (_start([str(BIN / "mlflow"), "models", "serve", "-m", model, "--env-manager", "local",
                 "-p", str(peer)], env, tmp_path / "peer.log"), f"http://127.0.0.1:{peer}",
         tmp_path / "peer.log"),
    ]
    try:
        for process, url, log in processes:
            _wait(url, process, log)
        yield request.param, processes[0][1], processes[1][1]
    finally:
        for process, _, _ in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process, _, _ in processes:
            process.wait(timeout=30)


def test_invocations_answer_like_mlflow_models_serve(both) -> None:
    family, ours, peer = both
    for content_type, body in _requests(family):
        mine = httpx.post(f"{ours}/invocations", content=body,
                          headers={"Content-Type": content_type}, timeout=30)
        theirs = httpx.post(f"{peer}/invocations", content=body,
                            headers={"Content-Type": content_type}, timeout=30)
        assert mine.status_code == theirs.status_code, (content_type, body[:80], mine.text)
        if theirs.status_code == 200:
            assert mine.json() == theirs.json(), (content_type, body[:80])
        else:
            assert mine.json()["error_code"] == theirs.json()["error_code"]
    assert httpx.get(f"{ours}/version").text == httpx.get(f"{peer}/version").text
