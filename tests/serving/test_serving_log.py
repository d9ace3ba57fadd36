"""The prediction log: served rows reach the store; a dead store never fails a request and
overflowing rows are counted and logged."""

from __future__ import annotations

import datetime as dt
import logging
import time

import numpy as np
import orjson
import pytest
from sqlalchemy import event

from mlworkbench.data import predictions
from mlworkbench.errors import DataError
from mlworkbench.serving.prediction_log import CHUNK_ROWS, PredictionLog
from mlworkbench.serving.recommender.logged import Served


def served(users: list[int], request_id: str = "r1") -> Served:
    n = len(users)
    return Served(request_id, dt.datetime.now(dt.UTC), "m", 1, "live", users,
                  np.tile(np.array([5, 6, -1]), (n, 1)), np.ones((n, 3), np.float32), [None] * n)


def test_served_responses_are_in_the_store_after_shutdown(make_client, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with make_client(database_url=url, prediction_log_flush_seconds=60) as client:
        response = client.post("/recommendations", json={"users": [42, 99999999], "k": 3})
        request_id = response.json()["request_id"]
    log = predictions.read_predictions(predictions.store_engine(url))  # flushed on shutdown
    rows = log[log.request_id == request_id]
    assert rows.user_id.tolist() == [42, 99999999]
    assert rows.model_name.unique().tolist() == ["movielens-recommender"]
    assert rows.model_version.unique().tolist() == [1] and rows.source.unique().tolist() == ["live"]
    served_items = [[item["id"] for item in entry["items"]]
                    for entry in response.json()["recommendations"]]
    assert [orjson.loads(items) for items in rows["items"]] == served_items
    assert rows.fallback.tolist() == [None, "popular"]


def test_a_dead_store_keeps_rows_buffered_and_counts_overflow(tmp_path, caplog) -> None:
    (tmp_path / "no-such-dir").write_text("a file where the store's directory should be")
    dead = f"sqlite:///{tmp_path / 'no-such-dir' / 'store.db'}"
    dropped: list[int] = []
    log = PredictionLog(dead, capacity=3, on_drop=dropped.append)
    log.submit(served([1, 2]))
    with caplog.at_level(logging.WARNING, "mlworkbench.serving.prediction_log"):
        log.submit(served([3, 4]))  # 2 + 2 > 3: dropped, counted, logged
    assert log.held == 2 and log.dropped == 2 and dropped == [2]
    assert "dropped 2 rows" in caplog.text
    with pytest.raises(DataError):
        log.flush()
    assert log.held == 2  # still waiting for the store
    (tmp_path / "no-such-dir").unlink()  # the store comes back
    (tmp_path / "no-such-dir").mkdir()
    predictions.dispose_engines()
    assert log.flush() == 2 and log.held == 0
    rows = predictions.read_predictions(predictions.store_engine(dead))
    assert rows.user_id.tolist() == [1, 2] and orjson.loads(rows["items"][0]) == [5, 6]


def test_requests_succeed_and_the_metric_counts_drops_when_the_store_is_down(
    make_client, tmp_path
) -> None:
    (tmp_path / "missing").write_text("a file where the store's directory should be")
    dead = f"sqlite:///{tmp_path / 'missing' / 'store.db'}"
    with make_client(database_url=dead, prediction_log_buffer=2,
                     prediction_log_journal_bytes=0) as client:  # no room to spill either
        statuses = [client.post("/recommendations", json={"users": [1, 2, 3]}).status_code
                    for _ in range(3)]
        text = client.get("/metrics").text
    assert statuses == [200, 200, 200]
    assert "mlwb_prediction_log_dropped_rows_total 9.0" in text


def test_a_dead_store_spills_to_the_journal_and_counts_what_even_that_cannot_hold(
    tmp_path, caplog
) -> None:
    (tmp_path / "not-a-dir").write_text("")
    url = f"sqlite:///{tmp_path / 'not-a-dir' / 'store.db'}"
    journal = tmp_path / "journal"
    # a row takes ~200 bytes: the first 20 rows fit, and after them no response (2 rows)
    # does, however the writer happens to group the rest when it spills
    log = PredictionLog(url, capacity=1_000, flush_seconds=0.05, journal_dir=journal,
                        journal_bytes=4_300)
    log.start()

    def journaled() -> int:  # claimed segments too: a retry of the store claims them a while
        return log.journal.rows()

    def submit_and_wait(first: int, last: int) -> None:
        for start in range(first, last, 2):
            log.submit(served([start, start + 1], request_id=f"r{start}"))
        deadline = time.monotonic() + 10
        while journaled() + log.dropped < last:  # every row journaled or counted
            assert time.monotonic() < deadline, (log.held, log.dropped)
            time.sleep(0.05)

    submit_and_wait(0, 20)
    assert log.dropped == 0
    with caplog.at_level(logging.WARNING, "mlworkbench.serving.prediction_log"):
        submit_and_wait(20, 100)
    kept = journaled()
    assert (kept, log.dropped) == (20, 80)  # every row journaled or counted
    assert "journal full" in caplog.text
    (tmp_path / "not-a-dir").unlink()  # the store comes back: the journal is replayed
    deadline = time.monotonic() + 15
    while list(journal.glob("*.jsonl*")):
        assert time.monotonic() < deadline, "the journal was never replayed"
        time.sleep(0.1)
    log.close()
    rows = predictions.read_predictions(predictions.store_engine(url))
    assert len(rows) == kept and rows.served_at.notna().all()


def test_a_journal_of_many_small_segments_is_replayed_many_to_a_transaction(tmp_path) -> None:
    """Rows a busy service spilled one response at a time (a segment each) go back to the
    store in transactions of up to CHUNK_ROWS rows, in order, and the journal empties."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    log = PredictionLog(url, capacity=1_000, journal_dir=tmp_path / "journal")
    assert log.journal is not None
    responses = CHUNK_ROWS // 4 + 50  # segments of 4 rows: one chunk, and 200 rows more
    for at in range(responses):
        assert log.journal.append(served([4 * at + user for user in range(4)],
                                         request_id=f"r{at:05d}").rows(), CHUNK_ROWS) == 4
    engine = predictions.store_engine(url)
    commits = []
    event.listen(engine, "commit", lambda _connection: commits.append(1))
    try:
        assert log.replay() == 4 * responses
        rows = predictions.read_predictions(engine)
    finally:
        predictions.dispose_engines()
    assert len(commits) == 2
    assert rows["user_id"].tolist() == list(range(4 * responses))
    assert not list((tmp_path / "journal").iterdir())
    assert log.journal.rows() == 0
