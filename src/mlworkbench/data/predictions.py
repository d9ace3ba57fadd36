"""What was served, and what was precomputed: reads and writes of the store's served tables.

Each model family logs to its own table (:data:`tables.SERVED_TABLES`): the
recommender's ``prediction_log`` has one row per (response, user) with the items and
scores as JSON arrays; the classifier's ``classifier_predictions`` one row per
response with its passengers' features and probabilities as JSON arrays. Monitoring joins them
with later data. ``precomputed_recommendations`` holds one row per (model version,
user, rank), written by ``mlwb recommend-all`` and read for ``?source=precomputed``.
Every table comes from the store's migrations (:mod:`migrations`), applied when the
process first opens the store.

SQLite by default, PostgreSQL when ``MLWB_DATABASE_URL`` says so; SQLAlchemy
errors are translated into :class:`~mlworkbench.errors.DataError` here.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import DateTime, Engine, delete, event, select
from sqlalchemy.exc import SQLAlchemyError

from mlworkbench.data import migrations, sqlite_rows
from mlworkbench.data.columns import Columns
from mlworkbench.data.engine import create_engine, engine_url, safe_url
from mlworkbench.data.tables import SERVED_TABLES, precomputed
from mlworkbench.errors import DataError

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


# PostgreSQL: a connection attempt and a statement end within bounds (a store that hangs
# must not hold a writer or a request forever); a pooled connection is waited for 2 s at most.
CONNECT_TIMEOUT_S = 3
STATEMENT_TIMEOUT_MS = 30_000
POOL_TIMEOUT_S = 2


def _bounded(url: str) -> dict[str, Any]:
    if not url.startswith("postgresql"):
        return {}
    return {"pool_timeout": POOL_TIMEOUT_S,
            "connect_args": {"connect_timeout": CONNECT_TIMEOUT_S,
                             "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"}}


def store_engine(url: str) -> Engine:
    """One engine per URL for the process, the store migrated to the latest version on first use.

    PostgreSQL connections time out (connect, statement, pool): see :data:`CONNECT_TIMEOUT_S`."""
    url = engine_url(url)
    with _lock:
        engine = _engines.get(url)
        if engine is not None:
            return engine
        with translated(f"open the data store at {safe_url(url)}"):
            engine = create_engine(url, **_bounded(url))
            if engine.dialect.name == "sqlite":
                event.listen(engine, "connect", _larger_page_cache)
            try:
                migrations.migrate(engine)
            except BaseException:
                engine.dispose()
                raise
        _engines[url] = engine
        return engine


SQLITE_CACHE_KIB = 32 * 1024  # per connection; SQLite's default is 2 MiB


def _larger_page_cache(connection: Any, _record: Any) -> None:
    """The prediction log's indexes (request, time, user) take an insert per row: with
    SQLite's default 2 MiB page cache a log of a few hundred thousand rows already reads
    index pages back from the file for most inserts."""
    cursor = connection.cursor()
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cursor.close()


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
    except OSError as exc:  # e.g. the SQLite file's directory cannot be created
        raise DataError(f"cannot {action}: {exc}") from exc


def served_table(name: str) -> Any:
    """A prediction-log table by name (a family names its own)."""
    try:
        return SERVED_TABLES[name]
    except KeyError:
        raise DataError(f"no prediction-log table {name!r}; known: {sorted(SERVED_TABLES)}") \
            from None


def datetime_columns(table: str) -> list[str]:
    """The columns of a prediction-log table that hold timestamps (a journal restores them)."""
    return [column.name for column in served_table(table).columns
            if isinstance(column.type, DateTime)]


def append_predictions(engine: Engine, rows: Sequence[dict[str, Any]] | Columns,
                       table: str = "prediction_log") -> None:
    """Insert prediction-log rows (dicts with the first row's keys, or :class:`Columns`) into
    ``table`` in one transaction: multi-row statements on SQLite (:mod:`sqlite_rows`),
    SQLAlchemy's batched insert elsewhere."""
    try:
        columns = rows if isinstance(rows, Columns) else Columns.of_rows(rows)
    except DataError as exc:
        raise DataError(f"cannot append to {table}: {exc}") from None
    if not len(columns):
        return
    served = served_table(table)
    with translated(f"append to {table}"), engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            sqlite_rows.insert_rows(connection, served, columns)
        else:
            connection.execute(served.insert(), columns.rows())


def read_predictions(engine: Engine, limit: int | None = None,
                     table: str = "prediction_log") -> pd.DataFrame:
    """A prediction-log table, oldest first."""
    served = served_table(table)
    query = select(served).order_by(served.c.id)
    if limit is not None:
        query = query.limit(limit)
    with translated(f"read {table}"), engine.connect() as connection:
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
