"""supervisord for the local stack: its config in the workspace, its XML-RPC door, its logs.

The stack's services are supervisord programs that never start on their own
(``autostart=false``): :mod:`mlworkbench.platform.stack` starts them one by one with
health checks between them; supervisord restarts any of them that dies.
"""

from __future__ import annotations

import hashlib
import shlex
import subprocess
import sys
import tempfile
import xmlrpc.client
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supervisor.xmlrpc import SupervisorTransport

from mlworkbench.errors import StackError
from mlworkbench.platform.processes import alive, wait_until

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
        self.config.write_text(text)
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

