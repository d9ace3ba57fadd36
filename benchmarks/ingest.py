"""Ingest throughput: 1,000,000 synthetic interactions into SQLite and PostgreSQL, validation on.

Each row is checked (types, ranges, known items, not in the future, duplicate keys, events
stored already) and the batch is written in one transaction (binary COPY on PostgreSQL,
executemany on SQLite). Measured twice: from a pre-typed clean frame, and from a CSV file
as `mlwb data ingest FILE` reads it, with 5 % bad rows (text in a number column, unknown
items, ratings out of range, future timestamps, missing users) that go to quarantine.
PostgreSQL is a throwaway cluster with default durability (fsync on) unless
MLWB_DATABASE_URL names one. Prints a table and saves it under benchmarks/results/;
run: .venv/bin/python benchmarks/ingest.py
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from raw_output import report  # noqa: E402

from mlworkbench.config import get_settings
from mlworkbench.data import schema
from mlworkbench.data.ingest import ingest_file
from mlworkbench.data.store import Store
from mlworkbench.platform.postgres import PostgresCluster, free_port


def synthetic(rows: int, items: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    catalogue = pd.DataFrame({"item_id": np.arange(1, items + 1), "title": "item",
                              "year": 2000, "genres": "Drama"})
    ratings = pd.DataFrame({
        "user_id": rng.integers(1, 50_000, rows),
        "item_id": rng.integers(1, items + 1, rows),
        "rating": rng.integers(1, 11, rows) / 2,
        "timestamp": 1_000_000_000 + np.arange(rows),  # unique keys: nothing rejected
    })
    return catalogue, ratings


BAD_SHARE = 0.05


def bad_csv(ratings: pd.DataFrame, path: Path, seed: int = 1) -> int:
    """``ratings`` as CSV with 5 % of the rows spoiled, five ways in equal parts; the count."""
    rng = np.random.default_rng(seed)
    frame = ratings.astype({"user_id": object, "rating": object})
    spoiled = rng.choice(len(frame), int(len(frame) * BAD_SHARE), replace=False)
    for kind, rows in enumerate(np.array_split(spoiled, 5)):
        if kind == 0:
            frame.loc[rows, "rating"] = "five"  # text in a number column
        elif kind == 1:
            frame.loc[rows, "item_id"] = 10**9  # an item the catalogue does not have
        elif kind == 2:
            frame.loc[rows, "rating"] = 7.5  # outside 0.5-5
        elif kind == 3:
            frame.loc[rows, "timestamp"] = 4_000_000_000  # in 2096
        else:
            frame.loc[rows, "user_id"] = None  # missing
    frame.to_csv(path, index=False)
    return len(spoiled)


def measure_csv(url: str, catalogue: pd.DataFrame, path: Path, bad: int) -> dict[str, float]:
    with Store(url) as store:
        store.ingest("items", catalogue, "benchmark")
        started = time.perf_counter()
        batch = ingest_file(store, path)  # read + conform + validate + write + quarantine
        total_s = time.perf_counter() - started
    assert batch.rejected == bad and batch.accepted == batch.received - bad, batch
    return {"rows": batch.received, "rejected": batch.rejected, "total_s": total_s,
            "rows_per_s": batch.received / total_s}


def measure(url: str, catalogue: pd.DataFrame, ratings: pd.DataFrame) -> dict[str, float]:
    with Store(url) as store:
        store.ingest("items", catalogue, "benchmark")
        started = time.perf_counter()
        schema.validate(ratings, "interactions", store.known_items())
        validate_s = time.perf_counter() - started
        started = time.perf_counter()
        batch = store.ingest("interactions", ratings, "benchmark", force=True)
        total_s = time.perf_counter() - started
        later = ratings.assign(timestamp=ratings["timestamp"] + len(ratings))  # new events
        started = time.perf_counter()
        second = store.ingest("interactions", later, "benchmark-2", force=True)
        second_s = time.perf_counter() - started
    assert batch.accepted == len(ratings) == second.accepted, (batch, second)
    return {"rows": len(ratings), "validate_s": validate_s, "total_s": total_s,
            "rows_per_s": len(ratings) / total_s, "second_per_s": len(ratings) / second_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    catalogue, ratings = synthetic(args.rows, 10_000)
    work = Path(tempfile.mkdtemp(prefix="mlwb-bench-"))
    work.chmod(0o755)
    cluster = None
    csv = work / "interactions.csv"
    bad = bad_csv(ratings, csv)
    results = {"sqlite": measure(f"sqlite:///{work / 'data.db'}", catalogue, ratings)}
    from_csv = {"sqlite": measure_csv(f"sqlite:///{work / 'csv.db'}", catalogue, csv, bad)}
    try:
        url = get_settings().database_url
        csv_url = url
        if not url or not url.startswith("postgres"):
            cluster = PostgresCluster(work / "pg", port=free_port())
            cluster.init()
            cluster.start()
            url, csv_url = cluster.create_database("bench"), cluster.create_database("csv")
        results["postgresql"] = measure(url, catalogue, ratings)
        if csv_url != url:  # a store of its own: the clean rows' events are not repeats
            from_csv["postgresql"] = measure_csv(csv_url, catalogue, csv, bad)
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(work, ignore_errors=True)
    load = os.getloadavg()
    lines = [f"{os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} / "
             f"{load[2]:.1f} at the end",
             f"{'store':<12}{'rows':>11}{'validate s':>12}{'ingest s':>10}{'rows/s':>12}"
             f"{'2nd batch rows/s':>18}"]
    for name, row in results.items():
        lines.append(f"{name:<12}{row['rows']:>11,}{row['validate_s']:>12.2f}"
                     f"{row['total_s']:>10.2f}{row['rows_per_s']:>12,.0f}"
                     f"{row['second_per_s']:>18,.0f}")
    lines += ["ingest s = digest + validation + one transaction (batch, rows, quarantine);",
              "2nd batch: as many new events into the now full store, each checked against the",
              "stored ones (one row per (user, item, time)), staged by COPY on PostgreSQL", "",
              f"from a CSV file, {BAD_SHARE:.0%} bad rows (ingest_file, as `mlwb data ingest "
              "FILE`: read + conform + validate + write + quarantine)",
              f"{'store':<12}{'rows':>11}{'rejected':>10}{'ingest s':>10}{'rows/s':>12}"]
    for name, row in from_csv.items():
        lines.append(f"{name:<12}{row['rows']:>11,}{row['rejected']:>10,}{row['total_s']:>10.2f}"
                     f"{row['rows_per_s']:>12,.0f}")
    report("ingest", lines)


if __name__ == "__main__":
    main()
