"""SQLAlchemy engines for the data store: URL normalisation and per-dialect settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa


def engine_url(url: str) -> str:
    """Plain ``postgresql://`` URLs use psycopg2 (SQLAlchemy 2.1 would pick psycopg 3)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix):]
    return url


def create_engine(url: str, **options: Any) -> sa.Engine:
    """An engine for ``url``; SQLite gets its directory, WAL and foreign keys. ``options`` go
    to SQLAlchemy (e.g. ``connect_args``, ``pool_timeout``)."""
    url = engine_url(url)
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, pool_pre_ping=True, **options)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(connection: object, _record: object) -> None:
    cursor = connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")  # a reader (training) beside a writer (fill)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url
