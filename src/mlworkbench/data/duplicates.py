"""Duplicates across batches: which incoming interactions the store already holds.

The store keeps one row per event, (user, item, time), over every batch: a unique index
(migration 2) guarantees it, and the first write wins. An incoming row whose event is
stored already is quarantined with the stored row's batch; when its rating differs, the
reason says so (a stored rating is never changed by a later batch). The lookup stages the
incoming keys in a temporary table (binary COPY on PostgreSQL) and joins it with the
index, inside the writing transaction, so it sees every committed batch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import sqlalchemy as sa

from mlworkbench.data import bulk
from mlworkbench.data import tables as t

KEY = t.EVENT_KEY
MATCH_COLUMNS = ["position", "stored_rating", "stored_batch"]

_staged = sa.Table(
    "mlwb_incoming_keys", sa.MetaData(),
    sa.Column("position", sa.BigInteger, nullable=False),
    *(sa.Column(name, sa.BigInteger, nullable=False) for name in KEY),
    prefixes=["TEMPORARY"], postgresql_on_commit="DROP",
)


def stored_matches(connection: sa.Connection, rows: pd.DataFrame) -> pd.DataFrame:
    """Stored rows sharing an event with ``rows`` (indexed by position received):
    ``position``, ``stored_rating``, ``stored_batch``, ordered by position."""
    empty = pd.DataFrame({name: pd.Series(dtype="int64") for name in MATCH_COLUMNS})
    if rows.empty or connection.execute(sa.select(t.interactions.c.id).limit(1)).first() is None:
        return empty
    keys = pd.DataFrame({"position": rows.index.to_numpy(dtype="int64"),
                         **{name: rows[name].to_numpy(dtype="int64") for name in KEY}})
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {_staged.name}")
    _staged.create(connection)
    bulk.insert_frame(connection, _staged, keys)
    i, s = t.interactions.c, _staged.c
    found = connection.execute(
        sa.select(s.position, i.rating, i.batch_id)
        .join_from(_staged, t.interactions,
                   sa.and_(*(getattr(i, name) == getattr(s, name) for name in KEY)))
        .order_by(s.position)).all()
    _staged.drop(connection)
    if not found:
        return empty
    return pd.DataFrame(found, columns=MATCH_COLUMNS).astype(
        {"position": "int64", "stored_rating": "float64", "stored_batch": "int64"})


def reasons(rows: pd.DataFrame, matches: pd.DataFrame) -> list[str]:
    """One quarantine reason per match: a repeat, or a changed rating that is refused."""
    incoming = rows.loc[matches["position"], "rating"].to_numpy(dtype="float64")
    stored = matches["stored_rating"].to_numpy()
    return [
        f"duplicate of the (user_id, item_id, timestamp) row stored by batch {batch}"
        if np.isclose(new, old) else
        f"(user_id, item_id, timestamp) stored by batch {batch} with rating {old:g}; "
        f"a later batch never changes a stored rating (received {new:g})"
        for new, old, batch in zip(incoming, stored, matches["stored_batch"], strict=True)
    ]
