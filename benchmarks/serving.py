"""`mlwb serve` vs `mlflow models serve --env-manager local`: same registered model, same load.

Registers both families' models in a throwaway workspace (ALS, 64 factors, on MovieLens as
movielens-recommender; logistic regression on Titanic as titanic-classifier), starts each
server on loopback (one worker each unless --workers says otherwise for ours; one server at a
time, so neither steals the other's cores), and drives them with wrk (Debian package `wrk`;
bounded: fixed connections and duration) with the same records in each one's request form.
--rounds rounds alternate which server goes first; a cell is the median over rounds, req/s
with its min-max. Raw wrk output is saved under benchmarks/results/, each table as
benchmarks/results/serving-FAMILY.md:

    .venv/bin/python benchmarks/serving.py [--family all|recommender|classifier]
        [--duration 10] [--rounds 3] [--workers 1] [--access-log] [--results DIR]

Request logging is the same on both sides: uvicorn's access log off (`mlwb serve`'s default;
the peer's uvicorn gets UVICORN_ACCESS_LOG=false), or on on both with --access-log. Ours also
writes its prediction log, as it does in production; the peer has none.

Recommender: ours `{"users": [...], "k": 10}` to /recommendations, the peer's
`{"dataframe_records": [{"user_id": ..}], "params": {"k": 10}}` to /invocations; user ids
rotate over every MovieLens user. Targets: >= 5x the peer's single-user req/s at 8
connections; p50 <= 1.0 ms at 1 connection; >= 2x the peer's users/s with 100-user batches;
a 1,000-user batch in < 50 ms.

Classifier: ours GET /predict?pclass=..&sex=..&age=..&sibsp=..&parch=.. for one passenger and
POST /predict `{"passengers": [...]}` for 100; the peer's /invocations
`{"dataframe_records": [...]}` for both; passengers rotate over every Titanic passenger in the
store (a missing age omitted from the query, null in JSON). Targets at 8 connections: >= 5x
the peer's req/s (passengers/s for batches), no socket error and no non-2xx answer on either
side, p99 no worse than the peer's.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

from http_load import Load, Measured, Request, Service, measure, table  # noqa: E402

BIN = Path(sys.executable).parent
RESULTS = Path(__file__).parent / "results"
PEER, OURS = "peer", "mlwb"
Check = tuple[str, bool]


@dataclass(frozen=True)
class Section:
    tag: str
    model: str
    heading: str
    unit: str
    loads: list[Load]
    checks: Callable[[Measured], list[Check]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def peer_records(records: list[str], open_: str = "", close: str = "") -> Request:
    return Request("POST", "/invocations", records, '{"dataframe_records":[' + open_,
                   "]" + close + "}")


def faster(measured: Measured, load: str, times: float, unit: str) -> Check:
    """Median over rounds of the round's ratio: each round's pair ran under the same load."""
    ratio = statistics.median(measured.ratios(OURS, PEER, load))
    return f"{load}: {unit}/s >= {times:g}x peer (median of per-round ratios)", ratio >= times


def clean(measured: Measured, loads: list[Load]) -> Check:
    failures = sum(sum(measured.failures(side, load.name)) for side in (OURS, PEER)
                   for load in loads)
    return "no socket error, no non-2xx answer, either side, every row", failures == 0


def recommender(settings) -> Section:
    from mlworkbench.data.datasets import load_movielens
    from mlworkbench.training.recommender import RECOMMENDER
    from mlworkbench.training.train import train

    data = load_movielens()
    result = train(RECOMMENDER, data=data, settings=settings)
    users = [str(u) for u in sorted(int(u) for u in data.ratings.user_id.unique())]
    ours = Request("POST", "/recommendations", users, '{"users":[', '],"k":10}')
    peer = peer_records([f'{{"user_id":{u}}}' for u in users], close=',"params":{"k":10}')
    both = {OURS: ours, PEER: peer}
    loads = [Load("single, c=8", 1, 8, both), Load("single, c=1", 1, 1, both),
             Load("batch 100, c=8", 100, 8, both), Load("batch 1000, c=1", 1000, 1, both)]

    def checks(m: Measured) -> list[Check]:
        return [faster(m, "single, c=8", 5, "req"),
                ("single, c=1: p50 <= 1.0 ms", m.median(OURS, "single, c=1", "p50_ms") <= 1.0),
                faster(m, "batch 100, c=8", 2, "users"),
                ("batch 1000, c=1: p50 < 50 ms",
                 m.median(OURS, "batch 1000, c=1", "p50_ms") < 50)]

    return Section("recommender", "models:/movielens-recommender@champion",
                   f"model {result.registered_name} v{result.version} (ALS, 64 factors), "
                   f"{len(users)} users", "users", loads, checks)


def _query(record: dict) -> str:
    return "&".join(f"{name}={value}" for name, value in record.items() if value is not None)


def classifier(settings) -> Section:
    from mlworkbench.models.classifier import features_frame
    from mlworkbench.training.classifier import CLASSIFIER
    from mlworkbench.training.train import train

    result = train(CLASSIFIER, settings=settings)
    frame = features_frame(CLASSIFIER.load_data(settings).passengers)
    records = [{name: (None if isinstance(value, float) and math.isnan(value) else value)
                for name, value in row.items()} for row in frame.to_dict(orient="records")]
    as_json = [json.dumps(r, separators=(",", ":")) for r in records]
    single = {OURS: Request("GET", "/predict?", [_query(r) for r in records]),
              PEER: peer_records(as_json)}
    batch = {OURS: Request("POST", "/predict", as_json, '{"passengers":[', "]}"),
             PEER: peer_records(as_json)}
    loads = [Load("single, c=8", 1, 8, single), Load("batch 100, c=8", 100, 8, batch)]

    def checks(m: Measured) -> list[Check]:
        return [faster(m, "single, c=8", 5, "req"),
                faster(m, "batch 100, c=8", 5, "passengers"), clean(m, loads),
                *((f"{load.name}: p99 no worse than the peer's",
                   m.median(OURS, load.name, "p99_ms") <= m.median(PEER, load.name, "p99_ms"))
                  for load in loads)]

    return Section("classifier", "models:/titanic-classifier@champion",
                   f"model {result.registered_name} v{result.version} (logistic regression), "
                   f"{len(records)} passengers", "passengers", loads, checks)


def services(model: str, workers: int) -> list[Service]:
    ours, peer = free_port(), free_port()
    return [Service(PEER, [str(BIN / "mlflow"), "models", "serve", "-m", model, "--env-manager",
                           "local", "--host", "127.0.0.1", "--port", str(peer), "--workers",
                           "1"], peer, "/ping"),
            Service(OURS, [str(BIN / "mlwb"), "serve", model, "--port", str(ours), "--workers",
                           str(workers)], ours, "/ready")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", choices=["all", "recommender", "classifier"], default="all")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, alternating who is first")
    parser.add_argument("--workers", type=int, default=1, help="mlwb serve workers")
    parser.add_argument("--access-log", action="store_true", help="uvicorn access log on both")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where raw output goes")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")

    from mlworkbench.config import get_settings

    workdir = Path(tempfile.mkdtemp(prefix="mlwb-bench-serving-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLWB_", "MLFLOW_"))}
    env.update(MLWB_HOME=str(workdir / "mlwb"), OPENBLAS_NUM_THREADS="1",
               PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", MLWB_ALIAS_POLL_SECONDS="0",
               UVICORN_ACCESS_LOG=str(args.access_log).lower())
    os.environ.update(MLWB_HOME=env["MLWB_HOME"])
    get_settings.cache_clear()
    settings = get_settings()
    env["MLFLOW_TRACKING_URI"] = settings.resolved_tracking_uri
    args.results.mkdir(parents=True, exist_ok=True)
    families = ["recommender", "classifier"] if args.family == "all" else [args.family]
    for stale in args.results.glob("serving-*"):
        if any(stale.name.startswith(f"serving-{family}-") for family in families):
            stale.unlink()
    for family in families:
        section = {"recommender": recommender, "classifier": classifier}[family](settings)
        sides = services(section.model, args.workers)
        if args.access_log:
            sides[1].command.append("--access-log")
        measured = measure(sides, section.loads, args.rounds, args.duration, env, workdir,
                           args.results, section.tag)
        lines = [f"{section.heading}; wrk {args.duration:.0f}s per row, {args.rounds} round(s); "
                 f"{OURS} workers={args.workers}, {PEER} workers=1; access log "
                 f"{'on' if args.access_log else 'off'} on both; 127.0.0.1", "",
                 *table(measured, section.loads, section.unit, PEER, OURS), "",
                 *(f"{'PASS' if ok else 'FAIL'}  {label}"
                   for label, ok in section.checks(measured)),
                 ""]
        print("\n" + "\n".join(lines), flush=True)
        saved = ["```", *lines[:-1], "```", ""]
        (args.results / f"serving-{section.tag}.md").write_text("\n".join(saved))
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
