"""The local stack (`mlwb up`): start times, memory per service, and a killed service's restart.

In a fresh workspace on free ports, as a user runs it (each step a new `mlwb` process):
`mlwb up` from an empty workspace; one authenticated tracking request to the MLflow server
(median of 20); `mlwb train recommender` through the stack; `mlwb up`
again (starts the API for the new champion); `mlwb up` with everything running; the
resident memory of each service's process tree (RSS, and PSS, which counts shared pages
once); a `kill -9` of the MLflow server until supervisord has it healthy again; `mlwb down`
and `mlwb up` on the workspace that now holds data; `mlwb down`. Prints a table and saves it
under benchmarks/results/stack-<time>.txt.

    .venv/bin/python benchmarks/stack.py
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from raw_output import report  # noqa: E402

from mlworkbench.config import Settings
from mlworkbench.platform.processes import descendants, port_free
from mlworkbench.platform.services import GRPC_OFFSET
from mlworkbench.platform.stack import Stack

MLWB = str(Path(sys.executable).with_name("mlwb"))
PORTS = ("MLWB_S3_PORT", "MLWB_MLFLOW_PORT", "MLWB_SERVE_PORT", "MLWB_POSTGRES_PORT",
         "MLWB_SIMULATOR_PORT", "MLWB_CLASSIFIER_PORT", "MLWB_MONITORING_PORT")


def free_ports() -> dict[str, str]:
    """Every stack port on a free port whose +10000 twin is free too (SeaweedFS's gRPC)."""
    rng, taken, chosen = random.Random(), set(), {}
    for name, size in (("MLWB_S3_AUX_PORT", 4), *((name, 1) for name in PORTS)):
        while True:
            first = rng.randrange(15_000, 22_000)
            ports = {first + i + twin for i in range(size) for twin in (0, GRPC_OFFSET)}
            if not ports & taken and all(port_free("127.0.0.1", port) for port in ports):
                taken |= ports
                chosen[name] = str(first)
                break
    return chosen


def mlwb(env: dict[str, str], *args: str, check: bool = True) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run([MLWB, *args], env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0 and check:
        raise SystemExit(f"`mlwb {' '.join(args)}` failed ({done.returncode}):\n"
                         f"{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return seconds, done.stdout + done.stderr


def reported(output: str, line: str) -> float:
    """The seconds on the line of `mlwb up`'s output that starts with ``line``: "stack
    healthy in 13.2 s", "s3: healthy at http://... (1.6 s)"."""
    found = re.search(rf"^{re.escape(line)}.*?\(?([\d.]+) s\)?$", output, re.M)
    return float(found.group(1)) if found else float("nan")


def memory_mib(pid: int) -> tuple[float, float]:
    """RSS and PSS of ``pid`` and its descendants (``/proc/<pid>/smaps_rollup``), MiB."""
    rss = pss = 0
    for member in descendants(pid):
        try:
            text = Path(f"/proc/{member}/smaps_rollup").read_text()
        except OSError:
            continue
        rss += int(re.search(r"^Rss:\s+(\d+)", text, re.M).group(1))
        pss += int(re.search(r"^Pss:\s+(\d+)", text, re.M).group(1))
    return rss / 1024, pss / 1024


def healthy_after(stack: Stack, name: str, started: float, timeout_s: float = 300) -> float:
    """Seconds from ``started`` until the service answers its health check (``up`` may have
    stopped waiting first on a loaded machine; supervisord goes on starting it)."""
    while time.perf_counter() - started < timeout_s:
        if {row.name: row for row in stack.status()}[name].healthy:
            return time.perf_counter() - started
        time.sleep(0.2)
    return float("nan")


def restart_seconds(stack: Stack, name: str, timeout_s: float = 120) -> float:
    """``kill -9`` the service's process; seconds until a new one answers its health check."""
    before = {row.name: row for row in stack.status()}[name].pid
    os.kill(before, signal.SIGKILL)
    started = time.perf_counter()
    while time.perf_counter() - started < timeout_s:
        row = {row.name: row for row in stack.status()}[name]
        if row.pid not in (None, before) and row.healthy:
            return time.perf_counter() - started
        time.sleep(0.1)
    return float("nan")


def tracking_request_seconds(stack: Stack, times: int = 20) -> float:
    """Median seconds of one authenticated REST call (search experiments) to the server."""
    from mlflow import MlflowClient

    credentials = stack.client_settings
    if "tracking_username" in credentials:  # MLWB_MLFLOW_AUTH=false: the server asks for none
        os.environ["MLFLOW_TRACKING_USERNAME"] = credentials["tracking_username"]
        os.environ["MLFLOW_TRACKING_PASSWORD"] = credentials["tracking_password"]
    client = MlflowClient(stack.settings.stack_tracking_uri)
    seconds = []
    for _ in range(times):
        started = time.perf_counter()
        client.search_experiments(max_results=1)
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    root = Path(tempfile.mkdtemp(prefix="mlwb-stack-bench-"))
    root.chmod(0o755)  # PostgreSQL runs as `postgres` when we are root: it must enter
    home = root / "ws"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLWB_", "MLFLOW_"))}
    env.update(MLWB_HOME=str(home), OPENBLAS_NUM_THREADS="1", **free_ports())
    rows: list[tuple[str, float]] = []
    memory: dict[str, tuple[float, float]] = {}
    try:
        seconds, out = mlwb(env, "up")
        rows += [("`mlwb up`, empty workspace (process)", seconds),
                 ("  stack healthy, as `up` reports it", reported(out, "stack healthy in")),
                 ("  postgres healthy (initdb included)", reported(out, "postgres: healthy")),
                 ("  s3 healthy", reported(out, "s3: healthy")),
                 ("  mlflow + simulator healthy", reported(out, "simulator: healthy"))]
        settings = Settings(**{k.removeprefix("MLWB_").lower(): v for k, v in env.items()
                               if k.startswith("MLWB_")})
        stack = Stack(settings)
        rows.append(("a tracking request through the server (median of 20)",
                     tracking_request_seconds(stack)))
        rows.append(("`mlwb train recommender` through the stack",
                     mlwb(env, "train", "recommender")[0]))
        started = time.perf_counter()
        seconds, out = mlwb(env, "up", check=False)
        rows += [("`mlwb up` that starts the API (champion now)", seconds),
                 ("  API healthy, as `up` reports it", reported(out, "api: healthy")),
                 ("  API healthy, from the start of that `up`",
                  healthy_after(stack, "api", started))]
        rows.append(("`mlwb up`, everything running", mlwb(env, "up")[0]))
        for row in stack.status():
            if row.pid is not None:
                memory[row.name] = memory_mib(row.pid)
        rows.append(("MLflow server killed (-9) -> healthy again",
                     restart_seconds(stack, "mlflow")))
        mlwb(env, "down")
        started = time.perf_counter()
        rows.append(("`mlwb up`, workspace with data (API included)",
                     mlwb(env, "up", check=False)[0]))
        rows.append(("  API healthy, from the start of that `up`",
                     healthy_after(stack, "api", started)))
    finally:
        subprocess.run([MLWB, "down"], env=env, capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)
    load = os.getloadavg()
    lines = [f"mlwb up on {os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} / "
             f"{load[2]:.1f} at the end", f"{'measure':<54}{'seconds':>9}"]
    lines += [f"{name:<54}{value:>9.3f}" if value < 1 else f"{name:<54}{value:>9.1f}"
              for name, value in rows]
    lines += ["", f"{'service (process tree)':<28}{'RSS MiB':>9}{'PSS MiB':>9}"]
    lines += [f"{name:<28}{rss:>9.0f}{pss:>9.0f}" for name, (rss, pss) in memory.items()]
    lines.append(f"{'total':<28}{sum(r for r, _ in memory.values()):>9.0f}"
                 f"{sum(p for _, p in memory.values()):>9.0f}")
    report("stack", lines)


if __name__ == "__main__":
    main()
