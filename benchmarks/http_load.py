"""Head-to-head HTTP load with wrk: services started one at a time on loopback, each driven
with the same records in its own request form, in rounds that alternate which goes first.
Every wrk run's raw output is kept; the table gives medians over rounds and req/s spreads."""

from __future__ import annotations

import os
import re
import socket
import statistics
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

LUA = """
local items = {%(items)s}
local batch, i = %(batch)d, 0
request = function()
  local parts = {}
  for j = 1, batch do
    i = i %% #items + 1
    parts[j] = items[i]
  end
  %(send)s
end
"""
SEND = {
    "GET": "return wrk.format('GET', %(path)s .. parts[1])",
    "POST": "return wrk.format('POST', %(path)s, {['Content-Type'] = 'application/json'}, "
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

    def script(self, batch: int) -> str:
        if self.method == "GET" and batch != 1:
            raise ValueError("a GET request carries one record")
        send = SEND[self.method] % {"path": _lua_string(self.path),
                                    "open": _lua_string(self.open),
                                    "close": _lua_string(self.close)}
        return LUA % {"items": ",".join(map(_lua_string, self.items)), "batch": batch,
                      "send": send}

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


def stolen_share(before: list[int], after: list[int]) -> float:
    """The share of the machine's CPU time the hypervisor gave to others between two
    :func:`cpu_ticks` readings ("steal": a virtual machine's cores were not its own)."""
    if len(before) < 8 or len(after) < 8:
        return 0.0
    total = sum(after[:8]) - sum(before[:8])  # guest time is counted inside user already
    return (after[7] - before[7]) / total if total > 0 else 0.0


def wrk(port: int, request: Request, load: Load, duration: float, script: Path,
        raw: Path) -> tuple[Sample, float, float]:
    """One measurement (after a 2 s warm-up), the 1-minute load average as it started, and
    the share of CPU time stolen from this machine while it ran."""
    script.write_text(request.script(load.batch))
    threads = min(2, load.connections)
    command = ["wrk", f"-t{threads}", f"-c{load.connections}", f"-d{int(duration)}s",
               "--latency", "--timeout", "30s", "-s", str(script), f"http://127.0.0.1:{port}"]
    _run(command[:3] + ["-d2s"] + command[4:], raw)  # warm-up
    loadavg = os.getloadavg()
    before = cpu_ticks()
    out = _run(command, raw)
    stolen = stolen_share(before, cpu_ticks())
    raw.write_text(f"$ {' '.join(command)}\n# load average before: "
                   f"{' '.join(f'{v:.2f}' for v in loadavg)}; CPU time stolen by the "
                   f"hypervisor while it ran: {stolen:.1%}\n{out}")
    return parse(out), loadavg[0], stolen


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


def measure(services: Sequence[Service], loads: Sequence[Load], rounds: int, duration: float,
            env: dict[str, str], workdir: Path, raw_dir: Path, tag: str) -> Measured:
    """``rounds`` rounds; in each, every service in turn (the order reversed every other round)
    is started, checked, driven through every load and stopped, so none steals the other's
    cores and neither always runs first."""
    measured = Measured(rounds)
    for round_no in range(1, rounds + 1):
        order = services if round_no % 2 else list(reversed(services))
        for service in order:
            with running(service, env, workdir / f"{tag}-{service.name}.log") as (pid, ready):
                for load in loads:
                    request = load.requests[service.name]
                    check_answers(service.port, request, load.batch)
                    name = f"serving-{tag}-{service.name}-{slug(load.name)}"
                    try:
                        sample, loadavg, stolen = wrk(service.port, request, load, duration,
                                                      workdir / f"{name}.lua",
                                                      raw_dir / f"{name}-r{round_no}.txt")
                    except WrkError as error:
                        log = workdir / f"{tag}-{service.name}.log"
                        last = log.read_text(errors="replace").splitlines()[-15:]
                        raise SystemExit(f"{service.name}, {load.name}, round {round_no}: "
                                         f"{error}; the server's last log lines:\n"
                                         + "\n".join(last)) from None
                    measured.samples.setdefault((service.name, load.name), []).append(sample)
                    measured.loadavg.setdefault((service.name, load.name), []).append(loadavg)
                    measured.stolen.setdefault((service.name, load.name), []).append(stolen)
                measured.startup_s.setdefault(service.name, []).append(ready)
                measured.memory.setdefault(service.name, []).append(memory(pid))
                if service.answers is not None:
                    measured.answers.setdefault(service.name, []).append(
                        service.answers(service.port))
    for service in services:
        log = workdir / f"{tag}-{service.name}.log"
        measured.access_log_lines[service.name] = sum(
            ' HTTP/1.1" ' in line for line in log.read_text(errors="replace").splitlines())
    return measured


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
    hypervisor took from the machine while they ran (min-max); then memory and startup."""
    lines = [f"| workload | {peer} req/s | {peer} {unit}/s | {peer} p50 ms | {peer} p99 ms "
             f"| {ours} req/s | {ours} {unit}/s | {ours} p50 ms | {ours} p99 ms "
             f"| {unit}/s ratio | socket errors / non-2xx ({peer}; {ours}) | load avg "
             f"| CPU stolen |",
             "|---" * 13 + "|"]
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
    return lines


def _ms_spread(values: list[float]) -> str:
    middle = f"{statistics.median(values):.2f}"
    return middle if len(values) == 1 else f"{middle} ({min(values):.2f}-{max(values):.2f})"
