"""What shadow scoring costs the response path: `mlwb serve` with MLWB_SHADOW_SHARE=0 vs 1.

Registers the recommender (ALS, 64 factors, MovieLens) as champion and a second run (ALS, 32
factors) as challenger in a throwaway workspace, then starts `mlwb serve` (one worker) twice,
once with the share at 0 (no challenger loaded) and once at 1 (every request also scored by
the challenger on the background thread), one at a time, and drives each with wrk with the
same requests. Rounds alternate which goes first; cells are medians over rounds. After each
share-1 run, `/model` gives the shadow counters: how many requests were scored and how many
dropped because the bounded queue was full (the worker falls behind by design, never the
answers). Raw wrk output under benchmarks/results/, the table as
benchmarks/results/shadow-recommender.md:

    .venv/bin/python benchmarks/shadow.py [--duration 10] [--rounds 3] [--results DIR]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import urllib.request  # noqa: E402
from pathlib import Path  # noqa: E402

from http_load import Load, Request, Service, measure, table  # noqa: E402

BIN = Path(sys.executable).parent
RESULTS = Path(__file__).parent / "results"
OFF, ON = "share 0", "share 1"
NAME = "movielens-recommender"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def register(settings) -> list[str]:
    """Champion (64 factors) and challenger (32 factors); the users, as request records."""
    from mlworkbench.config import CHALLENGER_ALIAS
    from mlworkbench.data.datasets import load_movielens
    from mlworkbench.tracking import client as tracking
    from mlworkbench.tracking.registry import set_alias
    from mlworkbench.training.family import TrainRequest
    from mlworkbench.training.recommender import RECOMMENDER
    from mlworkbench.training.train import train

    data = load_movielens()
    train(RECOMMENDER, data=data, settings=settings)
    challenger = train(RECOMMENDER, TrainRequest(params={"factors": 32}), data=data,
                       settings=settings)
    set_alias(tracking.configure(settings), NAME, CHALLENGER_ALIAS, challenger.version)
    return [str(u) for u in sorted(int(u) for u in data.ratings.user_id.unique())]


def shadow_counts(port: int) -> dict[str, int]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/model", timeout=5) as response:
        return json.loads(response.read())["shadow"]["requests"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, alternating who is first")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where raw output goes")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")

    from mlworkbench.config import get_settings

    workdir = Path(tempfile.mkdtemp(prefix="mlwb-bench-shadow-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLWB_", "MLFLOW_"))}
    env.update(MLWB_HOME=str(workdir / "mlwb"), OPENBLAS_NUM_THREADS="1",
               PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", MLWB_ALIAS_POLL_SECONDS="0",
               UVICORN_ACCESS_LOG="false")
    os.environ.update(MLWB_HOME=env["MLWB_HOME"])
    get_settings.cache_clear()
    settings = get_settings()
    env["MLFLOW_TRACKING_URI"] = settings.resolved_tracking_uri
    users = register(settings)
    args.results.mkdir(parents=True, exist_ok=True)

    request = Request("POST", "/recommendations", users, '{"users":[', '],"k":10}')
    loads = [Load("single, c=8", 1, 8, {OFF: request, ON: request}),
             Load("batch 100, c=8", 100, 8, {OFF: request, ON: request})]
    model = f"models:/{NAME}@champion"
    sides = [Service(side, ["env", f"MLWB_SHADOW_SHARE={share}", str(BIN / "mlwb"), "serve",
                            model, "--port", str(port)], port, "/ready")
             for side, share, port in ((OFF, 0, free_port()), (ON, 1, free_port()))]

    def counts(service: Service, _load: str) -> dict[str, int] | None:
        return shadow_counts(service.port) if service.name == ON else None

    measured = measure(sides, loads, args.rounds, args.duration, env, workdir, args.results,
                       "shadow", probe=counts)
    lines_of_counts = [
        f"round {round_no}, {load.name}: " + ", ".join(
            f"{key} {after[key] - before[key]:,}" for key in
            ("offered", "scored", "dropped", "failed"))
        for load in loads
        for round_no, (before, after) in enumerate(measured.probes[ON, load.name], start=1)]
    lines = [f"champion ALS 64 factors, challenger ALS 32 factors, {len(users)} users; wrk "
             f"{args.duration:.0f}s per row, {args.rounds} round(s); mlwb serve, 1 worker; "
             "127.0.0.1. 'ratio' = share 1 over share 0.", "",
             *table(measured, loads, "users", OFF, ON), "",
             "shadow counters of the share-1 server during each run, wrk's 2 s warm-up included:",
             *(f"- {line}" for line in lines_of_counts), ""]
    text = "\n".join(lines)
    print(text)
    (args.results / "shadow-recommender.md").write_text(text)


if __name__ == "__main__":
    main()
