"""PostgreSQL as a stack service: the workspace's cluster, run in the foreground by supervisord.

:mod:`mlworkbench.platform.postgres` knows the cluster (binaries, initdb, databases); this
module turns it into a :class:`Service`: supervisord runs the server itself (as the
``postgres`` user when we are root), so a crash is noticed and restarted like any other.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mlworkbench.config import Settings
from mlworkbench.errors import StackError
from mlworkbench.platform.postgres import SYSTEM_USER, PostgresCluster
from mlworkbench.platform.services import Service
from mlworkbench.platform.supervisor import Program

DATABASES = ("mlflow", "mlwb")  # MLflow's backend store; the mlworkbench data store


@dataclass(frozen=True)
class PostgresService:
    service: Service
    backend_store_uri: str
    database_url: str


def _reachable_by_server(settings: Settings, datadir: Path) -> None:
    """As root the server runs as ``postgres``: let it pass through the workspace's folders."""
    if os.geteuid() != 0:
        return
    for folder in reversed(settings.home.parents):
        if folder.exists() and not folder.stat().st_mode & 0o001:
            raise StackError(
                f"PostgreSQL runs as the {SYSTEM_USER!r} user, who cannot enter {folder}; "
                f"set MLWB_HOME to a folder it can reach, or `chmod o+x {folder}`"
            )
    for folder in (settings.home, settings.stack_dir, datadir.parent):
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(folder.stat().st_mode | 0o001)


def postgres_service(settings: Settings, password: str) -> PostgresService:
    """The workspace's cluster; its superuser needs ``password`` (scram), even locally."""
    datadir = settings.stack_dir / "data" / "postgres"
    cluster = PostgresCluster(datadir, port=settings.postgres_port, host=settings.stack_host,
                              password=password)

    def prepare() -> None:
        _reachable_by_server(settings, datadir)
        cluster.init()

    def create_databases() -> None:
        cluster.require_password()  # a workspace from before passwords: switch it now
        for name in DATABASES:
            cluster.create_database(name)

    service = Service(
        name="postgres", title="PostgreSQL",
        program=Program("postgres", cluster.server_command(),
                        user=SYSTEM_USER if os.geteuid() == 0 else None,
                        stopsignal="INT", stopwaitsecs=30),  # INT: PostgreSQL's fast shutdown
        url=f"postgresql://{settings.stack_host}:{settings.postgres_port}",
        ports=[(settings.postgres_port, "MLWB_POSTGRES_PORT")],
        healthy=cluster.accepting, timeout_s=30.0,
        before_start=prepare, after_healthy=create_databases,
    )
    return PostgresService(service, cluster.url("mlflow"), cluster.url("mlwb"))
