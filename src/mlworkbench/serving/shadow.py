"""Shadow scoring: the challenger also answers a share of live requests, off the response path.

While ``models:/NAME@challenger`` exists (and is not the served champion) and
``MLWB_SHADOW_SHARE`` is above 0, the service keeps that version loaded beside the champion.
A route that answered a request hands its inputs to :meth:`ShadowScorer.offer`; for the
sampled share (a hash of the request id, so the same request is always in or out and the
share holds over many requests) the inputs go to a bounded queue and return at once. One
background thread scores them with the challenger and writes the rows through the same
prediction log, with the challenger's version and role ``shadow``, so monitoring can compare
both versions on the very same requests.

Nothing here can touch an answer: the response is built before ``offer`` is called; a full
queue drops the request (counted); a challenger that fails to load or raises while scoring
is counted and logged, and the champion goes on alone. The challenger follows its alias on
the holder's poll interval: it is loaded when the alias appears or moves, unloaded when it
disappears or comes to point at the champion.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge

from mlworkbench.config import CHALLENGER_ALIAS, Settings
from mlworkbench.data.columns import Columns
from mlworkbench.errors import MlwbError
from mlworkbench.serving import reference as refs
from mlworkbench.serving.model_holder import LoadedModel, ModelHolder, load_resolved
from mlworkbench.serving.prediction_log import Entry, PredictionLog, columns_of
from mlworkbench.tracking.registry import alias_version

logger = logging.getLogger(__name__)

ROLE = "shadow"
_SCALE = float(1 << 64)
_MAX_RETRY_S = 300.0  # the longest a challenger that failed to load waits for its next try

Job = Callable[..., Entry]  # (challenger, request_id, *inputs) -> the rows it would have logged


def sampled(key: str, share: float) -> bool:
    """Whether ``key`` (a request id) falls in the first ``share`` of the hash space."""
    if share <= 0.0:
        return False
    if share >= 1.0:
        return True
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE < share


@dataclass(frozen=True)
class Shadowed:
    """A family's log entry, scored by the challenger: every row carries role ``shadow``.

    (A family's rows name their role too, ``champion``: one insert takes the rows of many
    responses, and they must all have the same columns.)"""

    entry: Entry

    @property
    def size(self) -> int:
        return self.entry.size

    def rows(self) -> list[dict]:
        return Shadowed.columns_of([self]).rows()

    @staticmethod
    def columns_of(entries: list[Shadowed]) -> Columns:
        scored = columns_of([entry.entry for entry in entries])
        return Columns({**scored.values, "role": [ROLE] * len(scored)})


class _Metrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter("mlwb_shadow_requests",
                                "Sampled requests for shadow scoring, by outcome "
                                "(scored, failed, dropped: queue full, skipped: no challenger)",
                                ["outcome"], registry=registry)
        self.version = Gauge("mlwb_shadow_model_version",
                             "Version of the challenger scoring in shadow (0: none)",
                             registry=registry, multiprocess_mode="liveall")
        self.load_failures = Counter("mlwb_shadow_load_failures",
                                     "Loads of a challenger version that failed", registry=registry)


class ShadowScorer:
    """The challenger beside the champion, its queue and the thread that scores it."""

    def __init__(self, holder: ModelHolder, settings: Settings, log: PredictionLog,
                 registry: CollectorRegistry) -> None:
        self.holder = holder
        self.share = settings.shadow_share
        self.poll_seconds = settings.alias_poll_seconds
        self.log = log
        self.challenger: LoadedModel | None = None
        self.last_error: str | None = None
        self.counts = {"offered": 0, "scored": 0, "failed": 0, "dropped": 0, "skipped": 0}
        self._metrics = _Metrics(registry)
        self._queue: queue.Queue[tuple[str, Job, tuple[Any, ...]] | None] = queue.Queue(
            settings.shadow_queue)
        self._retry_at: dict[int, float] = {}
        self._failed_loads: dict[int, int] = {}
        self._refresh_lock = threading.Lock()
        self._counts_lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._last_warning = 0.0

    @property
    def enabled(self) -> bool:
        return self.share > 0.0

    # -- the response path: one check, at most a non-blocking put ---------------------------
    def offer(self, request_id: str, job: Job, *inputs: Any) -> None:
        """Queue ``job(challenger, request_id, *inputs)`` if a challenger is loaded and the
        request is sampled; never blocks, never raises."""
        if self.challenger is None or not sampled(request_id, self.share):
            return
        self._count("offered")
        try:
            self._queue.put_nowait((request_id, job, inputs))
        except queue.Full:
            self._count("dropped")

    def _count(self, outcome: str) -> None:
        with self._counts_lock:
            self.counts[outcome] += 1
        if outcome != "offered":
            self._metrics.requests.labels(outcome).inc()

    # -- the worker ---------------------------------------------------------------------------
    def _work(self) -> None:
        while not self._stop.is_set():
            item = self._queue.get()
            if item is None:
                return
            challenger = self.challenger
            if challenger is None:
                self._count("skipped")
                continue
            request_id, job, inputs = item
            try:
                entry = job(challenger, request_id, *inputs)
                self.log.submit(Shadowed(entry))
            except Exception as exc:  # a broken challenger never reaches the champion's path
                self.last_error = f"version {challenger.version}: {type(exc).__name__}: {exc}"
                self._count("failed")
                self._warn("shadow scoring failed (%d so far): %s", self.counts["failed"],
                           self.last_error)
            else:
                self._count("scored")

    def _warn(self, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._last_warning > 5.0:  # one line per 5 s at most
            self._last_warning = now
            logger.warning(message, *args)

    # -- following the challenger alias ------------------------------------------------------
    def refresh(self) -> LoadedModel | None:
        """Load, swap or unload the challenger as its alias now says; returns it."""
        with self._refresh_lock:
            champion = self.holder.current
            target: int | None = None
            if self.enabled and champion is not None and champion.version is not None:
                target = alias_version(self.holder.client, champion.name, CHALLENGER_ALIAS)
                if target == champion.version:
                    target = None  # promoted: nothing left to compare
            current = self.challenger
            if target is None:
                if current is not None:
                    self._set(None)
                    logger.info("shadow scoring stopped: %s has no challenger apart from the "
                                "champion", current.name)
                return None
            assert champion is not None
            if current is not None and (current.name, current.version) == (champion.name,
                                                                           target):
                return current
            if time.monotonic() < self._retry_at.get(target, 0.0):
                return current
            uri = f"models:/{champion.name}@{CHALLENGER_ALIAS}"
            try:
                client = self.holder.client
                loaded = load_resolved(client, refs.resolve(client, uri), self.holder.family)
            except MlwbError as exc:
                self._load_failed(target, uri, exc)
                return current
            self._set(loaded)
            self._failed_loads.pop(target, None)
            self._retry_at.pop(target, None)
            logger.info("shadow scoring %.0f%% of requests with %s version %s", self.share * 100,
                        loaded.name, loaded.version)
            return loaded

    def _set(self, challenger: LoadedModel | None) -> None:
        self.challenger = challenger
        self._metrics.version.set(0 if challenger is None else challenger.version or 0)

    def _load_failed(self, version: int, uri: str, exc: MlwbError) -> None:
        attempts = self._failed_loads.get(version, 0) + 1
        self._failed_loads[version] = attempts
        interval = max(self.poll_seconds, 1.0)
        self._retry_at[version] = time.monotonic() + min(interval * 2 ** attempts, _MAX_RETRY_S)
        self.last_error = f"cannot load version {version}: {exc}"
        self._metrics.load_failures.inc()
        if attempts == 1:
            logger.warning("cannot load the challenger %s (version %s); the champion serves "
                           "alone: %s", uri, version, exc)

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.refresh()
            except MlwbError as exc:  # the registry is out: keep what is loaded
                self._warn("challenger alias check failed: %s", exc)
            except Exception:
                logger.exception("challenger alias check crashed; shadow scoring goes on")

    # -- life cycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Load the challenger (if any) and start the worker and the alias poller."""
        if not self.enabled or self._threads:
            return
        self._stop.clear()
        try:
            self.refresh()
        except MlwbError as exc:
            logger.warning("challenger alias check failed; will retry: %s", exc)
        self._threads = [threading.Thread(target=self._work, name="mlwb-shadow", daemon=True)]
        if self.poll_seconds > 0:
            self._threads.append(threading.Thread(target=self._poll, name="mlwb-shadow-poller",
                                                  daemon=True))
        for thread in self._threads:
            thread.start()

    def close(self, timeout: float = 5.0) -> None:
        """Stop scoring; requests still queued are let go."""
        self._stop.set()
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []

    def settled(self) -> bool:
        """Whether every sampled request has an outcome (none queued or being scored)."""
        with self._counts_lock:
            counts = dict(self.counts)
        return counts["offered"] == sum(counts[o] for o in ("scored", "failed", "dropped",
                                                               "skipped"))

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until :meth:`settled` (tests, benchmarks); False if ``timeout`` came first."""
        deadline = time.monotonic() + timeout
        while not self.settled():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def describe(self) -> dict[str, object]:
        """What ``/model`` shows: the share, the challenger, the counters, the last error."""
        challenger = self.challenger
        return {"share": self.share,
                "model": None if challenger is None else {
                    **challenger.ref, "run_id": challenger.reference.run_id,
                    "loaded_at": challenger.loaded_at.isoformat()},
                "queued": self._queue.qsize(), "requests": dict(self.counts),
                "last_error": self.last_error}
