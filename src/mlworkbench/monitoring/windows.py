"""Monitoring windows: the champion's reference and a current window, read from the store.

The reference is what a model version was trained on: its MLflow run's ``data.snapshot``
tag (a named snapshot) or ``data.batches`` (the batch ids, ``1-40,43``). A current window
is a set of production batches (ids, the last N, or those that arrived in a time range)
and, for the served side, a time range of the prediction log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
import sqlalchemy as sa
from mlflow.tracking import MlflowClient

from mlworkbench.config import CHAMPION_ALIAS, Settings
from mlworkbench.data import windows as store_windows
from mlworkbench.errors import DataError
from mlworkbench.tracking import client as tracking
from mlworkbench.tracking import registry


@dataclass(frozen=True)
class Champion:
    client: MlflowClient
    name: str
    version: int
    training_run: str  # the run whose data tags name the reference

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


def champion(settings: Settings, name: str) -> Champion:
    """The champion version of ``name`` and the run it was trained in."""
    client = tracking.configure(settings)
    version = registry.alias_version(client, name, CHAMPION_ALIAS)
    if version is None:
        raise DataError(f"model {name!r} has no {CHAMPION_ALIAS}: train one first")
    with tracking.translated(f"read version {version} of {name!r}"):
        training_run = client.get_model_version(name, str(version)).run_id
    return Champion(client, name, version, training_run)


@dataclass(frozen=True)
class CurrentWindow:
    """Which production batches (and served rows) make the current window."""

    batch_ids: tuple[int, ...] | None = None
    last: int | None = None  # the newest N production batches
    since: datetime | None = None
    until: datetime | None = None

    def describe(self) -> str:
        parts = []
        if self.batch_ids:
            parts.append("batches " + ",".join(map(str, self.batch_ids)))
        if self.last:
            parts.append(f"last {self.last} batches")
        if self.since or self.until:
            parts.append(f"{self.since or '...'} to {self.until or 'now'}")
        return "; ".join(parts) or "every production batch"


def reference_batch_ids(client: MlflowClient, engine: sa.Engine, run_id: str) -> tuple[int, ...]:
    """The batch ids a training run read, from its data.* tags."""
    with tracking.translated(f"read training run {run_id}"):
        tags = client.get_run(run_id).data.tags
    snapshot, label = tags.get("data.snapshot"), tags.get("data.batches")
    if snapshot and snapshot != "latest":
        return store_windows.snapshot_batch_ids(engine, snapshot)
    if not label:
        raise DataError(f"training run {run_id} names no data batches (no data.batches tag): "
                        "it was trained outside the data store; retrain it from the store")
    return store_windows.parse_batch_label(label)


def production_batch_ids(engine: sa.Engine, window: CurrentWindow,
                         kind: str) -> tuple[int, ...]:
    """The ids of the window's production batches of ``kind``; none is no error here."""
    found = store_windows.find_batches(
        engine, kind, stage="production", ids=window.batch_ids, since=window.since,
        until=window.until, last=window.last)
    return tuple(batch.id for batch in found)


def current_batch_ids(engine: sa.Engine, window: CurrentWindow, kind: str) -> tuple[int, ...]:
    """The ids of the window's production batches of ``kind``; a DataError when there are
    none."""
    found = production_batch_ids(engine, window, kind)
    if not found:
        raise DataError(f"the current window ({window.describe()}) holds no production "
                        f"{kind} batches: ingest some or choose other batches")
    return found


def read_interactions(engine: sa.Engine, batch_ids: tuple[int, ...]) -> pd.DataFrame:
    """The window's interactions (with their batch_id), read in chunks and kept compact."""
    parts = list(store_windows.iter_interactions(engine, batch_ids))
    if not parts:
        raise DataError(f"batches {batch_ids[:5]}... hold no interactions")
    return pd.concat(parts, ignore_index=True)
