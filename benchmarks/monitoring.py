"""One monitoring run over 100,000 interactions and 100,000 served rows: time and peak memory.

Set-up (not measured): a workspace with MovieLens items, the simulator's training window as
training data, an ALS champion trained on it, 100,000 prediction-log rows (random top-10
lists for MovieLens users), then every MovieLens rating (100,004) as one production batch.
Measured: ``monitor_recommender`` over that window in a fresh process (reads, the report
parts, online quality per role and version, the MLflow run and the Evidently snapshot): wall
time, CPU time (user + system, all threads) and peak RSS. Importing the workbench and
Evidently is timed apart (a long-running monitoring service pays it once; ``mlwb monitor
run`` pays it each time). The load average is printed with the numbers: on a shared machine
wall time grows with it, CPU time much less. The raw output goes to
``benchmarks/results/monitoring-<UTC time>.txt``. Target: < 30 s and < 1.5 GiB on the
2-core machine.

    nice -n 10 .venv/bin/python benchmarks/monitoring.py
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime  # noqa: E402

import numpy as np  # noqa: E402
from raw_output import save  # noqa: E402

SERVED_ROWS = 100_000

CHILD = """
import json, os, resource, time
def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
t0, c0 = time.perf_counter(), cpu()
from mlworkbench.config import get_settings
from mlworkbench.monitoring.run_recommender import monitor_recommender
from mlworkbench.monitoring.windows import CurrentWindow
import evidently.metrics, evidently.presets, evidently.tests, evidently.ui.workspace
t1, c1, load1 = time.perf_counter(), cpu(), os.getloadavg()
outcome = monitor_recommender(get_settings(), window=CurrentWindow(last=1))
t2, c2, load2 = time.perf_counter(), cpu(), os.getloadavg()
print(json.dumps({"import_s": t1 - t0, "import_cpu_s": c1 - c0, "run_s": t2 - t1,
                  "run_cpu_s": c2 - c1, "load_before": load1, "load_after": load2,
                  "verdict": outcome.result.verdict,
                  "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "metrics": outcome.result.metrics}))
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
        lines = [f"set-up {time.perf_counter() - started:.1f}s (not measured)"]
        env = {**os.environ, "MLWB_HOME": home}
        wall = time.perf_counter()
        child = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True,
                               text=True, check=True)
        wall = time.perf_counter() - wall
    raw = child.stdout.strip().splitlines()[-1]
    result = json.loads(raw)
    peak_gib = result["maxrss_kib"] / 2**20
    lines += [
        "one monitoring run: 100,004 interactions, 100,000 served rows, MovieLens",
        f"{'measure':<44}{'value':>10}",
        f"{'process wall time (s)':<44}{wall:>10.1f}",
        f"{'  importing the workbench and Evidently (s)':<44}{result['import_s']:>10.1f}",
        f"{'    CPU time (s)':<44}{result['import_cpu_s']:>10.1f}",
        f"{'  the run, wall (s)':<44}{result['run_s']:>10.1f}",
        f"{'    CPU time (s)':<44}{result['run_cpu_s']:>10.1f}",
        f"{'peak RSS (GiB)':<44}{peak_gib:>10.2f}",
        f"{'verdict':<44}{result['verdict']:>10}",
        "load average (1, 5, 15 min) before the run: "
        + ", ".join(f"{x:.2f}" for x in result["load_before"])
        + "; after: " + ", ".join(f"{x:.2f}" for x in result["load_after"]),
        f"target: run < 30 s and < 1.5 GiB -> wall "
        f"{'met' if result['run_s'] < 30 else 'NOT met'}, CPU "
        f"{'met' if result['run_cpu_s'] < 30 else 'NOT met'}, memory "
        f"{'met' if peak_gib < 1.5 else 'NOT met'}"]
    print("\n".join(lines))
    save("monitoring", "\n".join(lines) + "\n\nraw (the measured process):\n" + raw + "\n")


if __name__ == "__main__":
    main()
