"""What was served goes to the data store, written by one background thread in batches.

Every family logs through this one writer, to its own table (the family makes the rows).

``submit`` only appends to an in-memory buffer (no I/O, no serialisation), so
a request never waits on, or fails because of, the store. When the store is
down, rows wait in the buffer; when the buffer is full, new rows are dropped,
counted (a metric) and logged — never silently. ``close`` flushes what is held.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from mlworkbench.data import predictions
from mlworkbench.errors import MlwbError

logger = logging.getLogger(__name__)

_MAX_BACKOFF_S = 30.0


class Entry(Protocol):
    """One response as a family logs it: its row count, and the rows for its table."""

    @property
    def size(self) -> int: ...

    def rows(self) -> list[dict]: ...


class PredictionLog:
    """A bounded buffer of served responses and the thread that writes them."""

    def __init__(
        self,
        database_url: str,
        capacity: int,
        flush_seconds: float = 1.0,
        on_drop: Callable[[int], None] | None = None,
        table: str = "prediction_log",
    ) -> None:
        self.database_url = database_url
        self.table = table
        self.capacity = capacity
        self.flush_seconds = flush_seconds
        self.dropped = 0
        self.written = 0
        self._on_drop = on_drop or (lambda _n: None)
        self._buffer: collections.deque[Entry] = collections.deque()
        self._held = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_drop_log = 0.0

    @property
    def held(self) -> int:
        """Rows waiting to be written."""
        return self._held

    def submit(self, served: Entry) -> None:
        """Queue one response's rows; drops (and counts) them when the buffer is full."""
        rows = served.size
        with self._lock:
            if self._held + rows <= self.capacity:
                self._buffer.append(served)
                self._held += rows
                return
            self.dropped += rows
        self._on_drop(rows)
        now = time.monotonic()
        if now - self._last_drop_log > 5.0:  # one line per 5 s, with the running total
            self._last_drop_log = now
            logger.warning("prediction log buffer full (%d rows): dropped %d rows so far",
                           self.capacity, self.dropped)

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="mlwb-prediction-log",
                                            daemon=True)
            self._thread.start()

    def close(self, timeout: float = 10.0) -> None:
        """Stop the writer after one last flush of what the buffer holds."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._held:
            logger.warning("prediction log: %d rows could not be written before shutdown",
                           self._held)

    def flush(self) -> int:
        """Write everything held now; returns rows written (0, rows kept, if the store fails)."""
        with self._lock:
            batch = list(self._buffer)
            self._buffer.clear()
        if not batch:
            return 0
        rows = [row for served in batch for row in served.rows()]
        try:
            predictions.append_predictions(predictions.store_engine(self.database_url), rows,
                                           self.table)
        except MlwbError:
            with self._lock:  # put them back in front, in order; they still count as held
                self._buffer.extendleft(reversed(batch))
            raise
        with self._lock:
            self._held -= len(rows)
        self.written += len(rows)
        return len(rows)

    def _run(self) -> None:
        backoff = self.flush_seconds
        while True:
            stopping = self._stop.wait(backoff)
            try:
                self.flush()
                backoff = self.flush_seconds
            except MlwbError as exc:
                backoff = min(backoff * 2, _MAX_BACKOFF_S)
                logger.warning("prediction log: store unavailable, %d rows held, retry in %.0f s:"
                               " %s", self._held, backoff, exc)
            except Exception:
                logger.exception("prediction log writer failed; rows stay buffered")
            if stopping:
                return
