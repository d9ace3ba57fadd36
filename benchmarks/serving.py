"""`mlwb serve` vs `mlflow models serve --env-manager local`: same registered model, same load.

One command, on a machine as quiet as you can get (it prints itself at the start and end):

    .venv/bin/python benchmarks/serving.py

Registers both families' models in a throwaway workspace (ALS, 64 factors, on MovieLens as
movielens-recommender; logistic regression on Titanic as titanic-classifier), starts a
section's servers on loopback (one worker each unless named), and drives them one at a time
with wrk (Debian package `wrk`; fixed connections and duration; every request built before
wrk starts its clock) with the same records in each one's request form, so none steals the
others' cores; the one waiting its turn idles, and the CPU it spends meanwhile is printed.
Options: [--family
all|recommender|classifier|workers] [--duration 10] [--rounds 3] [--access-log]
[--results DIR].

Fair by construction:
- Request logging is the same on both sides: uvicorn's access log off on both (`mlwb serve`'s
  default; the peer's uvicorn gets UVICORN_ACCESS_LOG=false), or on on both with
  --access-log; the access-log lines each side wrote are counted and printed as evidence.
- Ours runs with its default settings: alias polling on, prediction log on (SQLite store).
- --rounds rounds (3) alternate which server goes first; a cell is the median over rounds
  with its min-max; a ratio is the median of per-round ratios. The 1-minute load average
  when each row started, the CPU time the hypervisor took meanwhile, and the CPU time an
  answer took in the server and in wrk are in the table and in each raw file.
- Section `workers` compares ours with ours near what two cores allow, where a drift in
  this virtual machine's speed would decide the ratio (its raw files list every turn: the
  same server's rate moves by tens of per cent within a minute): its sides take turns of 5 s
  (A B C C B A, then C B A A B C in the next round), so a steady drift reaches them alike; a
  side's turns are merged (answers over seconds, latencies pooled). Turns of 5 s, not less:
  what the prediction log writes a second after the answers is not in a turn's window.
- Raw wrk output: benchmarks/results/serving-FAMILY-SIDE-LOAD-rROUND.txt; each table:
  benchmarks/results/serving-FAMILY.md.
- A target PASSes only if, besides its number, the run had zero socket errors and zero
  non-2xx answers on every side in every row, and all gave the same answers for a sample of
  users (the top-10 item ids) or passengers (P(survived) to 6 places), asked in every round.
- Memory: the processes that serve (RSS and PSS); the peer's launcher
  (`mlflow models serve`, idle once uvicorn runs) is counted apart.

Targets (issue: honest benchmarks), from the medians: recommender single-user requests at 8
connections >= 8x the peer's req/s and p99 <= the peer's; p50 at 1 connection <= 0.5 ms;
100-user batches >= 4x the peer's users/s; a 1,000-user batch p50 < 25 ms; classifier GET
/predict at 8 connections >= 8x the peer's req/s (100-passenger batches >= 5x, p99 no worse);
`--workers 2` >= 1.6x our own one-worker single-user throughput (section `workers`: ours
against ours, same rounds and load; `--workers 2 --no-pin-workers`, uvicorn's one shared
socket, measured beside them).

The machine's part: the recommender section also drives `benchmarks/bare_service.py`
(bare-fastapi: one FastAPI route on uvicorn scoring the same registered model with the same
`Recommender.recommend`, no metrics, log, ids, headers or swap; its access log always off)
with ours' requests, and prints ours against it; the absolute targets print its figure beside
ours. What a machine's speed moves, it moves in both; the ratio is what the service costs.

Recommender: ours `{"users": [...], "k": 10}` to /recommendations, the peer's
`{"dataframe_records": [{"user_id": ..}], "params": {"k": 10}}` to /invocations; user ids
rotate over every MovieLens user. Classifier: ours GET /predict?pclass=..&sex=..&age=..
&sibsp=..&parch=.. for one passenger and POST /predict `{"passengers": [...]}` for 100; the
peer's /invocations `{"dataframe_records": [...]}` for both; passengers rotate over every
Titanic passenger in the store (a missing age omitted from the query, null in JSON).
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
import urllib.request  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

from http_load import Load, Measured, Request, Service, measure, table  # noqa: E402

BIN = Path(sys.executable).parent
RESULTS = Path(__file__).parent / "results"
PEER, OURS = "peer", "mlwb"
ONE, TWO = "mlwb-1-worker", "mlwb-2-workers"
SHARED = "mlwb-2-one-socket"  # --no-pin-workers: uvicorn's one shared listening socket
BARE = "bare-fastapi"  # benchmarks/bare_service.py: the same model, no service around it
SAMPLE = 40  # users / passengers whose answers must agree
Check = tuple[str, bool]
Answers = Callable[[int], list]


@dataclass(frozen=True)
class Section:
    tag: str
    model: str
    heading: str
    unit: str
    loads: list[Load]
    checks: Callable[[Measured], list[Check]]
    answers: dict[str, Answers]  # side -> port -> answers to the sample
    slice_s: float | None = None  # sides take turns of this many seconds (None: one run each)
    versus: tuple[tuple[str, str], ...] = ()  # more tables: (baseline, side)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def peer_records(records: list[str], open_: str = "", close: str = "") -> Request:
    return Request("POST", "/invocations", records, '{"dataframe_records":[' + open_,
                   "]" + close + "}")


def _ask(port: int, path: str, body: object | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data,
                                     {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def faster(measured: Measured, load: str, times: float, unit: str, ours: str = OURS,
           peer: str = PEER) -> Check:
    """Median over rounds of the round's ratio: each round's pair ran under the same load."""
    ratio = statistics.median(measured.ratios(ours, peer, load))
    return (f"{load}: {unit}/s {ratio:.2f}x {peer} (target >= {times:g}x, median of per-round "
            "ratios)"), ratio >= times


def tail(measured: Measured, load: str) -> Check:
    ours, peer = (measured.median(side, load, "p99_ms") for side in (OURS, PEER))
    return f"{load}: p99 {ours:.2f} ms vs peer {peer:.2f} ms (target <= peer)", ours <= peer


def below(measured: Measured, load: str, name: str, limit: float) -> Check:
    """An absolute target, with what the bare app measured beside it: the machine's part."""
    value = measured.median(OURS, load, name)
    bare = (f"; {BARE}, same model, no service: {measured.median(BARE, load, name):.2f} ms"
            if (BARE, load) in measured.samples else "")
    return (f"{load}: {name.removesuffix('_ms')} {value:.2f} ms (target <= {limit:g} ms{bare})",
            value <= limit)


def clean(measured: Measured, loads: list[Load], sides: tuple[str, ...]) -> Check:
    failures = sum(sum(measured.failures(side, load.name)) for side in sides for load in loads)
    return (f"{failures} socket errors + non-2xx answers, every side, every row (target 0)",
            failures == 0)


def agree(measured: Measured, sides: tuple[str, ...], what: str) -> Check:
    """Every side answered the sample the same way, in every round."""
    seen = [answers for side in sides for answers in measured.answers.get(side, [])]
    same = bool(seen) and all(answers == seen[0] for answers in seen)
    return f"the same answers for {SAMPLE} {what}, every side, every round", same


def verdicts(section: Section, measured: Measured, sides: tuple[str, ...]) -> list[str]:
    """PASS/FAIL per target; a target passes only when its number does and the run was clean
    (no socket error, no non-2xx, any side) and every side gave the same answers."""
    gates = [clean(measured, section.loads, sides)]
    if section.answers:
        gates.append(agree(measured, sides, section.unit))
    honest = all(ok for _, ok in gates)
    lines = [f"{'PASS' if ok and honest else 'FAIL'}  {section.tag}: {label}"
             + ("" if honest else " (run not clean or answers differ)")
             for label, ok in section.checks(measured)]
    return lines + [f"{'PASS' if ok else 'FAIL'}  {section.tag}: {label}" for label, ok in gates]


def recommender(settings, trained: dict) -> Section:
    data, result = trained["recommender"]
    users = [str(u) for u in sorted(int(u) for u in data.ratings.user_id.unique())]
    ours = Request("POST", "/recommendations", users, '{"users":[', '],"k":10}')
    peer = peer_records([f'{{"user_id":{u}}}' for u in users], close=',"params":{"k":10}')
    forms = {OURS: ours, PEER: peer, BARE: ours}  # each side's request form
    loads = [Load("single, c=8", 1, 8, forms), Load("single, c=1", 1, 1, forms),
             Load("batch 100, c=8", 100, 8, forms), Load("batch 1000, c=1", 1000, 1, forms)]
    sample = [int(u) for u in users[:: max(1, len(users) // SAMPLE)][:SAMPLE]]
    sample[-1] = 10**9  # an unknown user: popular items

    def ours_answers(port: int) -> list:
        return [[item["id"] for item in _ask(port, "/recommendations", {"users": [u], "k": 10})
                 ["recommendations"][0]["items"]] for u in sample]

    def peer_answers(port: int) -> list:
        out = []
        for u in sample:
            rows = _ask(port, "/invocations", {"dataframe_records": [{"user_id": u}],
                                               "params": {"k": 10}})["predictions"]
            out.append([row["item_id"] for row in sorted(rows, key=lambda r: r["rank"])])
        return out

    def checks(m: Measured) -> list[Check]:
        return [faster(m, "single, c=8", 8, "req"), tail(m, "single, c=8"),
                below(m, "single, c=1", "p50_ms", 0.5),
                faster(m, "batch 100, c=8", 4, "users"),
                below(m, "batch 1000, c=1", "p50_ms", 25)]

    return Section("recommender", "models:/movielens-recommender@champion",
                   f"model {result.registered_name} v{result.version} (ALS, 64 factors), "
                   f"{len(users)} users", "users", loads, checks,
                   {OURS: ours_answers, PEER: peer_answers, BARE: ours_answers},
                   versus=((BARE, OURS),))


def _query(record: dict) -> str:
    return "&".join(f"{name}={value}" for name, value in record.items() if value is not None)


def classifier(settings, trained: dict) -> Section:
    from mlworkbench.models.classifier import features_frame
    from mlworkbench.training.classifier import CLASSIFIER

    result = trained["classifier"]
    frame = features_frame(CLASSIFIER.load_data(settings).passengers)
    records = [{name: (None if isinstance(value, float) and math.isnan(value) else value)
                for name, value in row.items()} for row in frame.to_dict(orient="records")]
    as_json = [json.dumps(r, separators=(",", ":")) for r in records]
    single = {OURS: Request("GET", "/predict?", [_query(r) for r in records]),
              PEER: peer_records(as_json)}
    batch = {OURS: Request("POST", "/predict", as_json, '{"passengers":[', "]}"),
             PEER: peer_records(as_json)}
    loads = [Load("single, c=8", 1, 8, single), Load("batch 100, c=8", 100, 8, batch)]
    sample = records[:: max(1, len(records) // SAMPLE)][:SAMPLE]

    def ours_answers(port: int) -> list:
        return [_ask(port, "/predict?" + _query(r))["probability"] for r in sample]

    def peer_answers(port: int) -> list:
        answer = _ask(port, "/invocations", {"dataframe_records": sample})["predictions"]
        return [round(float(row[1]), 6) for row in answer]

    def checks(m: Measured) -> list[Check]:
        return [faster(m, "single, c=8", 8, "req"), tail(m, "single, c=8"),
                faster(m, "batch 100, c=8", 5, "passengers"), tail(m, "batch 100, c=8")]

    return Section("classifier", "models:/titanic-classifier@champion",
                   f"model {result.registered_name} v{result.version} (logistic regression), "
                   f"{len(records)} passengers", "passengers", loads, checks,
                   {OURS: ours_answers, PEER: peer_answers})


def workers(settings, trained: dict) -> Section:
    """Ours with --workers 2 against ours with one, single-user recommendations at c=8."""
    data, result = trained["recommender"]
    users = [str(u) for u in sorted(int(u) for u in data.ratings.user_id.unique())]
    ours = Request("POST", "/recommendations", users, '{"users":[', '],"k":10}')
    loads = [Load("single, c=8", 1, 8, {ONE: ours, TWO: ours, SHARED: ours})]

    def checks(m: Measured) -> list[Check]:
        return [faster(m, "single, c=8", 1.6, "req", TWO, ONE)]

    return Section("workers", "models:/movielens-recommender@champion",
                   f"model {result.registered_name} v{result.version}: `mlwb serve --workers 2`"
                   " (and `--no-pin-workers`) against `--workers 1`", "users", loads,
                   checks, {}, slice_s=5.0, versus=((ONE, SHARED),))


def services(section: Section, access_log: bool) -> list[Service]:
    model, answers = section.model, section.answers
    ours = [str(BIN / "mlwb"), "serve", model, "--workers"]
    log = ["--access-log"] if access_log else []
    if section.tag == "workers":
        one, two = free_port(), free_port()
        shared = free_port()
        return [Service(ONE, [*ours, "1", "--port", str(one), *log], one, "/ready"),
                Service(TWO, [*ours, "2", "--port", str(two), *log], two, "/ready"),
                Service(SHARED, [*ours, "2", "--no-pin-workers", "--port", str(shared), *log],
                        shared, "/ready")]
    mine, peer, bare = free_port(), free_port(), free_port()
    more = [Service(BARE, [sys.executable, str(Path(__file__).parent / "bare_service.py"), model,
                           "--port", str(bare)], bare, "/ready", answers.get(BARE))] \
        if section.tag == "recommender" else []
    return [Service(PEER, [str(BIN / "mlflow"), "models", "serve", "-m", model, "--env-manager",
                           "local", "--host", "127.0.0.1", "--port", str(peer), "--workers",
                           "1"], peer, "/ping", answers.get(PEER)),
            Service(OURS, [*ours, "1", "--port", str(mine), *log], mine, "/ready",
                    answers.get(OURS)), *more]


def train_models(settings, families: list[str]) -> dict:
    from mlworkbench.data.datasets import load_movielens
    from mlworkbench.training.classifier import CLASSIFIER
    from mlworkbench.training.recommender import RECOMMENDER
    from mlworkbench.training.train import train

    trained: dict = {}
    if {"recommender", "workers"} & set(families):
        data = load_movielens()
        trained["recommender"] = (data, train(RECOMMENDER, data=data, settings=settings))
    if "classifier" in families:
        trained["classifier"] = train(CLASSIFIER, settings=settings)
    return trained


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", choices=["all", "recommender", "classifier", "workers"],
                        default="all")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, alternating who is first")
    parser.add_argument("--access-log", action="store_true", help="uvicorn access log on both")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where raw output goes")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    command = " ".join([".venv/bin/python", "benchmarks/serving.py", *sys.argv[1:]])
    print(f"command: {command}", flush=True)

    from mlworkbench.config import get_settings

    workdir = Path(tempfile.mkdtemp(prefix="mlwb-bench-serving-"))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MLWB_", "MLFLOW_", "UVICORN_"))}
    env.update(MLWB_HOME=str(workdir / "mlwb"), OPENBLAS_NUM_THREADS="1",
               PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
               UVICORN_ACCESS_LOG=str(args.access_log).lower())
    os.environ.update(MLWB_HOME=env["MLWB_HOME"])
    get_settings.cache_clear()
    settings = get_settings()
    env["MLFLOW_TRACKING_URI"] = settings.resolved_tracking_uri
    args.results.mkdir(parents=True, exist_ok=True)
    families = ["recommender", "classifier", "workers"] if args.family == "all" \
        else [args.family]
    for stale in args.results.glob("serving-*"):
        if any(stale.name.startswith(f"serving-{family}") for family in families):
            stale.unlink()
    trained = train_models(settings, families)
    every_verdict: list[str] = []
    for family in families:
        section = {"recommender": recommender, "classifier": classifier,
                   "workers": workers}[family](settings, trained)
        sides = services(section, args.access_log)
        measured = measure(sides, section.loads, args.rounds, args.duration, env, workdir,
                           args.results, f"serving-{section.tag}", section.slice_s)
        first, second = sides[0].name, sides[1].name
        more = [line for baseline, other in section.versus for line in
                ["", f"{other} against {baseline}:", "",
                 *table(measured, section.loads, section.unit, baseline, other)]]
        turns = ("" if section.slice_s is None else
                 f" in turns of {section.slice_s:g} s (A B C C B A ..., every server up)")
        lines = [f"{section.heading}; wrk {args.duration:.0f}s per row{turns}, {args.rounds} "
                 f"round(s) alternating; one worker each unless named; access log "
                 f"{'on' if args.access_log else 'off'} on both; mlwb with its defaults (alias "
                 f"polling, prediction log to SQLite); 127.0.0.1; {os.cpu_count()} CPUs", "",
                 *table(measured, section.loads, section.unit, first, second), *more, "",
                 *verdicts(section, measured, tuple(side.name for side in sides)), ""]
        every_verdict += [line for line in lines if line.startswith(("PASS", "FAIL"))]
        print("\n" + "\n".join(lines), flush=True)
        saved = ["```", f"$ {command}", *lines[:-1], "```", ""]
        (args.results / f"serving-{section.tag}.md").write_text("\n".join(saved))
    print("\n".join(["", "all targets:", *every_verdict, "", f"command: {command}"]), flush=True)
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
