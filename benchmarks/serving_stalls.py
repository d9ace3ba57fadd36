"""Where a served request's tail latency comes from: event-loop stalls, timed and attributed.

A p99 many times the p50 means the event loop sometimes stops answering. This serves the
model in this process (`mlwb serve`'s app, its defaults, one worker), drives it with wrk,
and records every time the loop fell more than ``--lag-ms`` behind a 1 ms heartbeat, every
garbage-collector pause, and every prediction-log writer round, so the longest stalls can
be laid beside what ran then:

    .venv/bin/python benchmarks/serving_stalls.py --home DIR [--family recommender]
        [--load "batch 100, c=8"] [--duration 10]

``--home`` is a workspace with the family's champion registered (benchmarks/serving_cpu.py
--home DIR trains one and keeps it).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import asyncio  # noqa: E402
import gc  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from http_load import parse, wrk_command  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--family", choices=["recommender", "classifier"], default="recommender")
    parser.add_argument("--load", default="single, c=8")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--lag-ms", type=float, default=10.0)
    args = parser.parse_args()
    os.environ["MLWB_HOME"] = str(args.home)

    import uvicorn
    from serving_cpu import loads

    from mlworkbench import families
    from mlworkbench.config import get_settings
    from mlworkbench.serving.app import build_app
    from mlworkbench.serving.prediction_log import PredictionLog
    from serving import free_port

    get_settings.cache_clear()
    settings = get_settings()
    model = {"recommender": "models:/movielens-recommender@champion",
             "classifier": "models:/titanic-classifier@champion"}[args.family]
    app = build_app(model, families.get(args.family).served, settings)
    load = next(load for load in loads(args.family, settings) if load.name == args.load)
    events: list[tuple[float, str, float]] = []  # (monotonic start, what, ms)

    gc_started = [0.0]

    def on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            gc_started[0] = time.perf_counter()
        else:
            events.append((gc_started[0], f"gc gen{info['generation']} "
                           f"collected {info['collected']}",
                           (time.perf_counter() - gc_started[0]) * 1e3))

    cycle = PredictionLog._cycle

    def timed_cycle(self: PredictionLog, deadline: float = float("inf")) -> bool:
        started, held = time.perf_counter(), self.held
        try:
            return cycle(self, deadline)
        finally:
            events.append((started, f"prediction-log round ({held} rows)",
                           (time.perf_counter() - started) * 1e3))

    PredictionLog._cycle = timed_cycle  # type: ignore[method-assign]
    gc.callbacks.append(on_gc)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, access_log=False,
                                           log_level="warning"))

    async def heartbeat() -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.001)
            late = (time.perf_counter() - before) * 1e3 - 1.0
            if late > args.lag_ms:
                events.append((before, "LOOP STALL", late))

    def drive() -> None:
        while not server.started:
            time.sleep(0.05)
        script = args.home / "stalls.lua"
        script.write_text(load.requests["mlwb"].script(load.batch))
        command = wrk_command(port, load, int(args.duration), script)
        subprocess.run(wrk_command(port, load, 2, script), capture_output=True)
        events.clear()
        started = time.perf_counter()
        out = subprocess.run(command, capture_output=True, text=True).stdout
        sample = parse(out)
        print(f"{load.name}: {sample.requests_per_s:,.0f} req/s, p50 {sample.p50_ms:.2f} ms, "
              f"p99 {sample.p99_ms:.2f} ms")
        log = app.state.service.log
        print(f"prediction log: {log.written} rows written, {log.held} held in memory, "
              f"{log.dropped} dropped, journal {log.journal.rows() if log.journal else 0}")
        stalls = sorted((e for e in events if e[1] == "LOOP STALL"), key=lambda e: -e[2])
        print(f"loop stalls > {args.lag_ms:g} ms: {len(stalls)}, "
              f"total {sum(e[2] for e in stalls):.0f} ms in {args.duration:g} s")
        others = [e for e in events if e[1] != "LOOP STALL"]
        for kind in ("gc gen0", "gc gen1", "gc gen2", "prediction-log round"):
            times = [e[2] for e in others if e[1].startswith(kind)]
            if times:
                print(f"  {kind}: {len(times)} x, max {max(times):.1f} ms, "
                      f"total {sum(times):.0f} ms")
        for start, _what, ms in stalls[:12]:
            overlapping = [f"{what} {took:.0f} ms" for at, what, took in others
                           if took >= 1.0 and at < start + ms / 1e3
                           and at + took / 1e3 > start - 0.001]
            print(f"  t={start - started:6.2f}s stall {ms:6.1f} ms  during: "
                  f"{'; '.join(overlapping) or '-'}")
        server.should_exit = True

    threading.Thread(target=drive, daemon=True).start()

    async def serve() -> None:
        beat = asyncio.ensure_future(heartbeat())
        await server.serve()
        beat.cancel()

    import uvloop  # what `mlwb serve` runs on (uvicorn's loop=auto)

    uvloop.run(serve())


if __name__ == "__main__":
    main()
