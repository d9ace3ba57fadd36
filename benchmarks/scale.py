"""Training at scale: implicit (CPU) vs Spark MLlib (local mode) on synthetic interactions.

For each size the synthetic generator (``data/synthetic.py``; users = interactions / 10,
items = interactions / 100) streams the rows into a fresh SQLite store once; then each
engine runs in its own process (so its peak memory is its own): read the snapshot from
the store (data load), split it as ``mlwb train`` does, fit ALS (64 factors), and score
precision@10 on a seeded sample of test users, the same split and users for both.
Prints a table and compares seconds per iteration per million interactions with
implicit's published figures (MovieLens 20M, 64 factors: CPU 2.75 s/iteration, GPU 0.40,
Spark 12.3). Raw output goes to benchmarks/results/scale-<time>.json.

    .venv/bin/python benchmarks/scale.py [--sizes 1000000,10000000] [--engines implicit,spark]
                                         [--iterations 5] [--eval-users 10000]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from raw_output import save  # noqa: E402

PUBLISHED = {"implicit CPU": 2.75, "implicit GPU": 0.40, "Spark MLlib": 12.3}  # s/iter, ML-20M
PUBLISHED_ROWS = 20_000_263  # MovieLens 20M ratings


def _peak_mib(pid: int | str = "self") -> float:
    """Peak resident memory (VmHWM) of a process, MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def fill(url: str, interactions: int, seed: int) -> dict[str, float]:
    from mlworkbench.data.store import Store
    from mlworkbench.data.synthetic import SyntheticSpec, ingest_synthetic

    spec = SyntheticSpec(users=max(1, interactions // 10), items=max(20, interactions // 100),
                         interactions=interactions, seed=seed)
    started = time.perf_counter()
    with Store(url) as store:
        batches = ingest_synthetic(store, spec)
    return {"ingest_s": time.perf_counter() - started,
            "accepted": sum(b.accepted for b in batches[1:]), "users": spec.users,
            "items": spec.items}


def filled_store(url: str) -> dict[str, float]:
    from mlworkbench.data.store import Store

    with Store(url) as store:
        return {"ingest_s": float("nan"), "accepted": store.count("interactions")}


def one(engine_name: str, url: str, home: str, iterations: int, eval_users: int,
        seed: int) -> dict[str, float]:
    """One engine on one store, in this process: load, split, fit, evaluate."""
    from mlworkbench.config import get_settings
    from mlworkbench.data.store import Store
    from mlworkbench.models.engines import make_engine
    from mlworkbench.models.recommender import Recommender
    from mlworkbench.training.evaluate import evaluate, sample_users
    from mlworkbench.training.recommender import id_maps
    from mlworkbench.training.splits import split

    os.environ["MLWB_HOME"] = home
    get_settings.cache_clear()
    row: dict[str, float] = {}
    started = time.perf_counter()
    with Store(url) as store:
        data = store.snapshot()
    row["load_s"] = time.perf_counter() - started
    row["users"], row["items"] = int(data.ratings["user_id"].nunique()), len(data.items)
    started = time.perf_counter()
    holdout = split(data.ratings, "random", 0.2, seed)
    row["split_s"] = time.perf_counter() - started
    user_ids, item_ids = id_maps(data)
    engine = make_engine("als", seed=seed, engine=engine_name, factors=64,
                         iterations=iterations, regularization=0.05)
    if engine_name == "spark":  # the JVM's start is paid once per process, not per fit
        from mlworkbench.models.spark_engine import spark_session

        started = time.perf_counter()
        session = spark_session(get_settings())
        row["spark_start_s"] = time.perf_counter() - started
    ticks: list[float] = []
    started = time.perf_counter()
    model = Recommender.fit(engine, holdout.train, data.items, user_ids, item_ids,
                            progress=lambda done: ticks.append(time.perf_counter()))
    row["fit_s"] = time.perf_counter() - started
    # implicit reports every iteration: the median gap is the steady per-iteration time;
    # Spark reports once, so its per-iteration time is the whole fit over the iterations
    gaps = sorted(b - a for a, b in zip(ticks, ticks[1:], strict=False))
    row["iteration_s"] = gaps[len(gaps) // 2] if gaps else row["fit_s"] / iterations
    started = time.perf_counter()
    test = sample_users(holdout.test, eval_users, seed)
    row["precision_at_10"] = evaluate(model, test, 10).metrics["precision_at_10"]
    popular = Recommender.fit(make_engine("popularity"), holdout.train, data.items, user_ids,
                              item_ids)
    row["popularity_precision_at_10"] = evaluate(popular, test, 10).metrics["precision_at_10"]
    row["evaluate_s"] = time.perf_counter() - started
    row["evaluated_users"] = int(test["user_id"].nunique())
    row["peak_python_mib"] = _peak_mib()
    if engine_name == "spark":
        jvm = session.sparkContext._gateway.proc  # the driver JVM pyspark launched
        row["peak_jvm_mib"] = _peak_mib(jvm.pid) if jvm is not None else float("nan")
    row["ru_maxrss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return row


def table(rows: list[dict]) -> str:
    head = (f"{'engine':<9}{'rows':>12}{'users':>10}{'items':>9}{'load s':>8}{'fit s':>8}"
            f"{'s/iter':>8}{'s/iter/1M':>10}{'peak MiB':>10}{'p@10':>8}{'pop p@10':>9}")
    lines = [head]
    for r in rows:
        peak = r["peak_python_mib"] + r.get("peak_jvm_mib", 0.0)
        per_million = r["iteration_s"] / (r["rows"] / 1e6)
        lines.append(f"{r['engine']:<9}{r['rows']:>12,}{r['users']:>10,}{r['items']:>9,}"
                     f"{r['load_s']:>8.1f}{r['fit_s']:>8.1f}{r['iteration_s']:>8.2f}"
                     f"{per_million:>10.3f}{peak:>10,.0f}{r['precision_at_10']:>8.4f}"
                     f"{r['popularity_precision_at_10']:>9.4f}")
    lines.append("published (ML-20M, 64 factors), s/iter per 1M interactions: " + ", ".join(
        f"{name} {value / (PUBLISHED_ROWS / 1e6):.3f}" for name, value in PUBLISHED.items()))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--engines", default="implicit,spark")
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--eval-users", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--store", help="an already filled store URL (one size): skip the fill")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: engine,url,home
    args = parser.parse_args()
    if args.one:
        engine, url, home = args.one.split(",", 2)
        print(json.dumps(one(engine, url, home, args.iterations, args.eval_users, args.seed)))
        return
    rows = []
    work = Path(tempfile.mkdtemp(prefix="mlwb-scale-"))
    try:
        for size in (int(s) for s in args.sizes.split(",")):
            url = args.store or f"sqlite:///{work / f'data-{size}.db'}"
            filled = filled_store(url) if args.store else fill(url, size, args.seed)
            print(f"{filled['accepted']:,} rows: " + (f"in the store {url}" if args.store else
                  f"generated and ingested in {filled['ingest_s']:.1f}s"), flush=True)
            for engine in args.engines.split(","):
                done = subprocess.run(
                    [sys.executable, __file__, "--one", f"{engine},{url},{work / engine}",
                     "--iterations", str(args.iterations), "--eval-users", str(args.eval_users),
                     "--seed", str(args.seed)], capture_output=True, text=True, check=False)
                if done.returncode != 0:
                    print(f"{engine} at {size:,} failed:\n{done.stderr[-3000:]}", flush=True)
                    continue
                row = {"engine": engine, "rows": filled["accepted"], **filled,
                       **json.loads(done.stdout.strip().splitlines()[-1])}
                rows.append(row)
                print(json.dumps(row), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = table(rows)
    load = os.getloadavg()
    print(f"ALS, 64 factors, {args.iterations} iterations, regularization 0.05, "
          f"precision@10 on {args.eval_users:,} sampled test users; {os.cpu_count()} cores, "
          f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the end")
    print(report)
    save("scale", json.dumps({"args": vars(args), "rows": rows, "table": report}, indent=2),
         ".json")


if __name__ == "__main__":
    main()
