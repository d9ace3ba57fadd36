"""Continuous fill: batches keep coming, and a stop or a kill never leaves half a batch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from mlworkbench.data import faults, tables
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


def _start_fill(store_url: str, home: Path, pause: Path) -> subprocess.Popen[str]:
    """``mlwb data fill`` that stops inside each batch's transaction while ``pause`` exists."""
    env = {**os.environ, "MLWB_HOME": str(home), "MLWB_DATABASE_URL": store_url,
           faults.PAUSE_FILE: str(pause)}
    return subprocess.Popen(
        [sys.executable, "-c", "from mlworkbench.cli.main import main; main()", "data", "fill",
         "--every", "0s", "--batch-size", "2000"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _inside_a_transaction(process: subprocess.Popen[str], pause: Path) -> None:
    """Wait until the fill stands inside an interactions batch's transaction, its rows
    written (the catalogue's batch, written first into an empty store, is let through)."""
    deadline = time.monotonic() + 60
    # one read a look: checked twice, the file could be the catalogue's pause at the first
    # and the next interactions batch's at the second, and that batch would be let through
    while not (point := _paused_at(pause)).startswith("interactions"):
        if point:
            _release(pause)
        assert process.poll() is None, process.communicate()[0]
        assert time.monotonic() < deadline, "the fill reached no transaction in 60 s"
        time.sleep(0.01)


def _paused_at(pause: Path) -> str:
    """The point the fill waits at, or "" (the fill writes the file whole, by a rename)."""
    try:
        return pause.read_text()
    except FileNotFoundError:
        return ""


def _release(pause: Path) -> None:
    pause.unlink()


def test_ctrl_c_commits_the_batch_in_flight_then_stops(store: Store, store_url: str,
                                                       tmp_path: Path) -> None:
    pause = tmp_path / "pause"
    process = _start_fill(store_url, tmp_path / "mlwb", pause)
    _inside_a_transaction(process, pause)
    assert _assert_whole_batches(store) == 0  # the batch in flight is not visible yet
    process.send_signal(signal.SIGINT)
    time.sleep(0.2)  # the signal lands while the batch's transaction is open
    _release(pause)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert "stopping after the batch in flight" in output
    assert _assert_whole_batches(store) == 1  # the one in flight, whole, and no other
    [batch] = store.batches("interactions")
    assert (batch.source, batch.accepted) == (f"{FILL_SOURCE}#0", 2000)
    assert "1 production batch(es) written" in output


def test_a_fill_killed_inside_a_transaction_leaves_no_partial_batch(
        store: Store, store_url: str, tmp_path: Path) -> None:
    pause = tmp_path / "pause"
    process = _start_fill(store_url, tmp_path / "mlwb", pause)
    _inside_a_transaction(process, pause)
    _release(pause)  # the first batch commits
    _inside_a_transaction(process, pause)  # the second stands written, uncommitted
    process.kill()
    process.communicate(timeout=30)
    assert _assert_whole_batches(store) == 1
    assert store.count("interactions") == 2000  # nothing of the second batch
