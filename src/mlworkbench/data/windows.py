"""Reads for monitoring windows: batches by stage, ids or time, rows streamed in chunks.

A window is a set of ingest batches (what the champion was trained on, or the production
batches since some time) and/or a time range of the prediction log. Rows are read with
server-side chunks (``yield_per``), so a large window never needs one result set in memory;
callers fold the chunks into what they keep. The prediction log is reflected by table name,
so this module does not depend on where that table is declared.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import orjson
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.exc import NoSuchTableError

from mlworkbench.data import tables as t
from mlworkbench.data.engine import translated
from mlworkbench.errors import DataError

CHUNK_ROWS = 50_000
PREDICTION_LOG = "prediction_log"
PASSENGER_COLUMNS = ["pclass", "survived", "sex", "age", "sibsp", "parch", "embarked"]


def parse_batch_label(label: str) -> tuple[int, ...]:
    """The batch ids of a label written by ``Snapshot.batch_label`` (``1-40,43``)."""
    if "..." in label:
        raise DataError(f"the batch label {label[:40]!r}... was shortened when it was logged; "
                        "name the reference by its snapshot instead")
    ids: list[int] = []
    try:
        for part in filter(None, label.split(",")):
            first, _, last = part.partition("-")
            ids.extend(range(int(first), int(last or first) + 1))
    except ValueError as exc:
        raise DataError(f"cannot read batch ids from {label!r}: expected e.g. '1-40,43'") from exc
    return tuple(ids)


@dataclass(frozen=True)
class BatchInfo:
    id: int
    kind: str
    stage: str
    accepted: int
    created_at: datetime


def find_batches(engine: sa.Engine, kind: str, stage: str | None = None,
                 ids: Sequence[int] | None = None, since: datetime | None = None,
                 until: datetime | None = None, last: int | None = None) -> list[BatchInfo]:
    """Batches of ``kind`` matching every filter given, oldest first (``last``: the newest N)."""
    b = t.ingest_batches.c
    query = sa.select(b.id, b.kind, b.stage, b.accepted, b.created_at).where(b.kind == kind)
    if stage is not None:
        query = query.where(b.stage == stage)
    if ids is not None:
        query = query.where(b.id.in_([int(i) for i in ids]))
    if since is not None:
        query = query.where(b.created_at >= _naive_utc(since))
    if until is not None:
        query = query.where(b.created_at < _naive_utc(until))
    query = query.order_by(b.id.desc()).limit(last) if last else query.order_by(b.id)
    with translated("list batches"), engine.connect() as connection:
        found = [BatchInfo(*row) for row in connection.execute(query)]
    return sorted(found, key=lambda batch: batch.id)


def _chunks(engine: sa.Engine, query: sa.Select, columns: list[str], action: str,
            chunk_rows: int) -> Iterator[pd.DataFrame]:
    with translated(action), engine.connect() as connection:
        result = connection.execution_options(yield_per=chunk_rows).execute(query)
        for part in result.partitions():
            yield pd.DataFrame(part, columns=columns)


def _by_batches(ids: Iterable[int]) -> list[list[int]]:
    ids = sorted(int(i) for i in ids)
    return [ids[start:start + 500] for start in range(0, len(ids), 500)]  # driver param limits


def iter_interactions(engine: sa.Engine, batch_ids: Sequence[int],
                      chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """The interactions of these batches in chunks (user_id, item_id, rating, timestamp,
    batch_id), in insertion order."""
    i = t.interactions.c
    columns = ["user_id", "item_id", "rating", "timestamp", "batch_id"]
    for group in _by_batches(batch_ids):
        query = (sa.select(i.user_id, i.item_id, i.rating, i.event_time, i.batch_id)
                 .where(i.batch_id.in_(group)).order_by(i.id))
        for frame in _chunks(engine, query, columns, "read interactions", chunk_rows):
            yield frame.astype({"user_id": "int64", "item_id": "int64", "rating": "float32",
                                "timestamp": "int64", "batch_id": "int32"})


def read_passengers(engine: sa.Engine, batch_ids: Sequence[int]) -> pd.DataFrame:
    """The passengers of these batches (``PASSENGER_COLUMNS`` and batch_id); ``embarked``
    only when some passenger has one."""
    p = t.passengers.c
    frames = []
    for group in _by_batches(batch_ids):
        query = (sa.select(*(p[name] for name in PASSENGER_COLUMNS), p.batch_id)
                 .where(p.batch_id.in_(group)).order_by(p.id))
        frames += list(_chunks(engine, query, [*PASSENGER_COLUMNS, "batch_id"],
                               "read passengers", CHUNK_ROWS))
    if not frames:
        return pd.DataFrame(columns=[*PASSENGER_COLUMNS, "batch_id"])
    frame = pd.concat(frames, ignore_index=True)
    if frame["embarked"].isna().all():
        frame = frame.drop(columns="embarked")
    return frame.astype({"age": "float64", "sibsp": "int64", "parch": "int64"})


def read_items(engine: sa.Engine) -> pd.DataFrame:
    """The item catalogue (item_id, title, genres)."""
    c = t.items.c
    query = sa.select(c.item_id, c.title, c.genres).order_by(c.item_id)
    with translated("read the items"), engine.connect() as connection:
        rows = connection.execute(query).all()
    return pd.DataFrame(rows, columns=["item_id", "title", "genres"]).astype({"item_id": "int64"})


def batch_arrivals(engine: sa.Engine, batch_ids: Sequence[int]) -> dict[int, float]:
    """When each batch arrived in the store, in unix seconds (with their fraction)."""
    return {batch.id: batch.created_at.replace(tzinfo=UTC).timestamp()
            for group in _by_batches(batch_ids)
            for batch in find_batches(engine, "interactions", ids=group)}


def _prediction_log(engine: sa.Engine) -> sa.Table:
    try:
        return sa.Table(PREDICTION_LOG, sa.MetaData(), autoload_with=engine)
    except NoSuchTableError as exc:
        raise DataError("the data store has no prediction log yet: nothing was served "
                        "(start `mlwb serve` and send requests)") from exc


PREDICTION_COLUMNS = ["request_id", "served_at", "model_name", "model_version", "role",
                      "user_id", "items"]


def _served_query(table: sa.Table, columns: list[str], model_name: str | None,
                  model_version: int | None, role: str | None, since: datetime | None,
                  until: datetime | None) -> sa.Select:
    c = table.c
    # served_at comes as text, parsed by pandas in one go: half the time of the driver's
    # per-row datetime objects on 100,000 rows
    query = sa.select(*(sa.cast(c[name], sa.Text).label(name) if name == "served_at"
                        else c[name] for name in columns))
    if model_name is not None:
        query = query.where(c.model_name == model_name)
    if model_version is not None:
        query = query.where(c.model_version == int(model_version))
    if role is not None:
        query = query.where(c.role == role)
    if since is not None:
        query = query.where(c.served_at >= since)
    if until is not None:
        query = query.where(c.served_at < until)
    return query.order_by(c.id)


def iter_predictions(engine: sa.Engine, model_name: str | None = None,
                     model_version: int | None = None, since: datetime | None = None,
                     until: datetime | None = None, chunk_rows: int = CHUNK_ROWS,
                     role: str | None = None) -> Iterator[pd.DataFrame]:
    """Served rows in chunks (PREDICTION_COLUMNS; served_at as float unix seconds, items as the
    JSON text served), oldest first. Rows without a user (item-based requests) are left out;
    ``role`` keeps one role's rows (``champion``, ``shadow``), None every role's."""
    with translated("read the prediction log"):
        log = _prediction_log(engine)
    query = _served_query(log, PREDICTION_COLUMNS, model_name, model_version, role, since,
                          until).where(log.c.user_id.is_not(None))
    for frame in _chunks(engine, query, PREDICTION_COLUMNS, "read the prediction log",
                         chunk_rows):
        yield frame.assign(served_at=_unix_seconds(frame["served_at"]))


_SERVED_FEATURES = ["pclass", "sex", "age", "sibsp", "parch", "embarked"]
SERVED_PASSENGER_COLUMNS = ["served_at", "model_version", "role", *_SERVED_FEATURES,
                            "probability"]
_SERVED_RESPONSE_COLUMNS = ["served_at", "model_version", "role", "passengers", "features",
                            "probabilities"]


def read_served_passengers(engine: sa.Engine, model_name: str, model_version: int | None = None,
                           role: str | None = "champion", since: datetime | None = None,
                           until: datetime | None = None) -> pd.DataFrame:
    """What the classifier service saw and answered: one row per passenger served
    (SERVED_PASSENGER_COLUMNS; served_at as float unix seconds), oldest first, in the order
    each response asked, read in chunks of responses (``classifier_predictions`` holds one
    row per response, its passengers as JSON arrays). ``embarked`` only when some request
    gave one."""
    query = _served_query(t.classifier_predictions, _SERVED_RESPONSE_COLUMNS, model_name,
                          model_version, role, since, until)
    frames = [served_passengers(chunk) for chunk in _chunks(
        engine, query, _SERVED_RESPONSE_COLUMNS, "read the classifier's prediction log",
        CHUNK_ROWS)]
    frames = [frame for frame in frames if len(frame)]
    if not frames:
        return pd.DataFrame(columns=SERVED_PASSENGER_COLUMNS)
    frame = pd.concat(frames, ignore_index=True)
    if frame["embarked"].isna().all():
        frame = frame.drop(columns="embarked")
    return frame.assign(served_at=_unix_seconds(frame["served_at"])).astype(
        {"pclass": "int64", "age": "float64", "probability": "float64"})


def served_passengers(responses: pd.DataFrame) -> pd.DataFrame:
    """The classifier log's response rows (``passengers``, ``features`` and
    ``probabilities`` as stored, and any other columns) as one row per passenger: the other
    columns repeated, the features and ``probability`` spread out, in order."""
    counts = responses["passengers"].to_numpy(dtype=np.int64)
    features = [orjson.loads(text) for text in responses["features"]]
    probabilities = [orjson.loads(text) for text in responses["probabilities"]]
    for at, (given, answered) in enumerate(zip(features, probabilities, strict=True)):
        lengths = {len(values) for values in given.values()} | {len(answered)}
        if lengths != {int(counts[at])}:
            raise DataError(f"the classifier's prediction log row {at} of this read holds "
                            f"{sorted(lengths)} values for {counts[at]} passengers")
    kept = [name for name in responses.columns
            if name not in ("passengers", "features", "probabilities")]
    frame = {name: np.repeat(responses[name].to_numpy(), counts) for name in kept}
    for name in _SERVED_FEATURES:  # a field a response lacks: not given (None)
        frame[name] = [value for given, count in zip(features, counts.tolist(), strict=True)
                       for value in given.get(name, [None] * count)]
    frame["probability"] = np.fromiter(
        (p for answered in probabilities for p in answered), dtype=np.float64,
        count=int(counts.sum()))
    return pd.DataFrame(frame)


def _unix_seconds(values: pd.Series) -> np.ndarray:
    """Served times (ISO text, with an offset from PostgreSQL, without from SQLite, where they
    are UTC as written) as float unix seconds."""
    stamps = pd.to_datetime(values, utc=True, format="ISO8601")
    if not len(stamps):
        return np.zeros(0, "float64")
    return (stamps - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def snapshot_batch_ids(engine: sa.Engine, name: str) -> tuple[int, ...]:
    """The batch ids frozen under snapshot ``name``."""
    query = sa.select(t.snapshots.c.batch_ids).where(t.snapshots.c.name == name)
    with translated("read a snapshot"), engine.connect() as connection:
        found = connection.execute(query).scalar()
    if found is None:
        raise DataError(f"no snapshot named {name!r} in the data store")
    return tuple(int(i) for i in found)
