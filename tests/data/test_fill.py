"""Continuous fill: batches keep coming, and a stop or a kill never leaves half a batch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from mlworkbench.data import tables
from mlworkbench.data.fill import fill
from mlworkbench.data.simulator import Drift
from mlworkbench.data.store import Store

FILL_SOURCE = "simulator:movielens"


def _assert_whole_batches(store: Store) -> int:
    """Every batch's rows are all there; no row belongs to a batch that was not recorded."""
    production = [b for b in store.batches("interactions") if b.stage == "production"]
    for batch in production:
        assert store.count("interactions", batch.id) == batch.accepted
        assert len(store.quarantined(batch.id)) == batch.rejected
        assert batch.accepted + batch.rejected == batch.received
    with store.engine.connect() as connection:
        orphans = connection.execute(
            sa.select(sa.func.count()).select_from(tables.interactions).where(
                tables.interactions.c.batch_id.not_in(
                    sa.select(tables.ingest_batches.c.id)))).scalar_one()
    assert orphans == 0
    return len(production)


def test_fill_writes_n_batches_with_drift_quarantined(store: Store) -> None:
    seen = []
    written = fill(store, every_s=0, batches=3, batch_size=400,
                   drift=Drift(schema_violations=0.05), on_batch=seen.append)
    assert written == 3 and [b.received for b in seen] == [400, 400, 400]
    assert all(b.rejected > 0 for b in seen)
    assert _assert_whole_batches(store) == 3
    assert [b.source for b in seen] == [f"{FILL_SOURCE}#{i}" for i in range(3)]


def _start_fill(store_url: str, home: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "MLWB_HOME": str(home), "MLWB_DATABASE_URL": store_url}
    return subprocess.Popen(
        [sys.executable, "-c", "from mlworkbench.cli.main import main; main()", "data", "fill",
         "--every", "0s", "--batch-size", "20000"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_for_batches(store: Store, process: subprocess.Popen[str], count: int) -> None:
    deadline = time.monotonic() + 60
    while sum(b.stage == "production" for b in store.batches("interactions")) < count:
        assert process.poll() is None, process.communicate()[0]
        assert time.monotonic() < deadline, "the fill wrote nothing in 60 s"
        time.sleep(0.05)


def test_ctrl_c_finishes_the_batch_in_flight_then_stops(store: Store, store_url: str,
                                                        tmp_path: Path) -> None:
    process = _start_fill(store_url, tmp_path / "mlwb")
    _wait_for_batches(store, process, 1)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert "stopping after the batch in flight" in output
    written = _assert_whole_batches(store)
    assert f"{written} production batch(es) written" in output


def test_a_killed_fill_leaves_no_partial_batch(store: Store, store_url: str,
                                               tmp_path: Path) -> None:
    process = _start_fill(store_url, tmp_path / "mlwb")
    _wait_for_batches(store, process, 2)
    time.sleep(0.1)  # most likely in the middle of writing the next batch
    process.kill()
    process.communicate(timeout=30)
    assert _assert_whole_batches(store) >= 2
