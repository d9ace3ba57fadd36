"""One monitoring run over 100,000 interactions and 100,000 served rows: time and peak memory.

Set-up (not measured): a workspace with MovieLens items, the simulator's training window as
training data, an ALS champion trained on it, 100,000 prediction-log rows (random top-10
lists for MovieLens users), then every MovieLens rating (100,004) as one production batch.
Measured: ``monitor_recommender`` over that window in a fresh process (reads, the three report
parts, online quality, the MLflow run and the Evidently snapshot), wall time and peak RSS.
Target: < 30 s and < 1.5 GiB on the 2-core machine.

    .venv/bin/python benchmarks/monitoring.py
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import json  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime  # noqa: E402

import numpy as np  # noqa: E402

SERVED_ROWS = 100_000

CHILD = """
import json, resource, time
from mlworkbench.config import get_settings
t0 = time.perf_counter()
from mlworkbench.monitoring.run_recommender import monitor_recommender
from mlworkbench.monitoring.windows import CurrentWindow
t1 = time.perf_counter()
outcome = monitor_recommender(get_settings(), window=CurrentWindow(last=1))
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "run_s": t2 - t1, "verdict": outcome.result.verdict,
                  "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "online_hit_rate": outcome.result.metrics.get("online_hit_rate_at_k")}))
"""


def set_up(home: str) -> None:
    from mlworkbench.config import get_settings
    from mlworkbench.data import predictions
    from mlworkbench.data.datasets import load_movielens
    from mlworkbench.data.ingest import open_store
    from mlworkbench.data.simulator import Simulator
    from mlworkbench.training.recommender import RECOMMENDER
    from mlworkbench.training.train import train

    os.environ["MLWB_HOME"] = home
    get_settings.cache_clear()
    settings = get_settings()
    movielens = load_movielens()
    with open_store(settings) as store:
        store.ingest("items", movielens.items, source="movielens")
        store.ingest("interactions", Simulator(movielens).window("training"), source="training")
    result = train(RECOMMENDER, settings=settings)
    rng = np.random.default_rng(0)
    users = movielens.ratings["user_id"].unique()
    items = movielens.items["item_id"].to_numpy()
    now = datetime.now(UTC)
    engine = predictions.store_engine(settings.resolved_database_url)
    for start in range(0, SERVED_ROWS, 20_000):
        rows = [{"request_id": f"b{start + i}", "served_at": now, "model_name":
                 result.registered_name, "model_version": result.version, "source": "model",
                 "user_id": int(rng.choice(users)), "fallback": None,
                 "items": json.dumps(rng.choice(items, 10, replace=False).tolist()),
                 "scores": "[]"} for i in range(20_000)]
        predictions.append_predictions(engine, rows)
    predictions.dispose_engines()
    with open_store(settings) as store:  # arrives after the responses: online quality judges
        store.ingest("interactions", movielens.ratings, source="all", stage="production")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = os.path.join(tmp, "mlwb")
        started = time.perf_counter()
        set_up(home)
        print(f"set-up {time.perf_counter() - started:.1f}s (not measured)")
        env = {**os.environ, "MLWB_HOME": home}
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        wall = time.perf_counter()
        child = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True,
                               text=True, check=True)
        wall = time.perf_counter() - wall
        result = json.loads(child.stdout.strip().splitlines()[-1])
        peak_gib = max(result["maxrss_kib"], before) / 2**20
        print("one monitoring run: 100,004 interactions, 100,000 served rows, MovieLens")
        print(f"{'measure':<40}{'value':>10}")
        print(f"{'process wall time (s)':<40}{wall:>10.1f}")
        print(f"{'  of which importing (s)':<40}{result['import_s']:>10.1f}")
        print(f"{'  of which the run (s)':<40}{result['run_s']:>10.1f}")
        print(f"{'peak RSS (GiB)':<40}{peak_gib:>10.2f}")
        print(f"{'verdict':<40}{result['verdict']:>10}")
        print(f"target: < 30 s and < 1.5 GiB -> "
              f"{'met' if result['run_s'] < 30 and peak_gib < 1.5 else 'NOT met'}")


if __name__ == "__main__":
    main()
