"""CPU time per request of `mlwb serve`: what a change to the hot path costs, on a busy machine.

Wall-clock req/s swings with whatever else runs on a shared machine; the CPU time the serving
process spends per request does not (much). This starts `mlwb serve` (one worker, its
defaults: alias polling, prediction log to SQLite) on a registered model, drives each load
with wrk, and reads the process's utime + stime (every thread: the event loop, the
prediction-log writer, the alias poller) from /proc before and after:

    .venv/bin/python benchmarks/serving_cpu.py [--family recommender|classifier]
        [--duration 10] [--home DIR] [--profile]

``--home`` keeps the workspace (the trained model) for the next run; ``--profile`` records
each load with py-spy and adds the functions with the largest shares of samples (inclusive
and self) to the raw output, benchmarks/results/serving-cpu-FAMILY.txt.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from http_load import (  # noqa: E402
    Load,
    Request,
    check_answers,
    cpu_seconds,
    parse,
    running,
    wrk_command,
)
from http_load import Service as Served  # noqa: E402

BIN = Path(sys.executable).parent
RESULTS = Path(__file__).parent / "results"
def summary(folded: Path, top: int = 30) -> str:
    """The functions with the largest shares of samples, inclusive and self, from py-spy's
    collapsed stacks (``frame;frame;... count`` per line)."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in folded.read_text().splitlines() if folded.exists() else []:
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        total += int(count)
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + int(count)
        own[frames[-1]] = own.get(frames[-1], 0) + int(count)
    if not total:
        return "(no samples)\n"
    lines = [f"{total} samples"]
    for title, table in (("inclusive", inclusive), ("self", own)):
        lines.append(f"-- {title}")
        lines += [f"{count / total:6.1%}  {frame}"
                  for frame, count in sorted(table.items(), key=lambda kv: -kv[1])[:top]]
    return "\n".join(lines) + "\n"


def loads(family: str, settings) -> list[Load]:
    if family == "recommender":
        from mlworkbench.data.datasets import load_movielens

        users = [str(u) for u in sorted(int(u) for u in load_movielens().ratings.user_id.unique())]
        ours = {"mlwb": Request("POST", "/recommendations", users, '{"users":[', '],"k":10}')}
        return [Load("single, c=8", 1, 8, ours), Load("single, c=1", 1, 1, ours),
                Load("batch 100, c=8", 100, 8, ours), Load("batch 1000, c=1", 1000, 1, ours)]
    import json
    import math

    from mlworkbench.models.classifier import features_frame
    from mlworkbench.training.classifier import CLASSIFIER
    from serving import _query

    frame = features_frame(CLASSIFIER.load_data(settings).passengers)
    records = [{name: (None if isinstance(value, float) and math.isnan(value) else value)
                for name, value in row.items()} for row in frame.to_dict(orient="records")]
    single = {"mlwb": Request("GET", "/predict?", [_query(r) for r in records])}
    batch = {"mlwb": Request("POST", "/predict",
                             [json.dumps(r, separators=(",", ":")) for r in records],
                             '{"passengers":[', "]}")}
    return [Load("single, c=8", 1, 8, single), Load("single, c=1", 1, 1, single),
            Load("batch 100, c=8", 100, 8, batch)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", choices=["recommender", "classifier"], default="recommender")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--home", type=Path, default=None, help="workspace kept between runs")
    parser.add_argument("--profile", action="store_true", help="py-spy flame graph per load")
    parser.add_argument("--only", default="", help="run only loads whose name contains this")
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="mlwb-bench-cpu-"))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MLWB_", "MLFLOW_", "UVICORN_"))}
    env.update(MLWB_HOME=str(home), OPENBLAS_NUM_THREADS="1",
               PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}")
    os.environ["MLWB_HOME"] = str(home)

    from mlworkbench.config import get_settings
    from serving import free_port, train_models

    get_settings.cache_clear()
    settings = get_settings()
    model = {"recommender": "models:/movielens-recommender@champion",
             "classifier": "models:/titanic-classifier@champion"}[args.family]
    marker = home / f".trained-{args.family}"
    if not marker.exists():
        train_models(settings, [args.family])
        marker.touch()
    port = free_port()
    service = Served("mlwb", [str(BIN / "mlwb"), "serve", model, "--workers", "1", "--port",
                              str(port)], port, "/ready")
    RESULTS.mkdir(parents=True, exist_ok=True)
    lines = [f"$ {' '.join(['.venv/bin/python', 'benchmarks/serving_cpu.py', *sys.argv[1:]])}",
             f"# load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}",
             "| load | requests | req/s | p50 ms | p99 ms | CPU ms/request | CPU us/record |",
             "|---|---|---|---|---|---|---|"]
    raw = []
    with running(service, env, home / "serve.log") as (pid, _ready):
        for load in loads(args.family, settings):
            if args.only and args.only not in load.name:
                continue
            request = load.requests["mlwb"]
            check_answers(port, request, load.batch)
            script = home / "load.lua"
            script.write_text(request.script(load.batch))
            command = wrk_command(port, load, int(args.duration), script)
            subprocess.run(wrk_command(port, load, 2, script), capture_output=True)  # warm
            spy = None
            if args.profile:
                slug = re.sub(r"[^a-z0-9]+", "-", load.name)
                folded = home / f"profile-{args.family}-{slug}.folded"
                spy = subprocess.Popen([str(BIN / "py-spy"), "record", "--pid", str(pid),
                                        "--duration", str(int(args.duration)), "--rate", "250",
                                        "--nonblocking", "--nolineno", "--threads",
                                        "--format", "raw", "-o", str(folded)],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
                time.sleep(0.5)
            before = cpu_seconds(pid)
            done = subprocess.run(command, capture_output=True, text=True)
            after = cpu_seconds(pid)
            if spy is not None:
                spy.wait()
                raw.append(f"## profile of {load.name} (py-spy, share of samples)\n"
                           + summary(folded))
            raw.append(f"## {load.name}\n$ {' '.join(command)}\nexit {done.returncode}\n"
                       f"{done.stdout}{done.stderr}")
            if done.returncode != 0:
                lines.append(f"| {load.name} | wrk exit {done.returncode}: "
                             f"{done.stderr.strip()[:200]} |")
                continue
            sample = parse(done.stdout)
            count = int(re.search(r"(\d+) requests in", done.stdout).group(1))
            per_request = (after - before) / count * 1e3
            lines.append(f"| {load.name} | {count} | {sample.requests_per_s:,.0f} | "
                         f"{sample.p50_ms:.2f} | {sample.p99_ms:.2f} | {per_request:.3f} | "
                         f"{per_request * 1e3 / load.batch:.1f} |")
            print(lines[-1], flush=True)
    out = RESULTS / f"serving-cpu-{args.family}.txt"
    out.write_text("\n".join(lines) + "\n\n" + "\n".join(raw))
    print("\n".join(lines))
    print(f"raw: {out}")


if __name__ == "__main__":
    main()
