"""What was served goes to the data store, written by one background thread in chunks.

Every family logs through this one writer, to its own table (the family makes the rows).

``submit`` only appends to an in-memory buffer (no I/O, no serialisation), so a request
never waits on, or fails because of, the store. The writer sends what is held in chunks
(``CHUNK_ROWS`` rows, one transaction each), every store call bounded by a timeout: a store
that refuses or hangs is noticed within seconds. While it is out, held rows are spilled to
a local journal (:class:`~mlworkbench.serving.journal.Journal`) and the store is retried
every few seconds (backoff at most ``MAX_BACKOFF_S``); once it answers, the journal is
replayed chunk by chunk. Rows are dropped (counted, a metric, and logged) only when the
memory buffer is full and the journal cannot take them (its bound or the disk), or, without
a journal, when the buffer is full. ``close`` writes what is held, or journals it.

Delivery is at least once: a chunk whose write timed out is kept until its outcome is
known; one still unknown at shutdown is journaled and may be written twice.
"""

from __future__ import annotations

import collections
import concurrent.futures as futures
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from mlworkbench.data import predictions
from mlworkbench.data.columns import Columns
from mlworkbench.errors import DataError, MlwbError
from mlworkbench.serving.journal import Journal

logger = logging.getLogger(__name__)

MAX_BACKOFF_S = 5.0
CHUNK_ROWS = 5_000
SHUTDOWN_REPLAY_S = 5.0  # the last round before shutdown replays this long at most
ROUND_S = 1.0  # a round replays this long at most, then writes what memory holds


class Entry(Protocol):
    """One response as a family logs it: its row count, and the rows for its table. A family
    may also give ``columns_of(entries)`` (a static method): the rows of many of its
    responses at once as :class:`Columns`, which the writer prefers (one pass per flush,
    no dict per row)."""

    @property
    def size(self) -> int: ...

    def rows(self) -> list[dict]: ...


def columns_of(entries: list[Entry]) -> Columns:
    """The rows of ``entries`` in order; runs of one kind that can, build theirs together."""
    parts: list[Columns] = []
    for kind, run in itertools.groupby(entries, key=type):
        together = getattr(kind, "columns_of", None)
        if together is not None:
            parts.append(together(list(run)))
        else:
            parts.append(Columns.of_rows([row for entry in run for row in entry.rows()]))
    return Columns.joined(parts)


def response_columns(entries: Sequence[Any], role: str) -> dict[str, list[Any]]:
    """The columns every prediction-log row starts with (which response, when, which model,
    its role, its source), each response's values repeated for each of its rows. A family's
    ``columns_of`` adds its own columns after these."""
    columns: dict[str, list[Any]] = {name: [] for name in (
        "request_id", "served_at", "model_name", "model_version", "role", "source")}
    for entry in entries:
        size = entry.size
        columns["request_id"] += [entry.request_id] * size
        columns["served_at"] += [entry.served_at] * size
        columns["model_name"] += [entry.model_name] * size
        columns["model_version"] += [entry.model_version] * size
        columns["role"] += [role] * size
        columns["source"] += [entry.source] * size
    return columns


@dataclass(frozen=True)
class _Held:
    """Rows put back in the buffer after a failed write."""

    held: Columns

    @property
    def size(self) -> int:
        return len(self.held)

    def rows(self) -> list[dict]:
        return self.held.rows()

    @staticmethod
    def columns_of(entries: list[_Held]) -> Columns:
        return Columns.joined([entry.held for entry in entries])


@dataclass
class _InFlight:
    """A write that outlived its timeout: its rows (or journal segments) wait for its outcome."""

    future: futures.Future
    rows: Columns
    segments: tuple[Path, ...]


class StoreDownError(DataError):
    """The store refused a write or did not answer in time."""


class PredictionLog:
    """A bounded buffer of served responses and the thread that writes them."""

    def __init__(
        self,
        database_url: str,
        capacity: int,
        flush_seconds: float = 1.0,
        on_drop: Callable[[int], None] | None = None,
        table: str = "prediction_log",
        journal_dir: Path | None = None,
        journal_bytes: int = 1 << 30,
        timeout: float = 5.0,
    ) -> None:
        self.database_url = database_url
        self.table = table
        self.capacity = capacity
        self.flush_seconds = flush_seconds
        self.timeout = timeout
        self.dropped = 0
        self.written = 0
        self.journal = None if journal_dir is None else Journal(
            journal_dir, journal_bytes, predictions.datetime_columns(table))
        self._on_drop = on_drop or (lambda _n: None)
        self._buffer: collections.deque[Entry] = collections.deque()
        self._held = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()  # stop, or a write that had timed out has finished
        self._thread: threading.Thread | None = None
        self._store = futures.ThreadPoolExecutor(1, thread_name_prefix="mlwb-prediction-store")
        self._in_flight: _InFlight | None = None
        self._last_drop_log = 0.0
        self._last_error = ""
        self._backlog = False  # the last replay stopped at its deadline

    @property
    def held(self) -> int:
        """Rows waiting in memory to be written."""
        return self._held

    def submit(self, served: Entry) -> None:
        """Queue one response's rows. When the buffer is full (the store is out and the writer
        has not spilled yet) they go straight to the journal; only what even the journal
        cannot take is dropped (and counted)."""
        rows = served.size
        with self._lock:
            if self._held + rows <= self.capacity:
                self._buffer.append(served)
                self._held += rows
                return
        kept = 0 if self.journal is None else self.journal.append(served.rows(), CHUNK_ROWS)
        if kept < rows:
            self._drop(rows - kept, f"prediction log buffer full ({self.capacity} rows)")

    def _drop(self, rows: int, why: str) -> None:
        with self._lock:
            self.dropped += rows
        self._on_drop(rows)
        now = time.monotonic()
        if now - self._last_drop_log > 5.0:  # one line per 5 s, with the running total
            self._last_drop_log = now
            logger.warning("%s: dropped %d rows so far", why, self.dropped)

    def start(self) -> None:
        if self._thread is None:
            if self.journal is not None:
                self.journal.recover()
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="mlwb-prediction-log",
                                            daemon=True)
            self._thread.start()

    def close(self, timeout: float = 10.0) -> None:
        """Stop the writer after one last flush; what the store cannot take is journaled."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        in_flight, self._in_flight = self._in_flight, None
        if in_flight is not None and not in_flight.segments and not in_flight.future.done():
            self._put_back(in_flight.rows)  # outcome unknown: journaled, may be written twice
        if self._held:
            self._spill()
        if self._held:
            logger.warning("prediction log: %d rows could not be written before shutdown",
                           self._held)
        self._store.shutdown(wait=False, cancel_futures=True)

    # -- writing ------------------------------------------------------------------------------
    def _call(self, rows: Columns, segments: tuple[Path, ...] = ()) -> None:
        """One bounded write: StoreDownError when the store fails or outlives the timeout."""
        future = self._store.submit(self._append, rows)
        try:
            future.result(self.timeout)
        except futures.TimeoutError:
            self._in_flight = _InFlight(future, rows, segments)
            future.add_done_callback(lambda _future: self._wake.set())  # the store is back
            raise StoreDownError(f"the data store did not answer within {self.timeout:g} s") \
                from None
        except MlwbError as exc:
            raise StoreDownError(str(exc)) from exc
        self.written += len(rows)

    def _append(self, rows: Columns) -> None:
        predictions.append_predictions(predictions.store_engine(self.database_url), rows,
                                       self.table)

    def _put_back(self, rows: Columns) -> None:
        if len(rows):
            with self._lock:  # in front, in order; they count as held again
                self._buffer.appendleft(_Held(rows))
                self._held += len(rows)

    def flush(self) -> int:
        """Write everything held now, in chunks; returns rows written. If the store fails, the
        rows not written go back to the buffer and :class:`StoreDownError` is raised."""
        with self._lock:
            batch = list(self._buffer)
            self._buffer.clear()
            self._held = 0
        rows = columns_of(batch)
        for start in range(0, len(rows), CHUNK_ROWS):
            chunk = rows.slice(start, start + CHUNK_ROWS)
            try:
                self._call(chunk)
            except StoreDownError:
                pending = self._in_flight is not None and self._in_flight.rows is chunk
                self._put_back(rows.slice(start + len(chunk) if pending else start, len(rows)))
                raise
        return len(rows)

    def replay(self, deadline: float = float("inf")) -> int:
        """Write the journal's segments, oldest first, up to ``CHUNK_ROWS`` rows (and at
        least one segment) per transaction; returns rows. Stops at ``deadline`` (monotonic);
        the rest waits for the next round (or start)."""
        if self.journal is None:
            return 0
        total = 0
        self._backlog = False
        pending = iter(self.journal.pending())
        while True:
            if time.monotonic() > deadline:
                self._backlog = next(pending, None) is not None
                return total
            claimed, parts = self._claim_chunk(pending)
            if not claimed:
                return total
            rows = Columns.joined(parts)
            try:
                self._call(rows, claimed)
            except StoreDownError:
                if self._in_flight is None or self._in_flight.segments is not claimed:
                    for segment in claimed:
                        self.journal.release(segment)
                raise
            for segment in claimed:
                self.journal.remove(segment)
            total += len(rows)

    def _claim_chunk(self, pending: Iterator[Path]) -> tuple[tuple[Path, ...], list[Columns]]:
        """Claim the next segments, until they hold ``CHUNK_ROWS`` rows (or there are no
        more, or the next has other columns); their rows as read. A segment another worker
        claimed first is passed over."""
        assert self.journal is not None
        claimed: list[Path] = []
        parts: list[Columns] = []
        held = 0
        while held < CHUNK_ROWS:
            segment = next(pending, None)
            if segment is None:
                break
            mine = self.journal.claim(segment)
            if mine is None:
                continue  # another worker replays it
            rows = Columns.of_rows(self.journal.read(mine))
            if parts and set(rows.names) != set(parts[0].names):
                self.journal.release(mine)  # written by another version: its own chunk next
                break
            claimed.append(mine)
            parts.append(rows)
            held += len(rows)
        return tuple(claimed), parts

    def _spill(self) -> None:
        """Move what memory holds to the journal (or keep it in memory without one)."""
        if self.journal is None:
            return
        with self._lock:
            batch = list(self._buffer)
            self._buffer.clear()
            self._held = 0
        rows = columns_of(batch).rows()
        kept = self.journal.append(rows, CHUNK_ROWS)
        if kept < len(rows):
            self._drop(len(rows) - kept, f"prediction log journal full ({self.journal.directory})")

    def _settled(self) -> bool:
        """Whether no timed-out write is still pending (and its outcome has been handled)."""
        in_flight = self._in_flight
        if in_flight is None:
            return True
        if not in_flight.future.done():
            return False
        self._in_flight = None
        failed = in_flight.future.exception() is not None
        if in_flight.segments:
            for segment in in_flight.segments:
                if failed:
                    self.journal.release(segment)  # type: ignore[union-attr]
                else:
                    self.journal.remove(segment)  # type: ignore[union-attr]
        elif failed:
            self._put_back(in_flight.rows)
        if not failed:
            self.written += len(in_flight.rows)
        return True

    def _cycle(self, deadline: float = float("inf")) -> bool:
        """One round of the writer: True when the store took everything it was given."""
        try:
            if not self._settled():
                raise StoreDownError("the data store still hangs on an earlier write")
            self.flush()
            self.replay(deadline)
            return True
        except StoreDownError as exc:
            self._spill()
            self._last_error = str(exc)
            return False

    def _run(self) -> None:
        """Every ``flush_seconds``: write what is held; while the store fails, spill it to the
        journal at that pace and retry the store after 0.5, 1, 2, 4, 5, 5… s (or as soon as
        a write that had hung returns)."""
        backoff, retry_at, failing = 0.0, 0.0, False
        while True:
            self._wake.wait(0.0 if self._backlog and not failing else self.flush_seconds)
            woken = self._wake.is_set()
            self._wake.clear()
            stopping = self._stop.is_set()
            if failing and not (stopping or woken) and time.monotonic() < retry_at:
                self._spill()  # memory stays small while the store is out
                continue
            try:  # a round replays for a second at most; the last one for a few seconds
                ok = self._cycle(time.monotonic() + (SHUTDOWN_REPLAY_S if stopping else ROUND_S))
            except Exception:  # never let the writer die; rows stay buffered
                logger.exception("prediction log writer failed; rows stay buffered")
                ok = False
            if ok:
                if failing:
                    logger.warning("prediction log: the store is back; %d rows written so far",
                                   self.written)
                failing, backoff = False, 0.0
            else:
                if not failing:
                    logger.warning("prediction log: store unavailable, rows go to the journal;"
                                   " retrying every %.0f s at most: %s", MAX_BACKOFF_S,
                                   self._last_error)
                failing, backoff = True, min(max(backoff * 2, 0.5), MAX_BACKOFF_S)
                retry_at = time.monotonic() + backoff
            if stopping:
                return
