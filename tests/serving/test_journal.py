"""The journal's bound: what this process wrote and replayed counts at once, without reading
the directory again; what another process wrote counts from the next recount."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from mlworkbench.serving import journal as journals
from mlworkbench.serving.journal import Journal

ROW = {"request_id": "r", "user_id": 1, "items": "[1,2,3]"}
SEGMENT = len(b"\n".join([b'{"request_id":"r","user_id":1,"items":"[1,2,3]"}'] * 10) + b"\n")


def test_the_bound_counts_own_writes_and_replays_at_once(tmp_path) -> None:
    journal = Journal(tmp_path, max_bytes=2 * SEGMENT)
    assert journal.append([ROW] * 10, 10) == 10
    assert journal.append([ROW] * 10, 10) == 10
    assert journal.append([ROW] * 10, 10) == 0  # full: refused, not written
    (first, _second) = journal.pending()
    journal.remove(journal.claim(first))  # replayed: room again, no recount needed
    assert journal.append([ROW] * 10, 10) == 10
    assert journal.rows() == 20


def test_what_another_process_wrote_counts_from_the_next_recount(tmp_path) -> None:
    ours, theirs = Journal(tmp_path, max_bytes=2 * SEGMENT), Journal(tmp_path, 2 * SEGMENT)
    assert ours.append([ROW] * 10, 10) == 10
    assert theirs.append([ROW] * 10, 10) == 10  # counted the disk: one segment there
    assert ours.append([ROW] * 10, 10) == 10  # within the recount interval: not seen yet
    time.sleep(journals.RECOUNT_S + 0.05)
    assert ours.append([ROW] * 10, 10) == 0  # recounted: three segments, over the bound
    assert ours.rows() == 30


def test_appends_from_many_threads_at_once_stop_at_the_bound(tmp_path) -> None:
    """The writer thread and requests that spill append at the same moment: together they
    write exactly what the bound holds, not each what it held when they looked."""
    journal = Journal(tmp_path, max_bytes=20 * SEGMENT)
    start = threading.Barrier(8)

    def spill(_: int) -> int:
        start.wait()
        return sum(journal.append([ROW] * 10, 10) for _ in range(10))

    with ThreadPoolExecutor(8) as pool:
        kept = sum(pool.map(spill, range(8)))
    assert kept == journal.rows() == 200
