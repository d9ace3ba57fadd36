"""A batch: its record, and writing one — validated rows, repeats of stored events, the
quarantine — inside the caller's write transaction (see ``Store.ingest``)."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

import numpy as np
import pandas as pd
import sqlalchemy as sa
from pydantic import PlainSerializer

from mlworkbench.data import bulk, duplicates, faults, schema
from mlworkbench.data import tables as t
from mlworkbench.errors import DataError

logger = logging.getLogger(__name__)
STAGES = ("training", "testing", "production")
# the store keeps naive UTC times; an answer over HTTP says so with a "Z"
UtcTime = Annotated[datetime, PlainSerializer(lambda moment: moment.isoformat() + "Z",
                                              return_type=str)]


@dataclass(frozen=True)
class Batch:
    id: int
    kind: str
    source: str
    stage: str
    received: int
    accepted: int
    rejected: int
    digest: str
    schema_version: str
    created_at: UtcTime
    skipped: bool = False  # the content was ingested before (this is that earlier batch)


def validated(kind: str, raw: pd.DataFrame, known: np.ndarray) -> schema.Validated:
    """``raw`` checked against the schema (catalogue rows already known are left out)."""
    started = time.perf_counter()
    if kind == "items":  # ids already in the catalogue are neither new nor wrong: skip them
        raw = raw[~pd.to_numeric(raw["item_id"], errors="coerce").isin(known)]
    checked = schema.validate(raw, kind, known_items=known if kind == "interactions" else None)
    logger.info("validated %d rows in %.2fs", checked.received, time.perf_counter() - started)
    return checked


def write(connection: sa.Connection, kind: str, checked: schema.Validated, source: str,
          stage: str, digest: str) -> Batch:
    """The batch record, its rows and its quarantine, in the caller's write transaction;
    interactions the store holds already join the quarantine (see data/duplicates.py)."""
    rows, rejected = _rows(kind, checked), checked.rejected
    if kind == "interactions" and len(matches := duplicates.stored_matches(connection, rows)):
        repeated = checked.raw.loc[matches["position"]].assign(
            **{schema.REASONS: duplicates.reasons(rows, matches)})
        rows = rows.drop(index=matches["position"])
        rejected = pd.concat([rejected, repeated]).sort_index()
    record = {"kind": kind, "source": source[:500], "stage": stage,
              "received": checked.received, "accepted": len(rows),
              "rejected": len(rejected), "digest": digest,
              "schema_version": schema.SCHEMA_VERSION,
              "created_at": datetime.now(UTC).replace(tzinfo=None)}
    batch_id = int(connection.execute(
        t.ingest_batches.insert().returning(t.ingest_batches.c.id), record).scalar_one())
    bulk.insert_frame(connection, t.DATA_TABLES[kind],
                      rows.assign(batch_id=np.full(len(rows), batch_id, dtype="int32")))
    if len(rejected):
        connection.execute(t.quarantine.insert(), _quarantined(rejected, batch_id))
    faults.pause(f"{kind} batch written, not yet committed")
    return Batch(id=batch_id, **record)


def check_stage(stage: str) -> None:
    if stage not in STAGES:
        raise DataError(f"stage must be one of {', '.join(STAGES)}; received {stage!r}")


def _rows(kind: str, checked: schema.Validated) -> pd.DataFrame:
    """The accepted rows as the table's columns (index: position received)."""
    frame = checked.accepted
    if kind == "interactions":
        frame = frame.rename(columns={"timestamp": "event_time"})
    if kind == "items":
        frame = frame.assign(genres=frame["genres"].fillna(""))
    return frame


def _quarantined(rejected: pd.DataFrame, batch_id: int) -> list[dict[str, object]]:
    # to_json turns numpy scalars, NaN and odd types into plain JSON values
    records = json.loads(rejected.drop(columns=schema.REASONS).to_json(orient="records"))
    return [{"batch_id": batch_id, "row": int(row), "raw": record, "reasons": reasons}
            for row, record, reasons in zip(rejected.index, records, rejected[schema.REASONS],
                                            strict=True)]
