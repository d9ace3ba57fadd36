"""Training overhead: raw implicit fit + evaluate vs a full `mlwb train` run, same data and split.

Prints a table. What mlwb adds beyond the raw fit + evaluate (the popularity baseline, MLflow
logging, the model save, registration) should stay under 1.5 s on MovieLens. Also times
`mlwb train recommender` and `mlwb train classifier` as whole processes (start, imports, store
read, fit, evaluate, log, register) in a workspace whose stores already exist.

    .venv/bin/python benchmarks/training.py [--repeats 3]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import logging  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402


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


def whole_process(home: str, family: str) -> float:
    """Wall time of ``mlwb train FAMILY`` as a user runs it (a new process each time)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLWB_", "MLFLOW_"))}
    env.update(MLWB_HOME=home, OPENBLAS_NUM_THREADS="1")
    started = time.perf_counter()
    subprocess.run([str(Path(sys.executable).with_name("mlwb")), "train", family], env=env,
                   check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
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
    ]
    print(f"MovieLens, {len(data.ratings):,} ratings, ALS 64 factors x 15 iterations, "
          f"implicit on every core, BLAS at 1 thread, median of {args.repeats}")
    print(f"{'measure':<44} {'seconds':>8}")
    for name, seconds in rows:
        print(f"{name:<44} {seconds:>8.2f}")
    print(f"{'ratio mlwb / raw':<44} {full / raw_median:>8.2f}")
    verdict = "met" if full - raw_median < 1.5 else "MISSED"
    print(f"target: added < 1.50 s -> {verdict}")


if __name__ == "__main__":
    main()
