"""``mlwb data ...``: ingest, inspect the store, snapshots, the schema, continuous fill."""

from __future__ import annotations

import json
import os
import re
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import typer

from mlworkbench.cli.drift import NewUsers, PopularityShift, RatingNoise, SchemaViolations
from mlworkbench.cli.output import console, table
from mlworkbench.config import get_settings
from mlworkbench.errors import DataError, InvalidParameterError

if TYPE_CHECKING:
    from mlworkbench.data.store import Store

app = typer.Typer(help="The data store: ingest with validation, batches, quarantine, "
                       "snapshots, continuous fill.", no_args_is_help=True)
STAGE_HELP = "training, testing or production."


def _store() -> Store:
    from mlworkbench.data.ingest import open_store

    return open_store(get_settings())


@app.command("ingest")
def ingest(
    file: Path | None = typer.Argument(None, help="A .csv or .parquet file of interactions."),
    dataset: str | None = typer.Option(None, help="An offline data set: movielens or titanic."),
    stage: str = typer.Option("training", help=STAGE_HELP),
    force: bool = typer.Option(False, help="Write a batch even for content ingested before "
                               "(events already stored go to quarantine as repeats)."),
) -> None:
    """Validate and store interactions (user_id, item_id, rating, timestamp) or a data set."""
    from mlworkbench.data import ingest as ingesting

    if (file is None) == (dataset is None):
        raise DataError("give either a FILE or --dataset movielens|titanic (exactly one)")
    with _store() as store:
        batches = (ingesting.ingest_dataset(store, dataset, stage, force) if dataset
                   else [ingesting.ingest_file(store, file, stage, force)])  # type: ignore[arg-type]
        for batch in batches:
            if batch.skipped:
                console.print(f"{batch.kind}: same content as batch {batch.id} "
                              f"(digest {batch.digest}); skipped (use --force to ingest again)")
                continue
            where = (f"; rejected rows are in quarantine: `mlwb data quarantine --batch "
                     f"{batch.id}`" if batch.rejected else "")
            console.print(f"{batch.kind}: batch {batch.id} accepted {batch.accepted:,} "
                          f"rejected {batch.rejected:,} of {batch.received:,}{where}")


@app.command("batches")
def batches(limit: int = typer.Option(20, help="Newest first, at most this many.")) -> None:
    """The ingest batches: source, stage, counts, digest."""
    with _store() as store:
        rows = [[b.id, b.kind, b.stage, b.source, b.received, b.accepted, b.rejected, b.digest,
                 b.schema_version, f"{b.created_at:%Y-%m-%d %H:%M:%S}"]
                for b in store.batches(limit=limit)]
    console.print(table("ingest batches", ["id", "kind", "stage", "source", "received",
                                           "accepted", "rejected", "digest", "schema",
                                           "created (UTC)"], rows))


@app.command("quarantine")
def quarantine(
    batch: int | None = typer.Option(None, help="Only this batch."),
    limit: int = typer.Option(50, help="At most this many rows."),
) -> None:
    """Rejected rows as received, with their reasons."""
    with _store() as store:
        rows = store.quarantined(batch)
    shown = [[r.batch_id, r.row, json.dumps(r.raw), r.reasons]
             for r in rows.head(limit).itertuples(index=False)]
    console.print(table(f"quarantine ({len(rows):,} rows)", ["batch", "row", "raw", "reasons"],
                        shown))


@app.command("snapshot")
def snapshot(name: str = typer.Argument(..., help="A name for the current latest data.")) -> None:
    """Freeze the latest validated data (ratings and passengers, whichever the store holds)
    under a name, to train either family on it again later (`--snapshot NAME`)."""
    with _store() as store:
        frozen = store.save_snapshot(name)
    for saved in frozen:
        console.print(f"snapshot {name!r}: batches {saved.batch_label}, {saved.summary()}, "
                      f"digest {saved.digest}, schema {saved.schema_version}")


@app.command("schema")
def schema(out: Path | None = typer.Option(None, help="Write the JSON here.")) -> None:
    """The versioned data schema (the contract every ingest is checked against)."""
    from mlworkbench.data.schema import save_schema, schema_document

    if out is not None:
        console.print(f"schema written to {save_schema(out)}")
    else:
        console.print_json(json.dumps(schema_document()))


def parse_duration(text: str) -> float:
    """``10s``, ``500ms``, ``2m``, ``1h`` or plain seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*", text)
    if match is None:
        raise InvalidParameterError("every", "data fill", "a duration like 10s, 500ms, 2m", text)
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[match.group(2) or "s"]
    return float(match.group(1)) * scale


@app.command("fill")
def fill(
    every: str = typer.Option("10s", help="Pause between batches (10s, 500ms, 2m)."),
    batches: int | None = typer.Option(None, help="Stop after this many (default: never)."),
    batch_size: int = typer.Option(1000, help="Rows per batch."),
    popularity_shift: PopularityShift = 0.0,
    new_users: NewUsers = 0.0,
    rating_noise: RatingNoise = 0.0,
    schema_violations: SchemaViolations = 0.0,
    seed: int = typer.Option(42, help="Seed of the simulator."),
) -> None:
    """Keep appending simulated production batches; Ctrl-C stops after the batch in flight."""
    from mlworkbench.data.fill import fill as run_fill
    from mlworkbench.data.simulator import Drift

    seconds = parse_duration(every)
    drift = Drift(popularity_shift, new_users, rating_noise, schema_violations)
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():  # a second Ctrl-C: give up now; the open transaction rolls back
            raise KeyboardInterrupt
        stop.set()
        # A raw write: a handler that prints through rich can land inside rich's own lazy
        # imports on the main thread and break them (seen as a circular ImportError).
        os.write(2, b"stopping after the batch in flight (Ctrl-C again to abort it)\n")

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with _store() as store:
            written = run_fill(
                store, seconds, batches, batch_size, drift, seed, stop,
                on_batch=lambda b: console.print(
                    f"batch {b.id}: accepted {b.accepted:,} rejected {b.rejected:,}"))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    console.print(f"{written} production batch(es) written")
