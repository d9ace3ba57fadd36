"""The data store: ingest batches with validation and quarantine, and snapshots to train on.

One class over SQLAlchemy, the same on SQLite (embedded default) and PostgreSQL
(``MLWB_DATABASE_URL``). Every ingest is one transaction: the batch record, its accepted
rows and its quarantined rows are written together or not at all, under the store's write
lock (``engine.writing``). An interaction the store holds already, from any batch, is
quarantined (``data/duplicates.py``). Content seen before (same kind, same digest) is
skipped unless forced. A snapshot is a set of batch ids; its digest is that of the rows it
yields, read back in insertion order.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import sqlalchemy as sa

from mlworkbench.data import batches as batch_writing
from mlworkbench.data import migrations, schema
from mlworkbench.data import tables as t
from mlworkbench.data.batches import Batch
from mlworkbench.data.datasets import (
    ITEM_COLUMNS,
    PASSENGER_COLUMNS,
    RATING_COLUMNS,
    Interactions,
    Passengers,
    frame_digest,
)
from mlworkbench.data.engine import create_engine, engine_url, safe_url, translated, writing
from mlworkbench.errors import DataError

logger = logging.getLogger(__name__)
TRAINING_STAGES = ("training", "production")  # what "the latest validated data" is made of


@dataclass(frozen=True, kw_only=True)
class _Origin:
    """Where a training frame read from the store came from: its batches and schema."""

    batch_ids: tuple[int, ...] = ()
    schema_version: str = schema.SCHEMA_VERSION
    snapshot: str | None = None  # the snapshot's name; None: the latest validated data

    @property
    def batch_label(self) -> str:
        return batch_label(self.batch_ids)

    def tags(self) -> dict[str, str]:
        return snapshot_tags(self)


@dataclass(frozen=True)
class Snapshot(_Origin, Interactions):
    """Interactions read from the store, naming the batches and schema they came from."""

    def summary(self) -> str:
        return f"{len(self.ratings):,} ratings"


@dataclass(frozen=True)
class PassengerSnapshot(_Origin, Passengers):
    """Labelled passengers read from the store, naming their batches and schema."""

    def summary(self) -> str:
        return f"{len(self.passengers):,} labelled passengers"


def batch_label(batch_ids: tuple[int, ...]) -> str:
    """Batch ids as compact ranges (``1-40,43``), short enough for an MLflow tag."""
    spans: list[list[int]] = []
    for batch_id in sorted(batch_ids):
        if spans and batch_id == spans[-1][1] + 1:
            spans[-1][1] = batch_id
        else:
            spans.append([batch_id, batch_id])
    label = ",".join(f"{a}-{b}" if b > a else str(a) for a, b in spans)
    return label if len(label) <= 480 else f"{label[:460]}... ({len(batch_ids)} batches)"


def snapshot_tags(data: _Origin) -> dict[str, str]:
    """What names the data a run saw: schema version, snapshot and batches (run tags data.*)."""
    return {"schema_version": data.schema_version, "snapshot": data.snapshot or "latest",
            "batches": data.batch_label}


class Store:
    """A data store at ``url``; its tables are migrated to the latest version on open."""

    def __init__(self, url: str) -> None:
        self.url = engine_url(url)
        with translated(f"open the data store {safe_url(self.url)}"):
            self.engine = create_engine(self.url)
            migrations.migrate(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- ingest -----------------------------------------------------------------------------

    def known_items(self) -> np.ndarray:
        with translated("read the item ids"), self.engine.connect() as connection:
            rows = connection.execute(sa.select(t.items.c.item_id)).scalars().all()
        return np.asarray(rows, dtype="int64")

    def find_batch(self, kind: str, digest: str) -> Batch | None:
        query = (sa.select(t.ingest_batches)
                 .where(t.ingest_batches.c.kind == kind, t.ingest_batches.c.digest == digest)
                 .order_by(t.ingest_batches.c.id.desc()).limit(1))
        with translated("look up earlier batches"), self.engine.connect() as connection:
            row = connection.execute(query).mappings().first()
        return Batch(**row, skipped=True) if row else None

    def ingest(self, kind: str, raw: pd.DataFrame, source: str, stage: str = "training",
               force: bool = False) -> Batch:
        """Validate ``raw`` (conformed columns) and write it as one batch, atomically."""
        batch_writing.check_stage(stage)
        digest = frame_digest(raw)
        if not force and (earlier := self.find_batch(kind, digest)) is not None:
            logger.info("batch skipped: same content as batch %s", earlier.id)
            return earlier
        checked = batch_writing.validated(kind, raw, self.known_items())
        with translated(f"write a {kind} batch"), writing(self.engine) as connection:
            return batch_writing.write(connection, kind, checked, source, stage, digest)

    def ingest_numbered(self, kind: str, source: str, make: Callable[[int], pd.DataFrame],
                        stage: str = "production") -> Batch:
        """Write batch number N of ``source`` (N: how many it has so far), made by ``make(N)``
        and recorded as ``source#N``. The number is taken and used inside one write
        transaction, so concurrent writers never write the same number twice."""
        batch_writing.check_stage(stage)
        sources = t.ingest_batches.c.source
        with translated(f"write a {kind} batch"), writing(self.engine) as connection:
            index = int(connection.execute(
                sa.select(sa.func.count()).select_from(t.ingest_batches).where(
                    t.ingest_batches.c.kind == kind,
                    sources.startswith(f"{source}#", autoescape=True))).scalar_one())
            raw = make(index)
            known = connection.execute(sa.select(t.items.c.item_id)).scalars().all()
            checked = batch_writing.validated(kind, raw, np.asarray(known, dtype="int64"))
            return batch_writing.write(connection, kind, checked, f"{source}#{index}", stage,
                               frame_digest(raw))

    # -- reading ----------------------------------------------------------------------------

    def batches(self, kind: str | None = None, limit: int | None = None) -> list[Batch]:
        query = sa.select(t.ingest_batches).order_by(t.ingest_batches.c.id.desc()).limit(limit)
        if kind is not None:
            query = query.where(t.ingest_batches.c.kind == kind)
        with translated("list batches"), self.engine.connect() as connection:
            return [Batch(**row) for row in connection.execute(query).mappings()]

    def batch(self, batch_id: int) -> Batch | None:
        query = sa.select(t.ingest_batches).where(t.ingest_batches.c.id == batch_id)
        with translated("read a batch"), self.engine.connect() as connection:
            row = connection.execute(query).mappings().first()
        return Batch(**row) if row else None

    def quarantined(self, batch_id: int | None = None) -> pd.DataFrame:
        """Rejected rows (batch_id, row, raw, reasons), oldest first."""
        query = sa.select(t.quarantine.c.batch_id, t.quarantine.c.row, t.quarantine.c.raw,
                          t.quarantine.c.reasons).order_by(t.quarantine.c.id)
        if batch_id is not None:
            query = query.where(t.quarantine.c.batch_id == batch_id)
        with translated("read the quarantine"), self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return pd.DataFrame(rows, columns=["batch_id", "row", "raw", "reasons"])

    def count(self, kind: str, batch_id: int | None = None) -> int:
        table = t.DATA_TABLES[kind]
        query = sa.select(sa.func.count()).select_from(table)
        if batch_id is not None:
            query = query.where(table.c.batch_id == batch_id)
        with translated(f"count {kind}"), self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def _snapshot_batches(self, kind: str, name: str | None) -> tuple[tuple[int, ...], str]:
        """The batch ids (of ``kind``) of a named snapshot or the latest validated data, and
        the schema versions they were validated against."""
        batches = [b for b in reversed(self.batches(kind))]
        if name is None:
            batch_ids = tuple(b.id for b in batches if b.stage in TRAINING_STAGES)
        else:
            query = sa.select(t.snapshots.c.batch_ids).where(t.snapshots.c.name == name)
            with translated("read a snapshot"), self.engine.connect() as connection:
                found = connection.execute(query).scalar()
            if found is None:
                raise DataError(f"no snapshot named {name!r}; create it with "
                                f"`mlwb data snapshot {name}`")
            of_kind = {b.id for b in batches}
            batch_ids = tuple(int(i) for i in found if int(i) in of_kind)
        if not batch_ids:
            dataset = {"interactions": "movielens", "passengers": "titanic"}.get(kind, kind)
            where = f"snapshot {name!r}" if name else "the data store"
            raise DataError(f"{where} holds no {kind}; run "
                            f"`mlwb data ingest --dataset {dataset}` first")
        wanted = set(batch_ids)
        versions = sorted({b.schema_version for b in batches if b.id in wanted})
        return batch_ids, ",".join(versions)

    def snapshot(self, name: str | None = None) -> Snapshot:
        """The named snapshot, or the latest validated data (training + production batches)."""
        batch_ids, versions = self._snapshot_batches("interactions", name)
        ratings, items = self._read(batch_ids)
        return Snapshot(name=f"store:{name or 'latest'}", ratings=ratings, items=items,
                        batch_ids=batch_ids, schema_version=versions, snapshot=name)

    def passenger_snapshot(self, name: str | None = None) -> PassengerSnapshot:
        """Labelled passengers of a named snapshot or of the latest validated batches."""
        batch_ids, versions = self._snapshot_batches("passengers", name)
        p = t.passengers.c
        query = (sa.select(*(p[c] for c in PASSENGER_COLUMNS))
                 .where(p.batch_id.in_(batch_ids), p.survived.is_not(None)).order_by(p.id))
        with translated("read passengers"), self.engine.connect() as connection:
            rows = connection.execute(query).all()
        frame = pd.DataFrame(rows, columns=PASSENGER_COLUMNS).astype(
            {"age": "float64", "sibsp": "int64", "parch": "int64"})
        if frame["embarked"].isna().all():  # no batch had the column: not a feature
            frame = frame.drop(columns="embarked")
        return PassengerSnapshot(name=f"store:passengers:{name or 'latest'}", passengers=frame,
                                 batch_ids=batch_ids, schema_version=versions, snapshot=name)

    def save_snapshot(self, name: str) -> list[Snapshot | PassengerSnapshot]:
        """Freeze the latest validated data of every kind the store holds (interactions,
        passengers) under ``name``: one set of batch ids, from which each reader takes its
        own kind. Returns each kind's frozen snapshot."""
        readers = {"interactions": self.snapshot, "passengers": self.passenger_snapshot}
        frozen = [read() for kind, read in readers.items()
                  if any(b.stage in TRAINING_STAGES for b in self.batches(kind))]
        if not frozen:
            raise DataError("the data store holds no validated data to freeze; run "
                            "`mlwb data ingest` first")
        digest = (frozen[0].digest if len(frozen) == 1 else hashlib.sha256(
            ",".join(f.digest for f in frozen).encode()).hexdigest()[:16])
        self.save_batch_ids(name, tuple(sorted(i for f in frozen for i in f.batch_ids)), digest,
                            ",".join(sorted({f.schema_version for f in frozen})))
        return [replace(f, name=f.name.replace(":latest", f":{name}"), snapshot=name)
                for f in frozen]

    def save_batch_ids(self, name: str, batch_ids: tuple[int, ...], digest: str,
                       schema_version: str) -> None:
        """Name a set of batches (of any kind) a snapshot; ``digest``: that of their rows."""
        record = {"name": name, "batch_ids": [int(i) for i in batch_ids], "digest": digest,
                  "schema_version": schema_version,
                  "created_at": datetime.now(UTC).replace(tzinfo=None)}
        with translated(f"save snapshot {name!r}"), writing(self.engine) as connection:
            if connection.execute(sa.select(t.snapshots.c.name)
                                  .where(t.snapshots.c.name == name)).first():
                raise DataError(f"snapshot {name!r} exists; choose another name")
            connection.execute(t.snapshots.insert(), record)

    def _read(self, batch_ids: tuple[int, ...]) -> tuple[pd.DataFrame, pd.DataFrame]:
        i = t.interactions.c
        query = (sa.select(i.user_id, i.item_id, i.rating, i.event_time)
                 .where(i.batch_id.in_(batch_ids)).order_by(i.id))
        types = {"user_id": "int64", "item_id": "int64", "rating": "float64", "timestamp": "int64"}
        with translated("read interactions"), self.engine.connect() as connection:
            # in slices: 10M rows as Python tuples at once would take ~4.5 GB, not ~0.3 GB
            result = connection.execution_options(yield_per=250_000).execute(query)
            ratings = pd.concat([pd.DataFrame(part, columns=RATING_COLUMNS).astype(types)
                                 for part in result.partitions()]
                                or [pd.DataFrame(columns=RATING_COLUMNS).astype(types)],
                                ignore_index=True)
            catalogue = connection.execute(
                sa.select(t.items.c.item_id, t.items.c.title, t.items.c.year, t.items.c.genres)
                .order_by(t.items.c.item_id)).all()
        items = pd.DataFrame(catalogue, columns=ITEM_COLUMNS).astype(
            {"item_id": "int64", "title": str, "year": "Int64", "genres": str})
        return ratings, items
