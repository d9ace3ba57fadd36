"""What was served, and what was precomputed: two tables in the data store.

``prediction_log`` gets one row per (response, user): the request id, the model
that answered, the items and scores as JSON arrays, and when. Monitoring joins
it with later interactions. ``precomputed_recommendations`` holds one row per
(model version, user, rank), written by ``mlwb recommend-all`` and read by the
service for ``?source=precomputed``.

SQLite by default, PostgreSQL when ``MLWB_DATABASE_URL`` says so; SQLAlchemy
errors are translated into :class:`~mlworkbench.errors.DataError` here.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    select,
)
from sqlalchemy.exc import SQLAlchemyError

from mlworkbench.errors import DataError

metadata = MetaData()

prediction_log = Table(
    "prediction_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", String(64), nullable=False, index=True),
    Column("served_at", DateTime(timezone=True), nullable=False, index=True),
    Column("model_name", String(255), nullable=False),
    Column("model_version", Integer, nullable=True),
    Column("source", String(16), nullable=False),
    Column("user_id", BigInteger, nullable=True, index=True),
    Column("fallback", String(32), nullable=True),
    Column("items", Text, nullable=False),  # JSON array of item ids, best first
    Column("scores", Text, nullable=False),  # JSON array of scores, same order
)

precomputed = Table(
    "precomputed_recommendations",
    metadata,
    Column("model_name", String(255), nullable=False),
    Column("model_version", Integer, nullable=False),  # 0: a model outside the registry
    Column("user_id", BigInteger, nullable=False),
    Column("rank", Integer, nullable=False),
    Column("item_id", BigInteger, nullable=False),
    Column("score", Float, nullable=False),
    Index("ix_precomputed_lookup", "model_name", "model_version", "user_id", "rank"),
)

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the log writer
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def store_engine(url: str) -> Engine:
    """One engine per URL for the process, with the two tables created on first use."""
    with _lock:
        engine = _engines.get(url)
        if engine is not None:
            return engine
        with translated(f"open the data store at {url}"):
            if url.startswith("sqlite"):
                engine = create_engine(url, connect_args={"timeout": 30})
                event.listen(engine, "connect", _sqlite_pragmas)
            else:
                engine = create_engine(url, pool_pre_ping=True)
            metadata.create_all(engine, checkfirst=True)
        _engines[url] = engine
        return engine


def dispose_engines() -> None:
    """Close every pooled connection (tests and shutdown)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


@contextlib.contextmanager
def translated(action: str) -> Iterator[None]:
    try:
        yield
    except SQLAlchemyError as exc:
        reason = str(exc).splitlines()[0]
        raise DataError(f"cannot {action}: {reason}") from exc


def append_predictions(engine: Engine, rows: Sequence[dict[str, Any]]) -> None:
    """Insert prediction-log rows in one transaction."""
    if not rows:
        return
    with translated("append to the prediction log"), engine.begin() as connection:
        connection.execute(prediction_log.insert(), list(rows))


def read_predictions(engine: Engine, limit: int | None = None) -> pd.DataFrame:
    """The prediction log, oldest first."""
    query = select(prediction_log).order_by(prediction_log.c.id)
    if limit is not None:
        query = query.limit(limit)
    with translated("read the prediction log"), engine.connect() as connection:
        return pd.read_sql(query, connection)


def write_precomputed(
    engine: Engine, frame: pd.DataFrame, model_name: str, model_version: int, chunk: int = 50_000
) -> None:
    """Replace one version's precomputed rows with ``frame`` (user_id, rank, item_id, score)."""
    key = (precomputed.c.model_name == model_name) & (precomputed.c.model_version == model_version)
    columns = ["user_id", "rank", "item_id", "score"]
    with translated("write precomputed recommendations"), engine.begin() as connection:
        connection.execute(delete(precomputed).where(key))
        for start in range(0, len(frame), chunk):
            part = frame.iloc[start : start + chunk][columns]
            rows = [
                {"model_name": model_name, "model_version": model_version, "user_id": int(u),
                 "rank": int(r), "item_id": int(i), "score": float(s)}
                for u, r, i, s in part.itertuples(index=False, name=None)
            ]
            connection.execute(precomputed.insert(), rows)


def read_precomputed(
    engine: Engine, model_name: str, model_version: int, user_ids: Sequence[int], k: int
) -> pd.DataFrame:
    """Precomputed rows (user_id, rank, item_id, score) for these users, ranks 1..k."""
    table = precomputed.c
    frames = []
    with translated("read precomputed recommendations"), engine.connect() as connection:
        for start in range(0, len(user_ids), 500):  # stay under every driver's parameter limit
            query = (
                select(table.user_id, table.rank, table.item_id, table.score)
                .where(table.model_name == model_name, table.model_version == model_version,
                       table.user_id.in_([int(u) for u in user_ids[start : start + 500]]),
                       table.rank <= k)
                .order_by(table.user_id, table.rank)
            )
            frames.append(pd.read_sql(query, connection))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["user_id", "rank", "item_id", "score"])


def precomputed_depth(engine: Engine, model_name: str, model_version: int) -> int:
    """The deepest rank stored for a model version; 0 when none was precomputed."""
    table = precomputed.c
    query = select(table.rank).where(
        table.model_name == model_name, table.model_version == model_version
    ).order_by(table.rank.desc()).limit(1)
    with translated("read precomputed recommendations"), engine.connect() as connection:
        value = connection.execute(query).scalar()
    return int(value or 0)
