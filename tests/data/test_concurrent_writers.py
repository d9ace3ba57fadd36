"""Three writers on one store at once — file ingests, `mlwb data fill` and the simulator
service's POST /batches, each its own process — on SQLite and on PostgreSQL: nobody fails
on a lock, every production batch number is written exactly once, every batch is whole."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from mlworkbench.data import tables as t
from mlworkbench.data.fill import SOURCE
from mlworkbench.data.store import Store
from mlworkbench.platform.postgres import free_port

FILES, FILL_BATCHES, POSTS, ROWS = 8, 15, 10, 200
TOKEN = "writers-test-token"
_MLWB = "from mlworkbench.cli.main import main; main()"


def _files(folder: Path, movielens) -> list[Path]:
    """Rows of users nobody else writes: every one of them must be accepted."""
    rng = np.random.default_rng(5)
    items = movielens.items["item_id"].to_numpy()
    paths = []
    for index in range(FILES):
        frame = pd.DataFrame({"user_id": 900_000 + index, "item_id": rng.choice(items, ROWS),
                              "rating": 4.0, "timestamp": 1_000_000_000 + np.arange(ROWS)})
        paths.append(folder / f"ratings-{index:02d}.csv")
        frame.to_csv(paths[-1], index=False)
    return paths


def _post(url: str) -> dict[str, object]:
    request = urllib.request.Request(
        f"{url}/batches", data=json.dumps({"size": ROWS}).encode(), method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=120) as answer:
        return json.loads(answer.read())


def _wait_healthy(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 90
    while True:
        assert process.poll() is None, process.communicate()[0]
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):
                return
        except OSError:
            assert time.monotonic() < deadline, "the simulator did not start in 90 s"
            time.sleep(0.2)


def test_ingest_fill_and_the_simulator_service_write_at_once(
        movielens_store: Store, store_url: str, tmp_path: Path, movielens) -> None:
    env = {**os.environ, "MLWB_HOME": str(tmp_path / "mlwb"), "MLWB_DATABASE_URL": store_url,
           "MLWB_ADMIN_TOKEN": TOKEN, "OPENBLAS_NUM_THREADS": "1"}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    started: list[subprocess.Popen[str]] = []

    def start(args: list[str]) -> subprocess.Popen[str]:
        started.append(subprocess.Popen([sys.executable, *args], env=env, text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
        return started[-1]

    ingest_all = textwrap.dedent(f"""
        from pathlib import Path
        from mlworkbench.data.ingest import ingest_file
        from mlworkbench.data.store import Store
        with Store({store_url!r}) as store:
            for path in {[str(p) for p in _files(tmp_path, movielens)]!r}:
                ingest_file(store, Path(path), stage="production")
    """)
    try:
        simulator = start(["-c", _MLWB, "simulator", "serve", "--port", str(port)])
        _wait_healthy(url, simulator)
        writers = [start(["-c", ingest_all]),
                   start(["-c", _MLWB, "data", "fill", "--every", "0s", "--batches",
                          str(FILL_BATCHES), "--batch-size", str(ROWS)])]
        answers = [_post(url) for _ in range(POSTS)]
        for writer in writers:
            output, _ = writer.communicate(timeout=240)
            assert writer.returncode == 0, output
    finally:
        for process in started:
            process.kill()
            process.communicate(timeout=30)

    batches = movielens_store.batches("interactions")
    numbers = sorted(int(b.source.rpartition("#")[2]) for b in batches
                     if b.source.startswith(f"{SOURCE}#"))
    assert numbers == list(range(FILL_BATCHES + POSTS))  # each number once, none skipped
    assert len({answer["id"] for answer in answers}) == POSTS
    files = [b for b in batches if b.source.endswith(".csv")]
    assert len(files) == FILES and all(b.accepted == ROWS for b in files)
    for batch in batches:
        assert movielens_store.count("interactions", batch.id) == batch.accepted
        assert len(movielens_store.quarantined(batch.id)) == batch.rejected
    i = t.interactions.c
    with movielens_store.engine.connect() as connection:
        stored = connection.execute(sa.select(sa.func.count()).select_from(
            t.interactions)).scalar_one()
        events = connection.execute(sa.select(sa.func.count()).select_from(
            sa.select(i.user_id, i.item_id, i.event_time).distinct().subquery())).scalar_one()
    assert stored == events == sum(b.accepted for b in batches)
