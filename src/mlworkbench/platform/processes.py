"""Local processes and ports: is a port free, which processes a pid leads, wait for one."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path

from mlworkbench.errors import PortInUseError, StackError

_PROC = Path("/proc")


def port_free(host: str, port: int) -> bool:
    """True when nothing listens on ``host:port`` (a bind succeeds)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def check_ports_free(host: str, ports: list[tuple[int, str, str]]) -> None:
    """Raise :class:`PortInUseError` for the first ``(port, service, setting)`` that is taken."""
    for port, service, setting in ports:
        if not port_free(host, port):
            raise PortInUseError(port, service, setting)


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (Linux ``/proc``; just ``[pid]`` elsewhere)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        try:  # a process that exits while it is walked has no children left
            tasks = list((_PROC / str(current) / "task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                queue += [int(child) for child in (task / "children").read_text().split()]
            except (OSError, ValueError):
                continue
    return found


def started_with(variable: str, value: str) -> dict[int, dict[str, str]]:
    """Every living process started with ``variable=value`` in its environment: its pid and
    that environment (Linux ``/proc``; empty elsewhere, and for what we may not read)."""
    wanted = f"{variable}={value}".encode()
    found = {}
    for entry in _PROC.glob("[0-9]*"):
        try:
            pairs = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if wanted in pairs and alive([int(entry.name)]):
            found[int(entry.name)] = dict(pair.decode(errors="replace").partition("=")[::2]
                                          for pair in pairs if pair)
    return found


def alive(pids: list[int]) -> list[int]:
    """The pids that still exist and are not zombies."""
    living = []
    for pid in pids:
        try:
            stat = (_PROC / str(pid) / "stat").read_text()
        except OSError:
            continue
        if stat.rsplit(")", 1)[-1].split()[0] != "Z":
            living.append(pid)
    return living


def rss_mib(pid: int) -> float | None:
    """Resident memory of ``pid`` and its descendants, in MiB (None when unreadable)."""
    total_kib, seen = 0, False
    for member in descendants(pid):
        try:
            for line in (_PROC / str(member) / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kib += int(line.split()[1])
                    seen = True
        except (OSError, ValueError):
            continue
    return total_kib / 1024 if seen else None


def wait_until(check: Callable[[], bool], timeout_s: float, failure: str,
               interval_s: float = 0.05) -> None:
    """Poll ``check`` until it holds; :class:`StackError` with ``failure`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise StackError(failure)
        time.sleep(interval_s)
