"""Fast bulk inserts inside the caller's transaction: binary COPY on PostgreSQL,
``executemany`` with plain tuples elsewhere (SQLite)."""

from __future__ import annotations

import io
import struct

import numpy as np
import pandas as pd
import sqlalchemy as sa

_PG_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_PG_TRAILER = struct.pack(">h", -1)
# numpy kind -> PostgreSQL binary wire type of the column (big-endian, fixed width)
_PG_WIRE = {"int64": ">i8", "float64": ">f8", "int32": ">i4"}


def insert_frame(connection: sa.Connection, table: sa.Table, frame: pd.DataFrame) -> int:
    """Insert every row of ``frame`` (columns named as in ``table``); returns the count."""
    if frame.empty:
        return 0
    postgres = connection.dialect.name == "postgresql"
    if postgres and _fixed_width(frame):
        _copy_binary(connection, table.name, frame)
        return len(frame)
    plain = frame.astype(object).where(frame.notna(), None)
    if postgres:  # SQLAlchemy batches these into multi-row INSERTs ("insertmanyvalues")
        connection.execute(table.insert(), plain.to_dict("records"))
    else:
        columns = ", ".join(f'"{name}"' for name in frame.columns)
        marks = ", ".join("?" for _ in frame.columns)
        connection.exec_driver_sql(f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})',
                                   list(plain.itertuples(index=False, name=None)))
    return len(frame)


def _fixed_width(frame: pd.DataFrame) -> bool:
    return all(str(dtype) in _PG_WIRE for dtype in frame.dtypes)


def _copy_binary(connection: sa.Connection, table: str, frame: pd.DataFrame) -> None:
    """COPY ... FROM STDIN (FORMAT binary): the rows as one numpy record array, no text."""
    fields: list[tuple[str, str]] = [("_count", ">i2")]
    for position, dtype in enumerate(frame.dtypes):
        fields += [(f"_len{position}", ">i4"), (f"_val{position}", _PG_WIRE[str(dtype)])]
    records = np.empty(len(frame), dtype=np.dtype(fields))
    records["_count"] = len(frame.columns)
    for position, name in enumerate(frame.columns):
        wire = np.dtype(_PG_WIRE[str(frame.dtypes[name])])
        records[f"_len{position}"] = wire.itemsize
        records[f"_val{position}"] = frame[name].to_numpy()
    payload = io.BytesIO(_PG_HEADER + records.tobytes() + _PG_TRAILER)
    columns = ", ".join(f'"{name}"' for name in frame.columns)
    driver = connection.connection.driver_connection
    with driver.cursor() as cursor:  # type: ignore[union-attr]
        cursor.copy_expert(f'COPY "{table}" ({columns}) FROM STDIN WITH (FORMAT binary)',
                           payload)
