"""The model being served, swapped atomically.

A request reads :attr:`ModelHolder.current` once and uses that object to the
end, so a swap (one reference assignment) never changes a model under a
request that is running: in-flight requests finish on the old model, the next
ones get the new. A background thread polls the alias of a ``models:/name@alias``
reference and loads a new version off the request path when the alias moves.

A version that fails to load (a broken artifact, a model of another family, a registry
that is down) never replaces the served one: the failure is kept (:class:`LoadFailure`,
shown by ``/model`` and the metrics), logged once per version, and the poller retries that
version only with a growing delay, while a later version is tried at the next poll.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlflow.tracking import MlflowClient

from mlworkbench.config import Settings
from mlworkbench.errors import DataError, MlwbError
from mlworkbench.serving import reference as refs
from mlworkbench.serving.family import ServedFamily
from mlworkbench.tracking import client as tracking
from mlworkbench.tracking.registry import alias_version

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedModel:
    """One loaded model version and what the service reports about it."""

    model: Any  # the family's own object (a Recommender, a scikit-learn pipeline)
    pyfunc: Any  # the MLflow pyfunc it was loaded from (the scoring protocol calls it)
    reference: refs.Reference
    provenance: refs.Provenance
    family: ServedFamily
    prepared: Any  # the family's per-version pieces (e.g. pre-serialised JSON)
    loaded_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @property
    def name(self) -> str:
        return self.reference.name

    @property
    def version(self) -> int | None:
        return self.reference.version

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Model-Name": self.name, "X-Model-Version": str(self.version or "")}

    @property
    def ref(self) -> dict[str, object]:
        return {"name": self.name, "version": self.version}

    def describe(self) -> dict[str, object]:
        ref = self.reference
        return {
            "name": ref.name, "version": ref.version, "alias": ref.alias, "run_id": ref.run_id,
            "reference": ref.uri, "source": ref.load_uri, "family": self.family.name,
            **self.family.describe(self.model),
            "metrics": self.provenance.metrics, "dataset_digest": self.provenance.dataset_digest,
            "loaded_at": self.loaded_at.isoformat(),
        }


@dataclass(frozen=True)
class LoadFailure:
    """The last load that failed: which version, why, when, and how often in a row."""

    version: int | None
    reference: str
    error: str
    at: dt.datetime
    attempts: int = 1

    def describe(self) -> dict[str, object]:
        return {"version": self.version, "reference": self.reference, "error": self.error,
                "at": self.at.isoformat(), "attempts": self.attempts}


_MAX_RETRY_S = 300.0  # the longest the poller waits before trying a failed version again


def load_model(client: MlflowClient, uri: str, family: ServedFamily) -> LoadedModel:
    """Resolve ``uri`` to one version, load it as ``family``'s and prepare its pieces."""
    return load_resolved(client, refs.resolve(client, uri), family)


def load_resolved(client: MlflowClient, reference: refs.Reference,
                  family: ServedFamily) -> LoadedModel:
    """Load one resolved version; any failure of the artifact becomes a :class:`DataError`."""
    try:
        return _load(client, reference, family)
    except MlwbError:
        raise
    except Exception as exc:  # a broken artifact can fail in any library: never a crash
        raise DataError(f"cannot load {reference.load_uri}: {type(exc).__name__}: {exc}") \
            from exc


def _load(client: MlflowClient, reference: refs.Reference, family: ServedFamily) -> LoadedModel:
    model, pyfunc = family.load(reference.load_uri)
    run_id = getattr(getattr(pyfunc, "metadata", None), "run_id", None)
    reference = refs.registered_as(client, reference, run_id)
    provenance = refs.provenance(client, reference.run_id)
    prepared = family.prepare(model, reference.name, reference.version)
    return LoadedModel(model, pyfunc, reference, provenance, family, prepared)


SwapListener = Callable[[LoadedModel | None, LoadedModel], None]
FailureListener = Callable[[LoadFailure], None]


class ModelHolder:
    """Holds the served model; loads, swaps and (optionally) follows an alias."""

    def __init__(self, uri: str, settings: Settings, family: ServedFamily,
                 on_swap: SwapListener | None = None) -> None:
        self.uri = uri
        self.settings = settings
        self.family = family
        self.current: LoadedModel | None = None
        self.last_failure: LoadFailure | None = None
        self._listeners: list[SwapListener] = [on_swap] if on_swap else []
        self._failure_listeners: list[FailureListener] = []
        self._retry_at: dict[int | None, float] = {}  # failed version -> monotonic retry time
        self._load_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: MlflowClient | None = None

    def add_listener(self, listener: SwapListener) -> None:
        self._listeners.append(listener)

    def add_failure_listener(self, listener: FailureListener) -> None:
        self._failure_listeners.append(listener)

    @property
    def last_error(self) -> str | None:
        return None if self.last_failure is None else self.last_failure.error

    @property
    def client(self) -> MlflowClient:
        """A client for the settings' stores; also points MLflow's loader at them again."""
        self._client = tracking.configure(self.settings)
        return self._client

    def load(self) -> LoadedModel:
        """Load the reference now (re-reading the alias) and swap it in; errors keep the old."""
        with self._load_lock:
            version: int | None = None
            try:
                client = self.client
                reference = refs.resolve(client, self.uri)
                version = reference.version
                model = load_resolved(client, reference, self.family)
            except MlwbError as exc:
                self._failed(version, exc)
                raise
            previous, self.current = self.current, model  # the atomic swap
            self.last_failure = None
            self._retry_at.pop(model.version, None)
        logger.info("serving %s version %s (from %s)", model.name, model.version, self.uri)
        for listener in self._listeners:
            listener(previous, model)
        return model

    def _failed(self, version: int | None, exc: MlwbError) -> None:
        last = self.last_failure
        same = last is not None and last.version == version and last.error == str(exc)
        attempts = last.attempts + 1 if same and last is not None else 1
        failure = LoadFailure(version, self.uri, str(exc), dt.datetime.now(dt.UTC), attempts)
        self.last_failure = failure
        interval = max(self.settings.alias_poll_seconds, 1.0)
        self._retry_at[version] = time.monotonic() + min(interval * 2 ** attempts, _MAX_RETRY_S)
        if attempts == 1:  # once per version and reason; repeats only at debug level
            logger.warning("cannot load %s (version %s), still serving %s: %s", self.uri,
                           version, self._serving(), exc)
        else:
            logger.debug("version %s still fails to load (%d attempts): %s", version, attempts,
                         exc)
        for listener in self._failure_listeners:
            listener(failure)

    def _serving(self) -> str:
        current = self.current
        return "nothing" if current is None else f"{current.name} version {current.version}"

    def alias_moved(self) -> bool:
        """Whether the followed alias now points at another version than the served one."""
        current = self.current
        if current is None:
            return True
        ref = current.reference
        if not ref.follows_alias:
            return False
        return alias_version(self.client, ref.name, ref.alias or "") != ref.version

    def refresh(self) -> bool:
        """Load the new version if the alias moved; True when a swap happened.

        A version that failed before is tried again only once its retry time has come."""
        current = self.current
        if current is not None and not current.reference.follows_alias:
            return False
        if current is None:
            target = None
        else:
            ref = current.reference
            target = alias_version(self.client, ref.name, ref.alias or "")
            if target == ref.version:
                return False
        if time.monotonic() < self._retry_at.get(target, 0.0):
            return False
        self.load()
        return True

    # -- polling ------------------------------------------------------------------------------
    def start_polling(self) -> None:
        interval = self.settings.alias_poll_seconds
        if interval <= 0 or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._poll, args=(interval,),
                                        name="mlwb-alias-poller", daemon=True)
        self._thread.start()

    def stop_polling(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _poll(self, interval: float) -> None:
        reported: str | None = None
        while not self._stop.wait(interval):
            try:
                self.refresh()
                reported = None
            except MlwbError as exc:  # the registry is down or the new version is broken
                failure = self.last_failure
                logged = failure is not None and failure.error == str(exc)  # by _failed
                if str(exc) != reported and not logged:
                    logger.warning("alias check failed, still serving %s: %s", self._serving(),
                                   exc)
                reported = str(exc)
            except Exception:  # never let the poller die silently
                logger.exception("alias check crashed; still serving the loaded model")
