"""Versioned schema changes of the data store, applied in order when a store opens.

Each migration is a function of Alembic's :class:`Operations` (``op.add_column``, ...),
run without Alembic's script directory: the list below *is* the history, and the
``store_version`` table records what a database has had applied. Version 1 is the
baseline (the first tables, created as :mod:`tables` defines them now); later changes
append a function, never edit one, and bring an older store to the same shape by
looking at what it has (a column the baseline now creates is only added where missing).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations

from mlworkbench.data import tables
from mlworkbench.data.engine import writing

_version_table = sa.Table(
    "store_version", sa.MetaData(),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("description", sa.String(200), nullable=False),
    sa.Column("applied_at", sa.DateTime, nullable=False),
)


_BASELINE = (tables.ingest_batches, tables.items, tables.interactions, tables.passengers,
             tables.quarantine, tables.snapshots)


def _baseline(op: Operations) -> None:
    tables.metadata.create_all(op.get_bind(), tables=list(_BASELINE))


def _add_missing(op: Operations, table: sa.Table, *names: str) -> None:
    """Add ``table``'s columns ``names`` where the database lacks them (as defined now)."""
    present = {column["name"] for column in sa.inspect(op.get_bind()).get_columns(table.name)}
    for name in names:
        if name not in present:
            column = table.c[name]
            default = column.server_default.arg if column.server_default is not None else None
            op.add_column(table.name, sa.Column(name, column.type, nullable=column.nullable,
                                                server_default=default))


def _served_tables(op: Operations) -> None:
    # Stores written by earlier services already hold prediction_log and
    # precomputed_recommendations (created outside the migrations): keep their rows.
    served = (tables.prediction_log, tables.classifier_predictions, tables.precomputed)
    tables.metadata.create_all(op.get_bind(), tables=list(served), checkfirst=True)
    _add_missing(op, tables.prediction_log, "role")
    _add_missing(op, tables.passengers, "embarked")


def _one_row_per_event(op: Operations) -> None:
    """Interactions unique on (user, item, time) across batches. Rows an older store holds
    twice keep their first copy; the later ones move to the quarantine with the reason, and
    their batches' counts follow (accepted - 1, rejected + 1 per moved row)."""
    connection = op.get_bind()
    if tables.EVENT_KEY_INDEX in {index["name"] for index in
                                  sa.inspect(connection).get_indexes("interactions")}:
        return  # a store created at this version: the baseline made the index already
    i = tables.interactions.c
    key = (i.user_id, i.item_id, i.event_time)
    first = (sa.select(*key, sa.func.min(i.id).label("kept"))
             .group_by(*key).having(sa.func.count() > 1).subquery())
    kept = tables.interactions.alias("kept")
    repeated = connection.execute(
        sa.select(i.id, *key, i.rating, i.batch_id, kept.c.batch_id.label("kept_batch"))
        .join_from(tables.interactions, first,
                   sa.and_(*(column == first.c[column.name] for column in key)))
        .join(kept, kept.c.id == first.c.kept)
        .where(i.id != first.c.kept).order_by(i.id)).mappings().all()
    if repeated:
        connection.execute(tables.quarantine.insert(), [{
            "batch_id": row["batch_id"], "row": -1,  # its position as received is not kept
            "raw": {"user_id": row["user_id"], "item_id": row["item_id"],
                    "rating": row["rating"], "timestamp": row["event_time"]},
            "reasons": f"duplicate of the (user_id, item_id, timestamp) row stored by batch "
                       f"{row['kept_batch']} (moved when the store was upgraded)",
        } for row in repeated])
        ids = [row["id"] for row in repeated]
        for start in range(0, len(ids), 10_000):
            connection.execute(tables.interactions.delete().where(
                i.id.in_(ids[start:start + 10_000])))
        moved: dict[int, int] = {}
        for row in repeated:
            moved[row["batch_id"]] = moved.get(row["batch_id"], 0) + 1
        b = tables.ingest_batches.c
        for batch_id, count in moved.items():
            connection.execute(tables.ingest_batches.update().where(b.id == batch_id).values(
                accepted=b.accepted - count, rejected=b.rejected + count))
    op.create_index(tables.EVENT_KEY_INDEX, "interactions", list(tables.EVENT_KEY), unique=True)


def _pipeline_state(op: Operations) -> None:
    tables.metadata.create_all(op.get_bind(), tables=[tables.pipeline_state], checkfirst=True)


def _platform_tables(op: Operations) -> None:
    tables.metadata.create_all(op.get_bind(), tables=[tables.jobs, tables.scheduler_jobs],
                               checkfirst=True)


USER_INDEX = "ix_prediction_log_user_id"


def _no_user_index(op: Operations) -> None:
    """No query reads the recommender's log by user (monitoring and shadow evidence read it
    by time and by request), and the index cost every served user an insert at a random
    place in it: a third of the log writer's time."""
    present = {index["name"] for index in sa.inspect(op.get_bind()).get_indexes("prediction_log")}
    if USER_INDEX in present:
        op.drop_index(USER_INDEX, table_name="prediction_log")


_RESPONSE_KEY = ("request_id", "served_at", "model_name", "model_version", "role", "source")
_PASSENGER_FIELDS = ("pclass", "sex", "age", "sibsp", "parch", "embarked")
_COPY = "classifier_predictions_v6"


def _classifier_responses(op: Operations) -> None:
    """The classifier's log, one row per response (its passengers' features and
    probabilities as JSON arrays) instead of one per passenger: the writer spent 6 us a
    passenger on fourteen values and two index entries, more than answering it. An older
    store's rows are grouped back into their responses (consecutive rows with the same
    request, time, model, role and source), in order; ``survived`` was P >= 0.5 and is
    not kept apart."""
    connection = op.get_bind()
    columns = {c["name"] for c in sa.inspect(connection).get_columns("classifier_predictions")}
    if "features" in columns:
        return  # created at this version
    # A copy without the old table's indexes, key and sequence, whose names the new one takes
    op.execute(f"CREATE TABLE {_COPY} AS SELECT * FROM classifier_predictions")
    op.drop_table("classifier_predictions")
    tables.classifier_predictions.create(connection)
    old = sa.Table(  # as version 6 defined the columns read (a copy's declared types vary)
        _COPY, sa.MetaData(), sa.Column("id", tables.BigId),
        sa.Column("request_id", sa.String), sa.Column("served_at", sa.DateTime(timezone=True)),
        sa.Column("model_name", sa.String), sa.Column("model_version", sa.Integer),
        sa.Column("role", sa.String), sa.Column("source", sa.String),
        sa.Column("pclass", sa.Integer), sa.Column("sex", sa.String),
        sa.Column("age", sa.Float(precision=53)), sa.Column("sibsp", sa.Integer),
        sa.Column("parch", sa.Integer), sa.Column("embarked", sa.String),
        sa.Column("probability", sa.Float(precision=53)))
    rows = connection.execute(sa.select(old).order_by(old.c.id).execution_options(
        yield_per=10_000)).mappings()
    pending: list[dict] = []
    for key, group in itertools.groupby(rows, key=lambda row: tuple(row[k] for k in
                                                                     _RESPONSE_KEY)):
        served = list(group)
        pending.append({
            **dict(zip(_RESPONSE_KEY, key, strict=True)), "passengers": len(served),
            "features": json.dumps({name: [row[name] for row in served]
                                    for name in _PASSENGER_FIELDS}),
            "probabilities": json.dumps([row["probability"] for row in served])})
        if len(pending) >= 5_000:
            connection.execute(tables.classifier_predictions.insert(), pending)
            pending = []
    if pending:
        connection.execute(tables.classifier_predictions.insert(), pending)
    op.drop_table(_COPY)


MIGRATIONS: list[tuple[int, str, Callable[[Operations], None]]] = [
    (1, "baseline: ingest_batches, items, interactions, passengers, quarantine, snapshots",
     _baseline),
    (2, "served tables (prediction_log + role, classifier_predictions, "
        "precomputed_recommendations); passengers.embarked", _served_tables),
    (3, "interactions: one row per (user, item, time) across batches; repeats quarantined",
     _one_row_per_event),
    (4, "pipeline_state: the continuous-training lock, cooldown and failures per model",
     _pipeline_state),
    (5, "platform tables: jobs (the jobs service), apscheduler_jobs (the pipeline schedule)",
     _platform_tables),
    (6, "prediction_log: no index on user_id (nothing reads by user; every served user paid "
        "for it)", _no_user_index),
    (7, "classifier_predictions: one row per response, its passengers as JSON arrays (the "
        "writer paid 14 values and 2 index entries a passenger)", _classifier_responses),
]
LATEST = MIGRATIONS[-1][0]


def current_version(connection: sa.Connection) -> int:
    if not sa.inspect(connection).has_table(_version_table.name):
        return 0
    return int(connection.execute(sa.select(sa.func.max(_version_table.c.version))).scalar() or 0)


def migrate(engine: sa.Engine) -> int:
    """Apply every migration the database lacks, in one transaction; returns the version."""
    with writing(engine) as connection:  # two processes opening one new store: one migrates
        _version_table.create(connection, checkfirst=True)
        version = current_version(connection)
        operations = Operations(MigrationContext.configure(connection))
        for number, description, apply in MIGRATIONS:
            if number > version:
                apply(operations)
                connection.execute(_version_table.insert().values(
                    version=number, description=description,
                    applied_at=datetime.now(UTC).replace(tzinfo=None)))
                version = number
        return version
