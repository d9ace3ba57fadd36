"""A PostgreSQL cluster of our own: find the binaries, initdb, start, create databases, stop.

Used by the test suite (a throwaway cluster per session) and by the local stack. The
server refuses to run as root, so as root every server command runs as the ``postgres``
system user (``runuser``) and the data directory is handed to that user; as anyone else
the commands run directly. Given a ``password``, the superuser ``postgres`` must give it
(scram-sha-256) on every connection, local socket included; without one (the test suite's
throwaway clusters) local connections are trusted. It listens on 127.0.0.1 only, its
socket inside the data directory::

    cluster = PostgresCluster(Path("/tmp/pg"), port=free_port())
    cluster.init()                      # once; a no-op when the directory holds a cluster
    cluster.start()                     # waits until it accepts connections
    url = cluster.create_database("mlwb")   # postgresql+psycopg2://postgres@127.0.0.1:PORT/mlwb
    cluster.stop()

``scripts/ensure-postgres.sh`` installs Debian's package when no binaries are found.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from mlworkbench.errors import StackError

SUPERUSER = "postgres"
SYSTEM_USER = "postgres"  # who runs the server when we are root
_SEARCH = ("/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin", "/opt/homebrew/opt/postgresql*/bin")
INSTALL_HINT = (
    "run `bash scripts/ensure-postgres.sh` (or install PostgreSQL and put initdb on PATH)"
)


def find_bindir() -> Path:
    """The directory holding initdb/pg_ctl: the newest Debian version first, then PATH."""
    candidates = sorted(
        (Path(path) for pattern in _SEARCH for path in glob.glob(pattern)),
        key=lambda path: _version_key(path.parent.name), reverse=True,
    )
    on_path = shutil.which("initdb") or shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).parent)
    for candidate in candidates:
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    raise StackError(f"PostgreSQL server binaries (initdb, pg_ctl) not found; {INSTALL_HINT}")


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit()) or (0,)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@dataclass
class PostgresCluster:
    """One cluster: a data directory served on ``host:port``."""

    datadir: Path
    port: int = 5433
    host: str = "127.0.0.1"
    options: dict[str, str] = field(default_factory=dict)  # extra ``-c name=value`` settings
    bindir: Path = field(default_factory=find_bindir)
    password: str | None = None  # the superuser's (scram); None: trust local connections

    @property
    def log_file(self) -> Path:
        return self.datadir / "server.log"

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL of one database (psycopg2 driver) on this cluster."""
        user = SUPERUSER + (f":{quote(self.password, safe='')}" if self.password else "")
        return f"postgresql+psycopg2://{user}@{self.host}:{self.port}/{database}"

    def init(self) -> None:
        """Create the cluster (UTF-8; scram with a password, else trust) unless the directory
        already holds one."""
        if (self.datadir / "PG_VERSION").exists():
            return
        self.datadir.mkdir(parents=True, exist_ok=True)
        _hand_over(self.datadir)
        command = [self._bin("initdb"), "-D", str(self.datadir), "-U", SUPERUSER,
                   "--encoding=UTF8", "--locale=C", "--no-sync"]
        if self.password is None:
            self._run([*command, "--auth=trust"], "initialise a PostgreSQL cluster")
            return
        with tempfile.TemporaryDirectory(prefix="mlwb-pg-") as folder:
            pwfile = Path(folder) / "password"
            pwfile.write_text(self.password + "\n")
            _hand_over(Path(folder), pwfile)
            self._run([*command, "--auth=scram-sha-256", f"--pwfile={pwfile}"],
                      "initialise a PostgreSQL cluster")

    def start(self, timeout_s: float = 30.0) -> None:
        """Start the server and wait until it accepts connections; a no-op when it runs."""
        if self.running():
            return
        server_options = " ".join(f"-c {name}={value}"
                                  for name, value in self.server_settings().items())
        self._run([self._bin("pg_ctl"), "-D", str(self.datadir), "-l", str(self.log_file),
                   "-o", server_options, "-w", "-t", str(int(timeout_s)), "start"],
                  f"start PostgreSQL on {self.host}:{self.port}")
        deadline = time.monotonic() + timeout_s
        while not self.accepting():
            if time.monotonic() > deadline:
                raise StackError(f"PostgreSQL on {self.host}:{self.port} did not accept "
                                 f"connections within {timeout_s:.0f} s; see {self.log_file}")
            time.sleep(0.05)

    def server_settings(self) -> dict[str, str]:
        """The ``-c`` settings the server runs with (address, port, socket, ``options``)."""
        return {"listen_addresses": self.host, "port": str(self.port),
                "unix_socket_directories": str(self.datadir), **self.options}

    def server_command(self) -> list[str]:
        """The server in the foreground, for a supervisor to run (as ``SYSTEM_USER`` if root)."""
        return [self._bin("postgres"), "-D", str(self.datadir),
                *(f"-c{name}={value}" for name, value in self.server_settings().items())]

    def running(self) -> bool:
        """True when this data directory has a live server."""
        if not (self.datadir / "postmaster.pid").exists():
            return False
        status = subprocess.run(self._as_owner([self._bin("pg_ctl"), "-D", str(self.datadir),
                                                "status"]), capture_output=True, check=False)
        return status.returncode == 0

    def accepting(self) -> bool:
        """True when the server answers ``pg_isready`` on its TCP port."""
        ready = subprocess.run([self._bin("pg_isready"), "-q", "-h", self.host,
                                "-p", str(self.port), "-U", SUPERUSER], check=False)
        return ready.returncode == 0

    def create_database(self, name: str) -> str:
        """Create ``name`` unless it exists; returns its URL."""
        listed = subprocess.run(
            [self._bin("psql"), "-h", self.host, "-p", str(self.port), "-U", SUPERUSER, "-tAc",
             f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
            capture_output=True, text=True, check=False, env=self._client_env())
        if listed.stdout.strip() != "1":
            self._run([self._bin("createdb"), "-h", self.host, "-p", str(self.port),
                       "-U", SUPERUSER, name], f"create database {name!r}", as_owner=False)
        return self.url(name)

    def require_password(self) -> bool:
        """A running cluster made with trust (an older workspace): give the superuser the
        password and switch every trust line to scram. True when it changed something."""
        hba = self.datadir / "pg_hba.conf"
        lines = hba.read_text().splitlines()
        if self.password is None or not any(line.rstrip().endswith(" trust") for line in lines
                                            if not line.lstrip().startswith("#")):
            return False
        literal = "'" + self.password.replace("'", "''") + "'"
        self._psql(f"ALTER ROLE {SUPERUSER} PASSWORD {literal}")  # on stdin, not argv
        hba.write_text("\n".join(
            line[:line.rstrip().rfind(" trust")] + " scram-sha-256"
            if line.rstrip().endswith(" trust") and not line.lstrip().startswith("#") else line
            for line in lines) + "\n")
        self._psql("SELECT pg_reload_conf()")
        return True

    def _psql(self, statement: str) -> None:
        done = subprocess.run([self._bin("psql"), "-h", self.host, "-p", str(self.port),
                               "-U", SUPERUSER, "-v", "ON_ERROR_STOP=1", "-q"],
                              input=statement + ";\n", capture_output=True, text=True,
                              check=False, env=self._client_env())
        if done.returncode != 0:
            detail = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
            raise StackError(f"PostgreSQL refused {statement.split()[0]}: {detail[-1]}")

    def _client_env(self) -> dict[str, str]:
        """The environment of psql/createdb: the password, never on a command line."""
        env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
        if self.password is not None:
            env["PGPASSWORD"] = self.password
        return env

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast`` rolls back open transactions); a no-op when stopped."""
        if not self.running():
            return
        self._run([self._bin("pg_ctl"), "-D", str(self.datadir), "-m", mode, "-w", "stop"],
                  "stop PostgreSQL")

    def _bin(self, name: str) -> str:
        return str(self.bindir / name)

    def _as_owner(self, command: list[str]) -> list[str]:
        return _as_system_user(command) if os.geteuid() == 0 else command

    def _run(self, command: list[str], action: str, as_owner: bool = True) -> None:
        full = self._as_owner(command) if as_owner else command
        try:
            done = subprocess.run(full, capture_output=True, text=True, check=False,
                                  env=None if as_owner else self._client_env())
        except OSError as exc:
            raise StackError(f"cannot {action}: {exc}; {INSTALL_HINT}") from exc
        if done.returncode != 0:
            detail = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
            raise StackError(f"cannot {action}: {detail[-1]} (see {self.log_file})")


def _as_system_user(command: list[str]) -> list[str]:
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", SYSTEM_USER, "--", *command]
    return ["su", SYSTEM_USER, "-s", "/bin/sh", "-c", " ".join(map(_quote, command))]


def _quote(word: str) -> str:
    return "'" + word.replace("'", "'\\''") + "'"


def _hand_over(datadir: Path, *files: Path) -> None:
    """As root, give the data directory (and ``files`` in it) to the ``postgres`` user."""
    if os.geteuid() != 0:
        return
    try:
        owner = pwd.getpwnam(SYSTEM_USER)
    except KeyError as exc:
        raise StackError(f"no {SYSTEM_USER!r} system user to run PostgreSQL as; "
                         f"{INSTALL_HINT}") from exc
    for path in (datadir, *files):
        os.chown(path, owner.pw_uid, owner.pw_gid)
        path.chmod(0o700 if path.is_dir() else 0o600)
