"""Head-to-head HTTP load with wrk: services started one at a time on loopback, each driven
with the same records in its own request form, in rounds that alternate which goes first.
Every wrk run's raw output is kept; the table gives medians over rounds and req/s spreads."""

from __future__ import annotations

import os
import re
import resource
import socket
import statistics
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

LUA = """
local items = {%(items)s}
local batch, n = %(batch)d, #items
-- Every request of the rotation is built here, before wrk starts its clock: the rotation
-- (batch records at a time, wrapping around) repeats after n / gcd(n, batch) requests, so
-- while measuring wrk only hands over a ready string (building one per request cost wrk
-- a fifth of its CPU time, on cores it shares with the server).
local a, b = n, batch
while b ~= 0 do a, b = b, a %% b end
local requests, i = {}, 0
for r = 1, n / a do
  local parts = {}
  for j = 1, batch do
    i = i %% n + 1
    parts[j] = items[i]
  end
  requests[r] = %(send)s
end
local r, cycle = 0, #requests
request = function()
  r = r %% cycle + 1
  return requests[r]
end
"""
# What a measurement leaves for :meth:`Slice.read`: answers, microseconds, socket errors,
# non-2xx answers, then the latency (us) at each 0.1 % from 0.1 % to 100 %.
DONE = """
done = function(summary, latency, requests)
  local out = assert(io.open(%(path)s, "w"))
  local e = summary.errors
  out:write(summary.requests, " ", summary.duration, " ",
            e.connect + e.read + e.write + e.timeout, " ", e.status, "\\n")
  for i = 1, 999 do out:write(latency:percentile(i / 10), "\\n") end
  out:write(latency.max, "\\n")
  out:close()
end
"""
SEND = {
    "GET": "wrk.format('GET', %(path)s .. parts[1])",
    "POST": "wrk.format('POST', %(path)s, {['Content-Type'] = 'application/json'}, "
            "%(open)s .. table.concat(parts, ',') .. %(close)s)",
}


def _lua_string(text: str) -> str:
    return f"[==[{text}]==]"


@dataclass(frozen=True)
class Request:
    """How one service is asked: GET with one record as the query string after ``path``, or a
    POST of ``open`` + the batch's records joined by commas + ``close``."""

    method: str
    path: str
    items: Sequence[str]  # one fragment per record (query string or JSON), rotated over
    open: str = ""
    close: str = ""

    def script(self, batch: int, done: Path | None = None) -> str:
        """wrk's script; with ``done``, wrk writes its counts and latencies there at the end."""
        if self.method == "GET" and batch != 1:
            raise ValueError("a GET request carries one record")
        send = SEND[self.method] % {"path": _lua_string(self.path),
                                    "open": _lua_string(self.open),
                                    "close": _lua_string(self.close)}
        text = LUA % {"items": ",".join(map(_lua_string, self.items)), "batch": batch,
                      "send": send}
        return text if done is None else text + DONE % {"path": _lua_string(str(done))}

    def first(self, base: str, batch: int) -> urllib.request.Request:
        """The first request wrk will send to ``base``, for a check before the load."""
        records = list(self.items[:batch])
        if self.method == "GET":
            return urllib.request.Request(base + self.path + records[0])
        body = (self.open + ",".join(records) + self.close).encode()
        return urllib.request.Request(base + self.path, body,
                                      {"Content-Type": "application/json"})


@dataclass(frozen=True)
class Load:
    """One table row: ``batch`` records per request over ``connections`` connections, in
    each service's request form."""

    name: str
    batch: int
    connections: int
    requests: dict[str, Request]


@dataclass(frozen=True)
class Service:
    name: str
    command: list[str]
    port: int
    ready_path: str
    answers: Callable[[int], list] | None = None  # port -> answers to a fixed sample


@dataclass(frozen=True)
class Memory:
    """Resident memory (MiB): the processes that answer requests (the tree's leaves), their
    proportional share (PSS, shared pages split), and any launcher above them apart."""

    serving_rss: float
    serving_pss: float
    launcher_rss: float


@dataclass(frozen=True)
class Sample:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    socket_errors: int
    non_2xx: int


@dataclass
class Measured:
    rounds: int
    samples: dict[tuple[str, str], list[Sample]] = field(default_factory=dict)
    startup_s: dict[str, list[float]] = field(default_factory=dict)
    memory: dict[str, list[Memory]] = field(default_factory=dict)
    loadavg: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    stolen: dict[tuple[str, str], list[float]] = field(default_factory=dict)  # share, per round
    answers: dict[str, list[list]] = field(default_factory=dict)  # per round
    access_log_lines: dict[str, int] = field(default_factory=dict)
    # per round: (own CPU seconds while the other sides were driven, those sides' seconds)
    idle_cpu: dict[tuple[str, str], list[tuple[float, float]]] = field(default_factory=dict)
    probes: dict[tuple[str, str], list[list]] = field(default_factory=dict)  # [before, after]
    # per round: CPU microseconds an answer took in the server's processes and in wrk
    cpu_us: dict[tuple[str, str], list[tuple[float, float]]] = field(default_factory=dict)

    def of(self, service: str, load: str) -> list[Sample]:
        return self.samples[service, load]

    def median(self, service: str, load: str, name: str) -> float:
        return statistics.median(getattr(s, name) for s in self.of(service, load))

    def ratios(self, ours: str, peer: str, load: str) -> list[float]:
        """Ours over the peer's req/s, round by round (both measured under the same load)."""
        return [o.requests_per_s / p.requests_per_s
                for o, p in zip(self.of(ours, load), self.of(peer, load), strict=True)]

    def failures(self, service: str, load: str) -> tuple[int, int]:
        """Socket errors (connect, read, write, timeout) and non-2xx answers, all rounds."""
        samples = self.of(service, load)
        return sum(s.socket_errors for s in samples), sum(s.non_2xx for s in samples)


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


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True,
                         text=True).stdout
    return [int(v) for v in out.split()]


def _kib(pid: int, path: str, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/{path}").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def memory(pid: int) -> Memory:
    """The process tree under ``pid`` split into the serving processes (leaves: the peer's
    uvicorn, ``mlwb serve``'s one process or its workers) and the launchers above them
    (the peer's ``mlflow models serve``, a multi-worker supervisor)."""
    tree, stack = [], [pid]
    while stack:
        current = stack.pop()
        children = _children(current)
        tree.append((current, bool(children)))
        stack.extend(children)
    leaves = [p for p, parent in tree if not parent]
    launchers = [p for p, parent in tree if parent]
    return Memory(sum(_kib(p, "status", "VmRSS") for p in leaves) / 1024,
                  sum(_kib(p, "smaps_rollup", "Pss") for p in leaves) / 1024,
                  sum(_kib(p, "status", "VmRSS") for p in launchers) / 1024)


@contextmanager
def running(service: Service, env: dict[str, str], log: Path) -> Iterator[tuple[int, float]]:
    """The service started in its own process group; (pid, seconds to ready); stopped after."""
    with log.open("a") as sink:
        process = subprocess.Popen(service.command, env=env, stdout=sink,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        try:
            yield process.pid, wait_ready(
                f"http://127.0.0.1:{service.port}{service.ready_path}", process)
        finally:
            os.killpg(process.pid, 15)
            process.wait(timeout=30)
            wait_closed(service.port)


def wait_closed(port: int, timeout: float = 30) -> None:
    """Until nothing listens on ``port``. The launcher a service was started with can exit
    before the server it started has closed its socket (`mlflow models serve` runs uvicorn as
    its child): the next start on the same port then found the old server still answering,
    took it for ready, and wrk met a closed port ("unable to connect ... refused")."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"port {port} still answers {timeout:g} s after its server was stopped")


def _ms(text: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    if match is None:
        return float("nan")
    value, unit = match.groups()
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def parse(out: str) -> Sample:
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       out)
    status = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return Sample(float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
                  _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),
                  _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),
                  sum(map(int, socket.groups())) if socket else 0,
                  int(status.group(1)) if status else 0)


def check_answers(port: int, request: Request, batch: int) -> None:
    """The load's first request answered 200, or stop before measuring a stream of errors."""
    first = request.first(f"http://127.0.0.1:{port}", batch)
    try:
        with urllib.request.urlopen(first, timeout=30) as response:
            response.read()
    except urllib.error.HTTPError as error:
        answer = error.read()[:500]
        raise SystemExit(f"{first.full_url} answered {error.code}: {answer!r}") from None


def cpu_ticks() -> list[int]:
    """The machine's CPU time so far by kind (/proc/stat: user, nice, system, idle, iowait,
    irq, softirq, steal, ...), in clock ticks; [] where there is no /proc/stat."""
    try:
        with open("/proc/stat") as stat:
            return [int(value) for value in stat.readline().split()[1:]]
    except OSError:
        return []


@dataclass(frozen=True)
class Slice:
    """One wrk run, from what its ``done`` hook wrote (see :data:`DONE`)."""

    requests: int
    seconds: float
    socket_errors: int
    non_2xx: int
    latency_us: list[int]  # at each 0.1 % of the answers, 0.1 % .. 100 %

    @classmethod
    def read(cls, path: Path) -> Slice:
        values = path.read_text().split()
        requests, micros, errors, statuses = (int(float(v)) for v in values[:4])
        return cls(requests, micros / 1e6, errors, statuses, [int(float(v)) for v in values[4:]])


def _percentile(slices: Sequence[Slice], permille: int) -> float:
    """The smallest latency (ms) at or under which ``permille`` / 1000 of all the slices'
    answers fall, each slice's answers weighted by their number (one slice: wrk's own figure)."""
    points = sorted((value, s.requests) for s in slices for value in s.latency_us)
    total = sum(s.requests for s in slices)
    reached = 0
    for value, weight in points:
        reached += weight
        if reached >= permille * total:
            return value / 1e3
    return float("nan")


def merge(slices: Sequence[Slice]) -> Sample:
    """The slices of one side as one measurement: answers over seconds, latencies pooled."""
    seconds = sum(s.seconds for s in slices)
    return Sample(sum(s.requests for s in slices) / seconds if seconds else 0.0,
                  _percentile(slices, 500), _percentile(slices, 990),
                  sum(s.socket_errors for s in slices), sum(s.non_2xx for s in slices))


def wrk_command(port: int, load: Load, seconds: int, script: Path) -> list[str]:
    return ["wrk", f"-t{min(2, load.connections)}", f"-c{load.connections}", f"-d{seconds}s",
            "--latency", "--timeout", "30s", "-s", str(script), f"http://127.0.0.1:{port}"]


class WrkError(RuntimeError):
    """wrk itself failed (not the answers it measured): its exit status and its own words."""


def _run(command: list[str], raw: Path) -> str:
    """wrk's output; on failure its stderr goes to ``raw`` and :class:`WrkError` is raised."""
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        why = (done.stderr.strip() or done.stdout.strip()[-500:] or "no output").splitlines()
        raw.write_text(f"$ {' '.join(command)}\n# wrk exited {done.returncode}\n"
                       f"{done.stdout}{done.stderr}")
        raise WrkError(f"wrk exited {done.returncode}: {' / '.join(why[-3:])}")
    return done.stdout


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@dataclass
class _Side:
    """One service's share of a load in one round: its script, slices and raw output."""

    service: Service
    pid: int
    script: Path
    done: Path
    raw: Path
    log: Path
    slices: list[Slice] = field(default_factory=list)
    ticks: list[int] = field(default_factory=list)  # machine CPU ticks while it was driven
    idle_cpu_s: float = 0.0  # its own CPU time while another side was driven
    busy_cpu_s: float = 0.0  # its own CPU time while it was driven
    wrk_cpu_s: float = 0.0  # wrk's CPU time while it drove this side
    text: list[str] = field(default_factory=list)


def slice_order(names: Sequence[str], slices: int) -> list[str]:
    """A B B A A B ...: every side as often as the others, none always first or last."""
    return [name for k in range(slices) for name in (names if k % 2 == 0 else names[::-1])]


def measure(services: Sequence[Service], loads: Sequence[Load], rounds: int, duration: float,
            env: dict[str, str], workdir: Path, raw_dir: Path, tag: str,
            slice_s: float | None = None,
            probe: Callable[[Service, str], object] | None = None) -> Measured:
    """``rounds`` rounds; in each, every service is started on its own port and checked, then,
    load by load, each is warmed up (2 s) and the services are driven one at a time, so none
    takes the others' cores, for ``duration`` seconds each: in one wrk run each (the default;
    the order reversed every other round, so neither always goes first), or, with
    ``slice_s``, in turns of ``slice_s`` seconds (A B B A A B ..., B first every other round),
    so that a drift in the machine's speed while the load runs reaches every side alike. A
    side's wrk runs are merged: answers over seconds, latencies pooled. Before a turn the
    other sides are let finish what they still do (:func:`_settle`); a side waiting its
    turn then idles, and the CPU time it spends meanwhile is counted and shown. ``probe``
    (service, load name) is called before each side's warm-up and after its last turn, its
    results kept in ``Measured.probes``."""
    measured = Measured(rounds)
    turns = 1 if slice_s is None else max(1, round(duration / slice_s))
    seconds = max(1, round(duration / turns))
    for round_no in range(1, rounds + 1):
        order = list(services) if round_no % 2 else list(reversed(services))
        with ExitStack() as stack:
            pids = {s.name: stack.enter_context(running(s, env, log_path(workdir, tag, s)))
                    for s in order}
            for service in order:
                measured.startup_s.setdefault(service.name, []).append(pids[service.name][1])
            for load in loads:
                sides = {s.name: _side(s, pids[s.name][0], load, workdir, raw_dir, tag, round_no)
                         for s in order}
                loadavg = os.getloadavg()
                for side in sides.values():
                    if probe is not None:
                        measured.probes.setdefault((side.service.name, load.name), []).append(
                            [probe(side.service, load.name)])
                    check_answers(side.service.port, load.requests[side.service.name],
                                  load.batch)
                    _drive(side, load, 2, sides, warm_up=True)
                for name in slice_order([s.name for s in order], turns):
                    _drive(sides[name], load, seconds, sides)
                for side in sides.values():
                    if probe is not None:
                        measured.probes[side.service.name, load.name][-1].append(
                            probe(side.service, load.name))
                    _record(measured, side, load, sides, loadavg)
            for service in order:
                measured.memory.setdefault(service.name, []).append(memory(pids[service.name][0]))
                if service.answers is not None:
                    measured.answers.setdefault(service.name, []).append(
                        service.answers(service.port))
    for service in services:
        log = log_path(workdir, tag, service).read_text(errors="replace")
        measured.access_log_lines[service.name] = sum(
            ' HTTP/1.1" ' in line for line in log.splitlines())
    return measured


def _record(measured: Measured, side: _Side, load: Load, sides: dict[str, _Side],
            loadavg: tuple[float, float, float]) -> None:
    """A side's turns at a load, as one sample, and its raw output with what it cost."""
    name = side.service.name
    seconds = side.slices[0].seconds if side.slices else 0.0
    side.raw.write_text(
        f"# {len(side.slices)} wrk run(s) of about {seconds:.0f} s, taking turns with "
        f"{', '.join(n for n in sides if n != name) or 'nobody'}; load average before: "
        f"{' '.join(f'{v:.2f}' for v in loadavg)}; CPU time stolen by the hypervisor while it "
        f"ran: {_stolen(side.ticks):.1%}; its own CPU time while the others ran: "
        f"{side.idle_cpu_s:.2f} s; CPU time while it ran: its own {side.busy_cpu_s:.2f} s, "
        f"wrk's {side.wrk_cpu_s:.2f} s\n" + "\n".join(side.text))
    key = (name, load.name)
    measured.samples.setdefault(key, []).append(merge(side.slices))
    measured.loadavg.setdefault(key, []).append(loadavg[0])
    measured.stolen.setdefault(key, []).append(_stolen(side.ticks))
    answers = sum(turn.requests for turn in side.slices) or 1
    measured.cpu_us.setdefault(key, []).append(
        (side.busy_cpu_s / answers * 1e6, side.wrk_cpu_s / answers * 1e6))
    waited = sum(turn.seconds for other in sides.values() if other is not side
                 for turn in other.slices)
    measured.idle_cpu.setdefault(key, []).append((side.idle_cpu_s, waited))


def log_path(workdir: Path, tag: str, service: Service) -> Path:
    return workdir / f"{tag}-{slug(service.name)}.log"


def _side(service: Service, pid: int, load: Load, workdir: Path, raw_dir: Path, tag: str,
          round_no: int) -> _Side:
    name = f"{tag}-{slug(service.name)}-{slug(load.name)}"
    side = _Side(service, pid, workdir / f"{name}.lua", workdir / f"{name}.done",
                 raw_dir / f"{name}-r{round_no}.txt", log_path(workdir, tag, service))
    side.script.write_text(load.requests[service.name].script(load.batch, side.done))
    return side


def _drive(side: _Side, load: Load, seconds: int, sides: dict[str, _Side],
           warm_up: bool = False) -> None:
    """One wrk run against ``side``; the others' CPU time meanwhile counts as their idle cost."""
    command = wrk_command(side.service.port, load, seconds, side.script)
    others = [other for other in sides.values() if other is not side]
    for other in others:
        _settle(other.pid)
    if warm_up:
        _run_or_stop(command, side, load)
        return
    idle = [cpu_seconds(other.pid) for other in others]
    busy = cpu_seconds(side.pid)
    before, children = cpu_ticks(), resource.getrusage(resource.RUSAGE_CHILDREN)
    out = _run_or_stop(command, side, load)
    after, wrk_done = cpu_ticks(), resource.getrusage(resource.RUSAGE_CHILDREN)
    side.busy_cpu_s += cpu_seconds(side.pid) - busy
    side.wrk_cpu_s += (wrk_done.ru_utime + wrk_done.ru_stime
                       - children.ru_utime - children.ru_stime)
    for other, spent in zip(others, idle, strict=True):
        other.idle_cpu_s += cpu_seconds(other.pid) - spent
    side.ticks = [a + b - c for a, b, c in
                  zip(side.ticks or [0] * len(after), after, before, strict=False)]
    side.slices.append(Slice.read(side.done))
    side.text.append(f"$ {' '.join(command)}\n{out}")


def _run_or_stop(command: list[str], side: _Side, load: Load) -> str:
    """wrk's output, or the benchmark stops with wrk's words and the server's last log lines."""
    try:
        return _run(command, side.raw)
    except WrkError as error:
        last = side.log.read_text(errors="replace").splitlines()[-15:]
        raise SystemExit(f"{side.service.name}, {load.name}, {side.raw.name}: {error}; the "
                         "server's last log lines:\n" + "\n".join(last)) from None


def _settle(pid: int, window: float = 0.3, timeout: float = 10.0) -> None:
    """Until the process tree ``pid`` spends at most one clock tick of CPU time in ``window``
    seconds (or ``timeout`` passes): what a side still does after its turn (its prediction
    log writing the last second's rows) must not run in another side's turn."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        before = cpu_seconds(pid)
        time.sleep(window)
        if cpu_seconds(pid) - before <= 1.5 / TICKS:
            return


def _stolen(ticks: list[int]) -> float:
    """The share of the machine's CPU time the hypervisor gave to others (/proc/stat
    "steal": a virtual machine's cores were not its own), from summed tick deltas."""
    if len(ticks) < 8:
        return 0.0
    total = sum(ticks[:8])  # guest time is counted inside user already
    return ticks[7] / total if total > 0 else 0.0


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` and every process under it (all their threads)."""
    total, stack = 0.0, [pid]
    while stack:
        current = stack.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14, 15)
        stack.extend(_children(current))
    return total


def _rate(values: list[float]) -> str:
    middle = f"{statistics.median(values):,.0f}"
    return middle if len(values) == 1 else f"{middle} ({min(values):,.0f}-{max(values):,.0f})"


def _ratio(values: list[float]) -> str:
    middle = f"{statistics.median(values):.1f}x"
    return middle if len(values) == 1 else f"{middle} ({min(values):.1f}-{max(values):.1f})"


def table(measured: Measured, loads: Sequence[Load], unit: str, peer: str,
          ours: str) -> list[str]:
    """A markdown table: per load, each side's req/s and records/s (median, with min-max over
    rounds), median p50 and p99 (p99 min-max), the per-round ratio of ours to the peer's,
    failures, the 1-minute load average when the rows started, and the share of CPU time the
    hypervisor took from the machine while they ran (min-max), and the CPU time an answer
    took in the server's processes and in wrk (medians); then memory, startup and what a side
    spent while it waited its turn."""
    lines = [f"| workload | {peer} req/s | {peer} {unit}/s | {peer} p50 ms | {peer} p99 ms "
             f"| {ours} req/s | {ours} {unit}/s | {ours} p50 ms | {ours} p99 ms "
             f"| {unit}/s ratio | socket errors / non-2xx ({peer}; {ours}) | load avg "
             f"| CPU stolen | CPU us an answer, server + wrk ({peer}; {ours}) |",
             "|---" * 14 + "|"]
    for load in loads:
        cells = [load.name]
        for side in (peer, ours):
            samples = measured.of(side, load.name)
            rates = [s.requests_per_s for s in samples]
            cells += [_rate(rates), _rate([r * load.batch for r in rates]),
                      f"{measured.median(side, load.name, 'p50_ms'):.2f}",
                      _ms_spread([s.p99_ms for s in samples])]
        cells.append(_ratio(measured.ratios(ours, peer, load.name)))
        failures = [measured.failures(side, load.name) for side in (peer, ours)]
        cells.append("; ".join(f"{errors} / {statuses}" for errors, statuses in failures))
        loads_seen = [v for side in (peer, ours) for v in measured.loadavg[side, load.name]]
        cells.append(f"{min(loads_seen):.1f}-{max(loads_seen):.1f}")
        stolen = [v for side in (peer, ours) for v in measured.stolen[side, load.name]]
        cells.append(f"{min(stolen):.1%}-{max(stolen):.1%}")
        cells.append("; ".join(
            " + ".join(f"{statistics.median(v[i] for v in measured.cpu_us[side, load.name]):,.0f}"
                       for i in (0, 1)) for side in (peer, ours)))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for side in (peer, ours):
        mem = measured.memory[side]
        serving = statistics.median(m.serving_rss for m in mem)
        pss = statistics.median(m.serving_pss for m in mem)
        launcher = statistics.median(m.launcher_rss for m in mem)
        startup = statistics.median(measured.startup_s[side])
        lines.append(f"{side}: serving process(es) RSS {serving:.0f} MiB (PSS {pss:.0f} MiB)"
                     + (f", launcher apart {launcher:.0f} MiB" if launcher else "")
                     + f"; startup to first ready {startup:.1f} s; access-log lines "
                     f"{measured.access_log_lines.get(side, 0)}")
    for side in (peer, ours):
        spent = [pair for load in loads for pair in measured.idle_cpu.get((side, load.name), [])]
        waited = sum(seconds for _, seconds in spent)
        if waited:
            lines.append(f"{side}: CPU while waiting its turn (another side driven): "
                         f"{sum(cpu for cpu, _ in spent) / waited:.1%} of a core")
    return lines


def _ms_spread(values: list[float]) -> str:
    middle = f"{statistics.median(values):.2f}"
    return middle if len(values) == 1 else f"{middle} ({min(values):.2f}-{max(values):.2f})"
