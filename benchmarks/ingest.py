"""Ingest throughput: 1,000,000 synthetic interactions into SQLite and PostgreSQL, validation on.

Each row is checked (types, ranges, known items, not in the future, duplicate keys, events
stored already) and the batch is written in one transaction (binary COPY on PostgreSQL,
executemany on SQLite).
PostgreSQL is a throwaway cluster with default durability (fsync on) unless
MLWB_DATABASE_URL names one. Prints a table; run: .venv/bin/python benchmarks/ingest.py
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from mlworkbench.config import get_settings
from mlworkbench.data import schema
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
    results = {"sqlite": measure(f"sqlite:///{work / 'data.db'}", catalogue, ratings)}
    try:
        url = get_settings().database_url
        if not url or not url.startswith("postgres"):
            cluster = PostgresCluster(work / "pg", port=free_port())
            cluster.init()
            cluster.start()
            url = cluster.create_database("bench")
        results["postgresql"] = measure(url, catalogue, ratings)
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"{'store':<12}{'rows':>11}{'validate s':>12}{'ingest s':>10}{'rows/s':>12}"
          f"{'2nd batch rows/s':>18}")
    for name, row in results.items():
        print(f"{name:<12}{row['rows']:>11,}{row['validate_s']:>12.2f}{row['total_s']:>10.2f}"
              f"{row['rows_per_s']:>12,.0f}{row['second_per_s']:>18,.0f}")
    print("ingest s = digest + validation + one transaction (batch, rows, quarantine);")
    print("2nd batch: as many new events into the now full store, each checked against the")
    print("stored ones (one row per (user, item, time)), staged by COPY on PostgreSQL")


if __name__ == "__main__":
    main()
