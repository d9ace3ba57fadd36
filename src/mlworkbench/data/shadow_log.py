"""The requests a challenger scored in shadow, read back with the champion's rows for them.

The service logs a shadow-scored request twice in its family's prediction-log table: the
champion's rows (role ``champion``) and the challenger's (role ``shadow``, the
challenger's version), under one request id. Reading both for the same requests is what
makes a fair comparison: the same users, at the same moments, judged by the same later data.
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from mlworkbench.data import predictions

SHADOW = "shadow"


def shadowed_rows(engine: sa.Engine, model_name: str, version: int,
                  table: str = "prediction_log") -> pd.DataFrame:
    """Every row (both roles) of the requests ``model_name`` version ``version`` scored in
    shadow, oldest first; ``served_at`` as float unix seconds."""
    log = predictions.served_table(table)
    c = log.c
    requests = sa.select(c.request_id).where(
        c.role == SHADOW, c.model_name == model_name, c.model_version == int(version))
    query = (sa.select(log).where(c.model_name == model_name, c.request_id.in_(requests))
             .order_by(c.id))
    with predictions.translated(f"read the shadow rows of {model_name} version {version}"), \
            engine.connect() as connection:
        frame = pd.read_sql(query, connection)
    stamps = pd.to_datetime(frame["served_at"], utc=True)  # naive values (SQLite) are UTC
    return frame.assign(served_at=(stamps - pd.Timestamp(0, tz="UTC")).dt.total_seconds())
