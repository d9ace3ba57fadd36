"""What one full garbage collection costs in a serving process, with and without the frozen heap.

Builds `mlwb serve`'s app in this process on a registered model and times ``gc.collect()``
(a full pass, the interpreter held: every request in flight waits) before and after
``gc.freeze()`` (what the service does at start, ``serving/heap.py``):

    .venv/bin/python benchmarks/serving_heap.py --home DIR [--family recommender]

``--home`` is a workspace with the family's champion registered (benchmarks/serving_cpu.py
--home DIR trains one and keeps it).
"""

from __future__ import annotations

import argparse
import gc
import os
import time
from pathlib import Path


def _timed() -> float:
    started = time.perf_counter()
    gc.collect()
    return (time.perf_counter() - started) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--family", choices=["recommender", "classifier"], default="recommender")
    args = parser.parse_args()
    os.environ["MLWB_HOME"] = str(args.home)

    from mlworkbench import families
    from mlworkbench.config import get_settings
    from mlworkbench.serving.app import build_app

    model = {"recommender": "models:/movielens-recommender@champion",
             "classifier": "models:/titanic-classifier@champion"}[args.family]
    build_app(model, families.get(args.family).served, get_settings())
    print(f"load average {os.getloadavg()[0]:.2f}; objects the collector tracks: "
          f"{len(gc.get_objects()):,}")
    print(f"full collection: {min(_timed() for _ in range(3)):.1f} ms (best of 3)")
    gc.freeze()
    print(f"full collection after gc.freeze(): {min(_timed() for _ in range(3)):.1f} ms")


if __name__ == "__main__":
    main()
