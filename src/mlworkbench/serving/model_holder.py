"""The model being served, swapped atomically.

A request reads :attr:`ModelHolder.current` once and uses that object to the
end, so a swap (one reference assignment) never changes a model under a
request that is running: in-flight requests finish on the old model, the next
ones get the new. A background thread polls the alias of a ``models:/name@alias``
reference and loads a new version off the request path when the alias moves.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlflow.tracking import MlflowClient

from mlworkbench.config import Settings
from mlworkbench.errors import MlwbError
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


def load_model(client: MlflowClient, uri: str, family: ServedFamily) -> LoadedModel:
    """Resolve ``uri`` to one version, load it as ``family``'s and prepare its pieces."""
    reference = refs.resolve(client, uri)
    model, pyfunc = family.load(reference.load_uri)
    run_id = getattr(getattr(pyfunc, "metadata", None), "run_id", None)
    reference = refs.registered_as(client, reference, run_id)
    provenance = refs.provenance(client, reference.run_id)
    prepared = family.prepare(model, reference.name, reference.version)
    return LoadedModel(model, pyfunc, reference, provenance, family, prepared)


SwapListener = Callable[[LoadedModel | None, LoadedModel], None]


class ModelHolder:
    """Holds the served model; loads, swaps and (optionally) follows an alias."""

    def __init__(self, uri: str, settings: Settings, family: ServedFamily,
                 on_swap: SwapListener | None = None) -> None:
        self.uri = uri
        self.settings = settings
        self.family = family
        self.current: LoadedModel | None = None
        self.last_error: str | None = None
        self._listeners: list[SwapListener] = [on_swap] if on_swap else []
        self._load_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: MlflowClient | None = None

    def add_listener(self, listener: SwapListener) -> None:
        self._listeners.append(listener)

    @property
    def client(self) -> MlflowClient:
        """A client for the settings' stores; also points MLflow's loader at them again."""
        self._client = tracking.configure(self.settings)
        return self._client

    def load(self) -> LoadedModel:
        """Load the reference now (re-reading the alias) and swap it in; errors keep the old."""
        with self._load_lock:
            try:
                model = load_model(self.client, self.uri, self.family)
            except MlwbError as exc:
                self.last_error = str(exc)
                raise
            previous, self.current = self.current, model  # the atomic swap
            self.last_error = None
        logger.info("serving %s version %s (from %s)", model.name, model.version, self.uri)
        for listener in self._listeners:
            listener(previous, model)
        return model

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
        """Load the new version if the alias moved; True when a swap happened."""
        if not self.alias_moved():
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
        while not self._stop.wait(interval):
            try:
                self.refresh()
            except MlwbError as exc:  # the registry is down or the new version is broken
                self.last_error = str(exc)
                logger.warning("alias check failed, still serving the loaded model: %s", exc)
            except Exception:  # never let the poller die silently
                logger.exception("alias check crashed; still serving the loaded model")
