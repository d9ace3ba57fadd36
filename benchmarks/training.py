"""Training overhead: raw implicit fit + evaluate vs a full `mlwb train` run, same data and split.

Prints a table. What mlwb adds beyond the raw fit + evaluate (the popularity baseline, MLflow
logging, the model save, registration) should stay under 1.5 s on MovieLens. Also times
`mlwb train recommender` and `mlwb train classifier` as whole processes (start, imports, store
read, fit, evaluate, log, register) in a workspace whose stores already exist, then in that
workspace `mlwb recommend-all` (users/s it reports for scoring, and its wall time with and
without writing the store's table) and `mlwb tune recommender` on a 48-combination grid
(factors 16/32/64/128 x regularization 0.01/0.05/0.1 x iterations 15/30 x alpha 1/5,
`--parallel 2`). Saves the table under benchmarks/results/training-<time>.txt.

    .venv/bin/python benchmarks/training.py [--repeats 3] [--no-tune]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import logging  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from raw_output import report  # noqa: E402


def raw_implicit(ratings, seed: int) -> float:
    """What a bare script does: split, build matrices, fit ALS, evaluate with implicit."""
    from implicit.cpu.als import AlternatingLeastSquares
    from implicit.evaluation import ranking_metrics_at_k

    from mlworkbench.models.recommender import interaction_matrix
    from mlworkbench.training.splits import split

    started = time.perf_counter()
    holdout = split(ratings, "random", 0.2, seed)
    users, items = np.unique(ratings.user_id), np.unique(ratings.item_id)
    train = interaction_matrix(holdout.train, users, items)
    test = interaction_matrix(holdout.test, users, items)
    model = AlternatingLeastSquares(factors=64, iterations=15, regularization=0.05,
                                    random_state=seed, num_threads=0)  # as mlwb: all cores
    model.fit(train, show_progress=False)
    ranking_metrics_at_k(model, train, test, K=10, show_progress=False)
    return time.perf_counter() - started


def mlwb_train(data, home: str) -> tuple[float, dict[str, float]]:
    from mlworkbench.config import Settings
    from mlworkbench.training.recommender import RECOMMENDER
    from mlworkbench.training.train import train

    settings = Settings(home=home)
    started = time.perf_counter()
    result = train(RECOMMENDER, settings=settings, data=data)
    return time.perf_counter() - started, result.seconds


TUNE_GRID = ("factors=16,32,64,128", "regularization=0.01,0.05,0.1", "iterations=15,30",
             "alpha=1,5")


def mlwb(home: str, *args: str) -> tuple[float, str]:
    """Wall time and output of one ``mlwb`` command as a user runs it (a new process)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLWB_", "MLFLOW_"))}
    env.update(MLWB_HOME=home, OPENBLAS_NUM_THREADS="1")
    started = time.perf_counter()
    done = subprocess.run([str(Path(sys.executable).with_name("mlwb")), *args], env=env,
                          check=True, capture_output=True, text=True)
    return time.perf_counter() - started, done.stdout


def whole_process(home: str, family: str) -> float:
    """Wall time of ``mlwb train FAMILY`` as a user runs it (a new process each time)."""
    return mlwb(home, "train", family)[0]


def recommend_all(home: str, store: bool) -> tuple[float, float]:
    """``mlwb recommend-all``: its wall time and the scoring users/s it reports."""
    seconds, out = mlwb(home, "recommend-all", "--store" if store else "--no-store")
    found = re.search(r"scoring ([\d,]+) users/s", out)
    return seconds, float(found.group(1).replace(",", "")) if found else float("nan")


def tune(home: str) -> float:
    grid = [arg for entry in TUNE_GRID for arg in ("--grid", entry)]
    return mlwb(home, "tune", "recommender", *grid, "--parallel", "2")[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-tune", action="store_true", help="skip the 48-trial tuning run")
    args = parser.parse_args()
    logging.getLogger("mlflow").setLevel(logging.WARNING)

    from mlworkbench.data.datasets import load_movielens

    data = load_movielens()
    raw = [raw_implicit(data.ratings, 42) for _ in range(args.repeats)]
    with tempfile.TemporaryDirectory() as home:
        cold, _ = mlwb_train(data, home)  # creates the SQLite store and the registered model
        warm = [mlwb_train(data, home) for _ in range(args.repeats)]
        whole_process(home, "recommender")  # the data store gets MovieLens, Titanic once
        whole_process(home, "classifier")
        processes = {family: statistics.median(whole_process(home, family)
                                               for _ in range(args.repeats))
                     for family in ("recommender", "classifier")}
        batch = [recommend_all(home, store=False) for _ in range(args.repeats)]
        batch_store = statistics.median(recommend_all(home, store=True)[0]
                                        for _ in range(args.repeats))
        tuning = None if args.no_tune else tune(home)
    full = statistics.median(t for t, _ in warm)
    stages = {key: statistics.median(s[key] for _, s in warm) for key in warm[0][1]}
    raw_median = statistics.median(raw)

    rows = [
        ("raw implicit: split + fit + evaluate", raw_median),
        ("mlwb train (warm store), total", full),
        ("  of which fit", stages["fit_seconds"]),
        ("  of which evaluate (model + popularity)", stages["evaluate_seconds"]),
        ("  of which log + save + register", stages["log_seconds"]),
        ("mlwb train, first run (creates the store)", cold),
        ("added by mlwb (warm total - raw)", full - raw_median),
        ("`mlwb train recommender`, whole process", processes["recommender"]),
        ("`mlwb train classifier`, whole process", processes["classifier"]),
        ("`mlwb recommend-all --no-store`, whole process", statistics.median(t for t, _ in batch)),
        ("`mlwb recommend-all` (store table), whole process", batch_store),
    ]
    if tuning is not None:
        rows.append(("`mlwb tune recommender`, 48 trials, --parallel 2", tuning))
    lines = [f"MovieLens, {len(data.ratings):,} ratings, ALS 64 factors x 15 iterations, "
             f"implicit on every core, BLAS at 1 thread, median of {args.repeats}; "
             f"load average {os.getloadavg()[0]:.1f} at the end",
             f"{'measure':<50} {'seconds':>8}"]
    lines += [f"{name:<50} {seconds:>8.2f}" for name, seconds in rows]
    lines.append(f"{'ratio mlwb / raw':<50} {full / raw_median:>8.2f}")
    lines.append(f"{'recommend-all scoring, users/s (as it reports)':<50} "
                 f"{statistics.median(u for _, u in batch):>8,.0f}")
    verdict = "met" if full - raw_median < 1.5 else "MISSED"
    lines.append(f"target: added < 1.50 s -> {verdict}")
    report("training", lines)


if __name__ == "__main__":
    main()
