"""The recommendation service vs `mlflow models serve --env-manager local`, same model, same load.

Registers one ALS model (64 factors, MovieLens) in a throwaway workspace, starts both servers
on loopback (one worker each unless --workers says otherwise for ours), drives them with wrk
(Debian package `wrk`; bounded: fixed connections and duration) with identical workloads, and
prints requests/s, users/s, p50, p99 and the ratios as a markdown table:

    .venv/bin/python benchmarks/serving.py [--duration 10] [--workers 1]

Bodies: ours `{"users": [...], "k": 10}`; the peer's `{"dataframe_records": [{"user_id": ..}],
"params": {"k": 10}}`. User ids rotate over every MovieLens user. Targets (issue 3): >= 5x the
peer's single-user req/s at 8 connections; p50 <= 1.0 ms at 1 connection; >= 2x the peer's
users/s with 100-user batches; a 1,000-user batch in < 50 ms.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

BIN = Path(sys.executable).parent
MODEL = "models:/movielens-recommender@champion"

LUA = """
local users = {%(users)s}
local batch, i = %(batch)d, 0
request = function()
  local parts = {}
  for j = 1, batch do
    i = i %% #users + 1
    parts[j] = %(item)s
  end
  return wrk.format("POST", "%(path)s", {["Content-Type"] = "application/json"},
                    %(open)s .. table.concat(parts, ",") .. %(close)s)
end
"""
BODIES = {  # service -> (path, per-user Lua expression, body opening, body closing)
    "mlwb": ("/recommendations", "users[i]", "'{\"users\":['", "'],\"k\":10}'"),
    "peer": ("/invocations", "'{\"user_id\":' .. users[i] .. '}'", "'{\"dataframe_records\":['",
             "'],\"params\":{\"k\":10}}'"),
}


@dataclass(frozen=True)
class Result:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(url: str, process: subprocess.Popen, timeout: float = 120) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return time.perf_counter() - started
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} not ready after {timeout}s")


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children (the peer is a launcher + uvicorn)."""
    out = subprocess.run(["ps", "-o", "rss=", "--ppid", str(pid)], capture_output=True, text=True)
    own = subprocess.run(["ps", "-o", "rss=", "-p", str(pid)], capture_output=True, text=True)
    return sum(int(v) for v in (out.stdout + own.stdout).split()) / 1024


def _ms(text: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    if match is None:
        return float("nan")
    value, unit = match.groups()
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def wrk(port: int, service: str, users: list[int], batch: int, connections: int,
        duration: float, workdir: Path) -> Result:
    path, item, opening, closing = BODIES[service]
    script = workdir / f"{service}-{batch}.lua"
    script.write_text(LUA % {"users": ",".join(map(str, users)), "batch": batch, "item": item,
                             "path": path, "open": opening, "close": closing})
    threads = min(2, connections)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{int(duration)}s", "--latency",
               "--timeout", "30s", "-s", str(script), f"http://127.0.0.1:{port}"]
    subprocess.run(command[:3] + ["-d2s"] + command[4:], capture_output=True, check=True)  # warm
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"50%\s+(\S+)", out).group(1))
    p99 = _ms(re.search(r"99%\s+(\S+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    failed = (int(errors.group(1)) if errors else 0) + (
        sum(map(int, socket.groups())) if socket else 0)
    return Result(rate, p50, p99, failed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--workers", type=int, default=1, help="mlwb serve workers")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")

    from mlworkbench.config import get_settings
    from mlworkbench.data.datasets import load_movielens
    from mlworkbench.training.recommender import RECOMMENDER
    from mlworkbench.training.train import train

    workdir = Path(tempfile.mkdtemp(prefix="mlwb-bench-serving-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLWB_", "MLFLOW_"))}
    env.update(MLWB_HOME=str(workdir / "mlwb"), OPENBLAS_NUM_THREADS="1",
               PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
               MLWB_ALIAS_POLL_SECONDS="0")
    os.environ.update(MLWB_HOME=env["MLWB_HOME"])
    get_settings.cache_clear()
    data = load_movielens()
    result = train(RECOMMENDER, data=data)
    users = sorted(int(u) for u in data.ratings.user_id.unique())
    env["MLFLOW_TRACKING_URI"] = get_settings().resolved_tracking_uri

    ports = {"mlwb": free_port(), "peer": free_port()}
    commands = {
        "mlwb": [str(BIN / "mlwb"), "serve", MODEL, "--port", str(ports["mlwb"]),
                 "--workers", str(args.workers)],
        "peer": [str(BIN / "mlflow"), "models", "serve", "-m", MODEL, "--env-manager", "local",
                 "--host", "127.0.0.1", "--port", str(ports["peer"]), "--workers", "1"],
    }
    ready_path = {"mlwb": "/ready", "peer": "/ping"}
    rows: dict[str, dict[str, Result]] = {}
    facts: dict[str, tuple[float, float]] = {}
    for service in ("peer", "mlwb"):  # one at a time: neither steals the other's cores
        log = (workdir / f"{service}.log").open("w")
        process = subprocess.Popen(commands[service], env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        try:
            startup = wait_ready(f"http://127.0.0.1:{ports[service]}{ready_path[service]}",
                                 process)
            port = ports[service]
            rows[service] = {
                "single, c=8": wrk(port, service, users, 1, 8, args.duration, workdir),
                "single, c=1": wrk(port, service, users, 1, 1, args.duration, workdir),
                "batch 100, c=8": wrk(port, service, users, 100, 8, args.duration, workdir),
                "batch 1000, c=1": wrk(port, service, users, 1000, 1, args.duration, workdir),
            }
            facts[service] = (startup, rss_mib(process.pid))
        finally:
            os.killpg(process.pid, 15)
            process.wait(timeout=30)
            log.close()

    batch_of = {"single, c=8": 1, "single, c=1": 1, "batch 100, c=8": 100, "batch 1000, c=1": 1000}
    print(f"\nmodel {result.registered_name} v{result.version} (ALS, 64 factors), "
          f"{len(users)} users; wrk {args.duration:.0f}s per row; mlwb workers={args.workers}, "
          "peer workers=1; 127.0.0.1\n")
    print("| workload | peer req/s | peer users/s | peer p50 / p99 ms | mlwb req/s | mlwb users/s "
          "| mlwb p50 / p99 ms | users/s ratio | errors (peer/mlwb) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, batch in batch_of.items():
        peer, ours = rows["peer"][name], rows["mlwb"][name]
        print(f"| {name} | {peer.requests_per_s:,.0f} | {peer.requests_per_s * batch:,.0f} "
              f"| {peer.p50_ms:.2f} / {peer.p99_ms:.2f} | {ours.requests_per_s:,.0f} "
              f"| {ours.requests_per_s * batch:,.0f} | {ours.p50_ms:.2f} / {ours.p99_ms:.2f} "
              f"| {ours.requests_per_s / peer.requests_per_s:.1f}x | {peer.errors}/{ours.errors} |")
    for service, (startup, rss) in facts.items():
        print(f"{service}: startup to first ready {startup:.1f} s, resident memory {rss:.0f} MiB")
    single, c1 = rows["mlwb"]["single, c=8"], rows["mlwb"]["single, c=1"]
    batch, big = rows["mlwb"]["batch 100, c=8"], rows["mlwb"]["batch 1000, c=1"]
    checks = [
        ("single-user req/s at c=8 >= 5x peer",
         single.requests_per_s >= 5 * rows["peer"]["single, c=8"].requests_per_s),
        ("p50 at c=1 <= 1.0 ms", c1.p50_ms <= 1.0),
        ("users/s with 100-user batches >= 2x peer",
         batch.requests_per_s >= 2 * rows["peer"]["batch 100, c=8"].requests_per_s),
        ("1,000-user batch p50 < 50 ms", big.p50_ms < 50),
    ]
    print()
    for label, ok in checks:
        print(f"{'PASS' if ok else 'MISS'}  {label}")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
