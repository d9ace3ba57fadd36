"""Faults the data store must survive, measured: repeated rows across batches, and three
writers at once on one SQLite store. Prints one table; run it on any version of the code
(``PYTHONPATH=<other checkout>/src``) to compare.

    .venv/bin/python benchmarks/faults.py [--writers-batches 150]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from mlworkbench.data import ingest
from mlworkbench.data.datasets import load_movielens
from mlworkbench.data.fill import fill
from mlworkbench.data.store import Store
from mlworkbench.platform.postgres import free_port

_MLWB = "from mlworkbench.cli.main import main; main()"
INGESTS, INGEST_ROWS = 6, 100_000  # the third writer: files the size of MovieLens


def surplus(store: Store) -> int:
    """Stored interactions beyond one per (user, item, time)."""
    with store.engine.connect() as connection:
        total = connection.execute(sa.text("SELECT count(*) FROM interactions")).scalar_one()
        events = connection.execute(sa.text(
            "SELECT count(*) FROM (SELECT DISTINCT user_id, item_id, event_time "
            "FROM interactions) AS e")).scalar_one()
    return int(total - events)


def repeats(folder: Path) -> dict[str, int]:
    data = load_movielens()
    found = {}
    with Store(f"sqlite:///{folder / 'a.db'}") as store:
        store.ingest("items", data.items, "items")
        rows = data.ratings.iloc[5_000:7_000]
        rows.to_csv(folder / "first.csv", index=False)
        again = rows.sample(frac=1.0, random_state=3).reset_index(drop=True)
        again.loc[0, "rating"] = 5.0 if again.loc[0, "rating"] != 5.0 else 4.0
        again.to_csv(folder / "again.csv", index=False)
        ingest.ingest_file(store, folder / "first.csv")
        with contextlib.suppress(Exception):  # all rejected: the fixed behaviour
            ingest.ingest_file(store, folder / "again.csv")
        found["2,000-row file again, reordered, one rating changed"] = surplus(store)
    with Store(f"sqlite:///{folder / 'b.db'}") as store:
        fill(store, every_s=0, batches=5, batch_size=5_000)
        found["fill 5 x 5,000 rows (stream of 20,001 wraps)"] = surplus(store)
    with Store(f"sqlite:///{folder / 'c.db'}") as store:
        ingest.ingest_dataset(store, "movielens")
        fill(store, every_s=0, batches=1, batch_size=1_000)
        found["MovieLens, then fill --batches 1 (1,000 rows)"] = surplus(store)
    return found


def writers(folder: Path, fill_batches: int) -> dict[str, object]:
    url = f"sqlite:///{folder / 'w.db'}"
    data = load_movielens()
    with Store(url) as store:
        store.ingest("items", data.items, "items")
    env = {**os.environ, "MLWB_HOME": str(folder / "mlwb"), "MLWB_DATABASE_URL": url,
           "MLWB_ADMIN_TOKEN": "t", "OPENBLAS_NUM_THREADS": "1"}
    rng = np.random.default_rng(1)
    paths = []
    for index in range(INGESTS):
        path = folder / f"r{index}.csv"
        pd.DataFrame({"user_id": 900_000 + index,
                      "item_id": rng.choice(data.items["item_id"].to_numpy(), INGEST_ROWS),
                      "rating": 3.0, "timestamp": 1_000_000_000 + np.arange(INGEST_ROWS)}
                     ).to_csv(path, index=False)
        paths.append(str(path))
    script = textwrap.dedent(f"""
        from pathlib import Path
        from mlworkbench.data.ingest import ingest_file
        from mlworkbench.data.store import Store
        with Store({url!r}) as store:
            for path in {paths!r}:
                ingest_file(store, Path(path), stage="production", force=True)
    """)
    port = free_port()

    def start(args: list[str]) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, *args], env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    simulator = start(["-c", _MLWB, "simulator", "serve", "--port", str(port)])
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    posts = {"ok": 0, "failed": 0}

    def post_loop(stop: threading.Event) -> None:
        while not stop.is_set():
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/batches", data=json.dumps({"size": 1000}).encode(),
                method="POST", headers={"Content-Type": "application/json",
                                        "Authorization": "Bearer t"})
            try:
                urllib.request.urlopen(request, timeout=120).close()
                posts["ok"] += 1
            except OSError:
                posts["failed"] += 1

    stop = threading.Event()
    poster = threading.Thread(target=post_loop, args=(stop,))
    ingester = start(["-c", script])
    filler = start(["-c", _MLWB, "data", "fill", "--every", "0s", "--batches",
                    str(fill_batches), "--batch-size", "1000"])
    poster.start()
    fill_output, _ = filler.communicate()
    ingest_output, _ = ingester.communicate()
    stop.set()
    poster.join()
    simulator.kill()
    simulator.communicate()
    with Store(url) as store:
        sources = collections.Counter(b.source for b in store.batches("interactions")
                                      if b.source.startswith("simulator:movielens#"))
    locked = "database is locked"
    return {
        "fill exit code": filler.returncode,
        "fill batches written": fill_output.count("accepted") or "see output",
        "fill died on 'database is locked'": locked in fill_output,
        f"ingest exit code ({INGESTS} files of {INGEST_ROWS:,} rows)": ingester.returncode,
        "ingest died on 'database is locked'": locked in ingest_output,
        "simulator POSTs ok / failed": f"{posts['ok']} / {posts['failed']}",
        "production batch numbers written more than once": sum(
            1 for count in sources.values() if count > 1),
        "most times one number was written": max(sources.values(), default=0),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--writers-batches", type=int, default=150)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        rows = {**{f"surplus rows: {k}": v for k, v in repeats(Path(folder)).items()},
                **{f"3 writers on SQLite: {k}": v
                   for k, v in writers(Path(folder), args.writers_batches).items()}}
    width = max(map(len, rows))
    for key, value in rows.items():
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
