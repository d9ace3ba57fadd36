"""supervisord for the local stack: its config in the workspace, its XML-RPC door, its logs.

The stack's services are supervisord programs that never start on their own
(``autostart=false``): :mod:`mlworkbench.platform.stack` starts them one by one with
health checks between them; supervisord restarts any of them that dies. When supervisord
itself dies uncleanly (``kill -9``), its programs live on; :meth:`Supervisor.recover` finds
them by the variable supervisord gives each of them (``SUPERVISOR_SERVER_URL``, naming this
stack's socket), stops them as supervisord would have, and clears the stale pid file and
socket.
"""

from __future__ import annotations

import configparser
import contextlib
import hashlib
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import xmlrpc.client
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supervisor.xmlrpc import SupervisorTransport

from mlworkbench.errors import StackError
from mlworkbench.platform.processes import alive, descendants, started_with, wait_until
from mlworkbench.platform.secrets import write_private

_MAX_SOCKET_PATH = 100  # AF_UNIX paths stop at 107 bytes
_FAULT_ALREADY_STARTED = 60
_FAULT_NOT_RUNNING = 70


@dataclass(frozen=True)
class Program:
    """One supervised process."""

    name: str
    command: list[str]
    environment: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    directory: Path | None = None
    stopsignal: str = "TERM"
    stopwaitsecs: int = 15


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _value(text: str) -> str:
    return text.replace("%", "%%")  # supervisord expands %(name)s in every value


def _program_section(program: Program, logs: Path) -> str:
    env = ",".join(f'{key}="{_value(val)}"' for key, val in sorted(program.environment.items()))
    lines = [
        f"[program:{program.name}]",
        f"command={_value(shlex.join(program.command))}",
        "autostart=false",
        "autorestart=true",
        "startsecs=1",
        "startretries=5",
        f"stopsignal={program.stopsignal}",
        f"stopwaitsecs={program.stopwaitsecs}",
        "stopasgroup=true",
        "killasgroup=true",
        "redirect_stderr=true",
        f"stdout_logfile={_value(str(logs / f'{program.name}.log'))}",
        "stdout_logfile_maxbytes=10MB",
        "stdout_logfile_backups=2",
    ]
    if env:
        lines.append(f"environment={env}")
    if program.user:
        lines.append(f"user={program.user}")
    if program.directory:
        lines.append(f"directory={_value(str(program.directory))}")
    return "\n".join(lines)


class Supervisor:
    """The supervisord of one workspace's stack, rooted at ``stack_dir``."""

    def __init__(self, stack_dir: Path) -> None:
        self.stack_dir = stack_dir
        self.config = stack_dir / "supervisord.conf"
        self.logs = stack_dir / "logs"
        self.pidfile = stack_dir / "supervisord.pid"
        socket = stack_dir / "supervisor.sock"
        if len(str(socket)) > _MAX_SOCKET_PATH:
            digest = hashlib.sha1(str(stack_dir).encode()).hexdigest()[:12]
            socket = Path(tempfile.gettempdir()) / f"mlwb-supervisor-{digest}.sock"
        self.socket = socket

    # -- configuration ------------------------------------------------------------------
    def render(self, programs: list[Program]) -> str:
        header = f"""[unix_http_server]
file={_value(str(self.socket))}
chmod=0700

[supervisord]
logfile={_value(str(self.logs / "supervisord.log"))}
logfile_maxbytes=5MB
logfile_backups=1
pidfile={_value(str(self.pidfile))}
childlogdir={_value(str(self.logs))}
identifier=mlwb-{hashlib.sha1(str(self.stack_dir).encode()).hexdigest()[:8]}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{_value(str(self.socket))}
"""
        return "\n".join([header, *(_program_section(p, self.logs) for p in programs)]) + "\n"

    def write_config(self, programs: list[Program]) -> bool:
        """Write the config; True when it changed."""
        self.logs.mkdir(parents=True, exist_ok=True)
        text = self.render(programs)
        if self.config.exists() and self.config.read_text() == text:
            return False
        write_private(self.config, text)  # programs' environments hold the stack's secrets
        return True

    # -- the daemon ---------------------------------------------------------------------
    def call(self, method: str, *args: Any) -> Any:
        """One XML-RPC call to supervisord, on a connection closed right after."""
        transport = SupervisorTransport(None, None, f"unix://{self.socket}")
        try:
            proxy = xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)
            return getattr(proxy.supervisor, method)(*args)
        finally:
            transport.close()

    def running(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            return self.call("getState")["statename"] == "RUNNING"
        except (OSError, xmlrpc.client.Error):
            return False

    def pid(self) -> int | None:
        try:
            return int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None

    def start(self, timeout_s: float = 15.0) -> None:
        """Start supervisord (it daemonizes) unless it already runs; apply a changed config."""
        if self.running():
            self._apply_config()
            return
        self.socket.unlink(missing_ok=True)
        result = subprocess.run(
            [sys.executable, "-m", "supervisor.supervisord", "-c", str(self.config)],
            capture_output=True, text=True, check=False,
        )
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()
            raise StackError(f"supervisord did not start: {detail[-1] if detail else '?'}; "
                             f"see {self.logs / 'supervisord.log'}")
        wait_until(self.running, timeout_s, f"supervisord did not answer on {self.socket} within "
                   f"{timeout_s:.0f} s; see {self.logs / 'supervisord.log'}")

    def _apply_config(self) -> None:
        """What ``supervisorctl update`` does: reload, then add/replace/remove programs."""
        [[added, changed, removed]] = self.call("reloadConfig")
        for name in [*changed, *removed]:
            self.call("stopProcessGroup", name)
            self.call("removeProcessGroup", name)
        for name in [*changed, *added]:
            self.call("addProcessGroup", name)

    def shutdown(self, timeout_s: float = 30.0) -> None:
        """Stop every program, then supervisord itself; wait until its process is gone."""
        pid = self.pid()
        if self.running():
            self.call("stopAllProcesses", True)
            self.call("shutdown")
        if pid is not None:
            wait_until(lambda: not alive([pid]), timeout_s,
                       f"supervisord (pid {pid}) did not stop within {timeout_s:.0f} s")
        self.socket.unlink(missing_ok=True)

    # -- after an unclean stop -----------------------------------------------------------
    def orphans(self) -> dict[int, str]:
        """Processes of this stack's programs (and their children) alive without their
        supervisord: pid -> program name. Empty while supervisord answers."""
        if self.running():
            return {}
        found = started_with("SUPERVISOR_SERVER_URL", f"unix://{self.socket}")
        # children that rewrote their environment's memory (PostgreSQL's process titles)
        # are found below the program they belong to
        return {member: env.get("SUPERVISOR_PROCESS_NAME", "?")
                for pid, env in found.items() for member in descendants(pid)}

    def recover(self) -> list[int]:
        """Stop what a killed supervisord left running — each program's process group with
        its own stop signal, KILL after its ``stopwaitsecs`` — then remove the stale pid file
        and socket. Returns the pids stopped; a no-op while supervisord answers."""
        if self.running():
            return []
        left = self.orphans()
        groups: dict[int, str] = {}
        for pid, name in left.items():
            with contextlib.suppress(ProcessLookupError):
                groups.setdefault(os.getpgid(pid), name)
        stops = self._stop_settings()
        for group, name in groups.items():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, stops.get(name, (signal.SIGTERM, 15))[0])
        patience = max((stops.get(name, (None, 15))[1] for name in groups.values()), default=0)
        deadline = time.monotonic() + patience
        while alive(list(left)) and time.monotonic() < deadline:
            time.sleep(0.1)
        for group in groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGKILL)
        wait_until(lambda: not alive(list(left)), 10.0,
                   f"processes {alive(list(left))} of a killed supervisord did not stop")
        own = self.pid()
        if own is not None and alive([own]) and "supervisord" in _command_line(own):
            os.kill(own, signal.SIGKILL)  # hung without its socket
        self.pidfile.unlink(missing_ok=True)
        self.socket.unlink(missing_ok=True)
        return sorted(left)

    def _stop_settings(self) -> dict[str, tuple[signal.Signals, int]]:
        """Each program's stop signal and patience, as the config on disk says."""
        config = configparser.RawConfigParser()
        with contextlib.suppress(OSError, configparser.Error):
            config.read(self.config)
        return {
            section.removeprefix("program:"): (
                signal.Signals[f"SIG{config.get(section, 'stopsignal', fallback='TERM')}"],
                config.getint(section, "stopwaitsecs", fallback=15))
            for section in config.sections() if section.startswith("program:")
        }

    # -- programs -----------------------------------------------------------------------
    def start_program(self, name: str) -> None:
        try:
            self.call("startProcess", name, False)  # the caller waits for health instead
        except xmlrpc.client.Fault as fault:
            if fault.faultCode != _FAULT_ALREADY_STARTED:
                raise StackError(f"{name} did not start ({fault.faultString}); "
                                 f"see `mlwb logs {name}`") from fault

    def stop_program(self, name: str) -> None:
        try:
            self.call("stopProcess", name, True)
        except xmlrpc.client.Fault as fault:
            if fault.faultCode != _FAULT_NOT_RUNNING:
                raise StackError(f"{name} did not stop ({fault.faultString})") from fault

    def info(self) -> dict[str, dict[str, Any]]:
        """supervisord's view of every program by name (empty when it is not running)."""
        if not self.running():
            return {}
        return {entry["name"]: entry for entry in self.call("getAllProcessInfo")}

    def log_file(self, name: str) -> Path:
        return self.logs / f"{name}.log"

