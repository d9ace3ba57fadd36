"""Many rows into a SQLite table in a few multi-row INSERT statements.

Python's ``sqlite3`` ``executemany`` steps the statement once per row, releasing and taking
back the interpreter lock around every step; in a serving process the thread that writes
the prediction log then waits on a busy event loop for every row (and the loop is asked to
yield every few milliseconds). One ``INSERT ... VALUES (..), (..), ...`` of
:data:`ROWS_PER_STATEMENT` rows is one step: the lock is released once for all of them.
Values are converted by each column type's own bind processor (dates, booleans), so what is
stored is what SQLAlchemy's insert stores, without its per-row parameter assembly.
"""

from __future__ import annotations

import itertools
from typing import Any

import sqlalchemy as sa

from mlworkbench.data.columns import Columns
from mlworkbench.errors import DataError

ROWS_PER_STATEMENT = 500  # x columns = bound values per statement (SQLite allows 32,766+)


def insert_rows(connection: sa.Connection, table: sa.Table, rows: Columns) -> None:
    """Insert ``rows`` inside the caller's transaction."""
    if not len(rows):
        return
    columns = rows.names
    lists = list(rows.values.values())
    for at, process in _processors(connection.dialect, table, columns):
        lists[at] = _converted(lists[at], process)
    values = list(zip(*lists, strict=True))
    per = max(1, min(ROWS_PER_STATEMENT, 32_766 // len(columns)))
    for start in range(0, len(values), per):
        part = values[start : start + per]
        connection.exec_driver_sql(_statement(connection.dialect, table.name, columns, len(part)),
                                   tuple(itertools.chain.from_iterable(part)))


def _converted(values: list[Any], process: Any) -> list[Any]:
    """``process`` over a column's values, once per distinct value: a response's rows share
    theirs (the time it was served), and flags take two values."""
    try:
        distinct = {value: process(value) for value in set(values)}
    except TypeError:  # an unhashable value: one call per value
        return [process(value) for value in values]
    return [distinct[value] for value in values]


_PROCESSORS: dict[tuple[str, str, tuple[str, ...]], list[tuple[int, Any]]] = {}
_STATEMENTS: dict[tuple[str, tuple[str, ...], int], str] = {}


def _processors(dialect: Any, table: sa.Table, columns: tuple[str, ...]
                ) -> list[tuple[int, Any]]:
    """(position, bind processor) of each column whose type converts values."""
    key = (dialect.name, table.name, columns)
    found = _PROCESSORS.get(key)
    if found is None:
        try:
            types = [table.c[name].type for name in columns]
        except KeyError as exc:
            raise DataError(f"{table.name} has no column {exc}") from None
        found = _PROCESSORS[key] = [
            (at, process) for at, kind in enumerate(types)
            if (process := kind.dialect_impl(dialect).bind_processor(dialect)) is not None]
    return found


def _statement(dialect: Any, table: str, columns: tuple[str, ...], rows: int) -> str:
    key = (table, columns, rows)
    found = _STATEMENTS.get(key)
    if found is None:
        quote = dialect.identifier_preparer.quote
        one = "(" + ", ".join("?" for _ in columns) + ")"
        found = _STATEMENTS[key] = (
            f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)}) VALUES "
            + ", ".join(itertools.repeat(one, rows)))
    return found
