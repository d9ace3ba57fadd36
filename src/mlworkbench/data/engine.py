"""SQLAlchemy engines for the data store: URL normalisation, per-dialect settings, writes.

Writers of one store queue instead of failing: every write goes through :func:`writing`,
which takes the store's write lock at the transaction's first statement — ``BEGIN
IMMEDIATE`` on SQLite (waiting up to ``SQLITE_BUSY_TIMEOUT_S`` for another writer), a
transaction-level advisory lock on PostgreSQL. What a writer reads inside (the next batch
number, the rows already stored) is therefore current until it commits.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from mlworkbench.errors import StoreError

SQLITE_BUSY_TIMEOUT_S = 60.0  # a writer waits this long for another one's transaction
_WRITE_LOCK = 6006  # PostgreSQL advisory lock key held by every writing transaction
_WRITE_OPTION = "mlwb_write"


def engine_url(url: str) -> str:
    """Plain ``postgresql://`` URLs use psycopg2 (SQLAlchemy 2.1 would pick psycopg 3)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix):]
    return url


def create_engine(url: str, **options: Any) -> sa.Engine:
    """An engine for ``url``; SQLite gets its directory, WAL, a busy timeout, foreign keys.
    ``options`` go to SQLAlchemy (e.g. ``connect_args``, ``pool_timeout``)."""
    url = engine_url(url)
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_S, **options.pop("connect_args", {})}
        engine = sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args, **options)
        sa.event.listen(engine, "connect", _sqlite_connect)
        sa.event.listen(engine, "begin", _sqlite_begin)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, **options)


@contextlib.contextmanager
def writing(engine: sa.Engine) -> Iterator[sa.Connection]:
    """One write transaction holding the store's write lock from its start (see above)."""
    with engine.connect() as connection:
        connection.execution_options(**{_WRITE_OPTION: True})
        with connection.begin():
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"),
                                   {"key": _WRITE_LOCK})
            yield connection


@contextlib.contextmanager
def translated(action: str) -> Iterator[None]:
    """A database failure as :class:`StoreError` ("cannot <action>: <first line of the
    driver's reason>"), the one wording every store read and write uses."""
    try:
        yield
    except SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise StoreError(f"cannot {action}: {detail}; check MLWB_DATABASE_URL") from exc
    except OSError as exc:  # e.g. the SQLite file's directory cannot be created
        raise StoreError(f"cannot {action}: {exc}; check MLWB_DATABASE_URL") from exc


def _sqlite_connect(connection: object, _record: object) -> None:
    # SQLAlchemy's recipe: the driver emits no BEGIN of its own; _sqlite_begin does
    connection.isolation_level = None  # type: ignore[attr-defined]
    cursor = connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")  # a reader (training) beside a writer (fill)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA cache_size=-32768")  # 32 MiB: the event key's index of a big batch
    cursor.close()


def _sqlite_begin(connection: sa.Connection) -> None:
    # a deferred transaction that reads, then writes, fails at once ("database is locked")
    # when another writer committed in between; IMMEDIATE takes the lock first, or waits
    write = connection.get_execution_options().get(_WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url
