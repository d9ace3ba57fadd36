"""A local journal for prediction-log rows the store cannot take now.

Rows go to segment files of JSON lines (at most one chunk each), written to a temporary
name and renamed, so a reader never sees half a segment. Replaying claims a segment by
renaming it (atomic: with several workers only one replays it), writes it, and deletes
it. A segment claimed by a process that died is handed back when the next one starts.
The journal is bounded (``MLWB_PREDICTION_LOG_JOURNAL_BYTES``) and by the disk: rows it
cannot hold are refused, and the caller counts them as dropped.

A directory listing taken while a file in it is renamed may miss that file or show it twice,
so this process's renames (claim, release, remove) and its listings (size, rows) take turns
on one lock: a replay that fails and hands its segments back cannot make the bound
undercount. Another process's renames can still skew one listing; a file that vanishes
while listed is read again.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import orjson

from mlworkbench.data.processes import process_alive

RECOUNT_S = 1.0
_SUFFIX = ".jsonl"
_CLAIMED = ".claimed-"


class Journal:
    """Segments of rows under ``directory``, oldest first."""

    def __init__(self, directory: Path, max_bytes: int,
                 datetime_columns: Iterable[str] = ()) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.datetime_columns = tuple(datetime_columns)
        self._sequence = itertools.count()
        self._used = 0  # bytes, as last counted plus what this process wrote since
        self._lock = threading.Lock()
        self._counted_at = -float("inf")

    def recover(self) -> None:
        """Hand back segments claimed by processes that are gone."""
        if not self.directory.is_dir():
            return
        for path in self.directory.glob(f"*{_SUFFIX}{_CLAIMED}*"):
            pid = path.name.rpartition(_CLAIMED)[2]
            if pid.isdigit() and not process_alive(int(pid)):
                path.rename(path.with_name(path.name.partition(_CLAIMED)[0]))

    def size(self) -> int:
        """Bytes in the journal's files (segments, claimed or not, and temporaries)."""
        with self._lock:
            return self._size()

    def _size(self) -> int:
        return self._listed(lambda path: path.stat().st_size if path.is_file() else 0)

    def rows(self) -> int:
        """Rows waiting in the journal (claimed or not)."""
        with self._lock:
            return self._listed(lambda path: path.read_bytes().count(b"\n")
                                if _SUFFIX in path.name and not path.name.startswith(".")
                                else 0)

    def _listed(self, measure: Callable[[Path], int]) -> int:
        """``measure`` summed over the directory's entries; listed again when a file vanished
        while listed (another process claimed, handed back or replayed it). Hold the lock."""
        for _attempt in range(9):
            if not self.directory.is_dir():
                return 0
            try:
                return sum(measure(path) for path in self.directory.iterdir())
            except FileNotFoundError:
                continue
        return sum(measure(path) for path in self.directory.iterdir())

    def append(self, rows: Sequence[dict], chunk: int) -> int:
        """Write ``rows`` as segments of at most ``chunk``; returns how many were written
        (fewer when the bound or the disk is reached). One append at a time in a process (the
        writer thread and a request that spills share the count)."""
        with self._lock:
            written = 0
            used = self._used_now()
            for start in range(0, len(rows), chunk):
                part = rows[start : start + chunk]
                data = b"\n".join(orjson.dumps(row) for row in part) + b"\n"
                if used + len(data) > self.max_bytes or not self._write(data):
                    break
                used += len(data)
                written += len(part)
            self._used = used
            return written

    def _used_now(self) -> int:
        """The journal's size in bytes, counted on disk at most once per
        :data:`RECOUNT_S` (a request that spills must not stat every segment); between
        counts, what other processes wrote or replayed is not seen, so the bound holds to
        within what they write in that time."""
        now = time.monotonic()
        if now - self._counted_at > RECOUNT_S:
            self._used, self._counted_at = self._size(), now
        return self._used

    def _write(self, data: bytes) -> bool:
        name = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%f}-{os.getpid()}-{next(self._sequence):06d}"
        temporary = self.directory / f".{name}.tmp"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            temporary.write_bytes(data)
            temporary.rename(self.directory / f"{name}{_SUFFIX}")
        except OSError:  # the disk is full or the directory unwritable
            temporary.unlink(missing_ok=True)
            return False
        return True

    def pending(self) -> list[Path]:
        """Unclaimed segments, oldest first."""
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob(f"*{_SUFFIX}"))

    def claim(self, segment: Path) -> Path | None:
        """Take ``segment`` for this process; None when another process took it first."""
        claimed = segment.with_name(f"{segment.name}{_CLAIMED}{os.getpid()}")
        try:
            with self._lock:
                segment.rename(claimed)
        except FileNotFoundError:
            return None
        return claimed

    def release(self, claimed: Path) -> None:
        """Give a claimed segment back (its write failed)."""
        with self._lock:
            claimed.rename(claimed.with_name(claimed.name.partition(_CLAIMED)[0]))

    def remove(self, claimed: Path) -> None:
        """Delete a claimed segment once its rows are written."""
        with self._lock:
            size = claimed.stat().st_size
            claimed.unlink()
            self._used = max(0, self._used - size)

    def read(self, claimed: Path) -> list[dict]:
        rows = [orjson.loads(line) for line in claimed.read_bytes().splitlines() if line]
        for row in rows:
            for column in self.datetime_columns:
                if isinstance(row.get(column), str):
                    row[column] = dt.datetime.fromisoformat(row[column])
        return rows
