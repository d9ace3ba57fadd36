"""``mlwb up / down / status``: the local stack under supervisord, in its workspace.

``up`` starts, each step only once the one before is healthy: PostgreSQL (unless
MLWB_BACKEND_STORE_URI names another server); the S3 server (unless MLWB_S3_ENDPOINT_URL
names another); the MLflow server and, beside it, the simulator; the data fill (``mlwb data
fill``), ``evidently ui`` and each model family's API once it has a champion; then the jobs
service, the monitoring service and the pipeline scheduler (``mlwb pipeline schedule``): the
continuous-training loop is alive after one command. Then it writes the URIs to the
workspace (``stack/stack.json``), so plain ``mlwb`` commands there use the running stack.
``down`` stops everything and keeps the data.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass

from mlworkbench.config import CHAMPION_ALIAS, STACK_FILE, Settings
from mlworkbench.errors import ModelNotFoundError, StackError, TrackingError
from mlworkbench.platform import processes
from mlworkbench.platform.objectstore import ObjectStore
from mlworkbench.platform.secrets import MLFLOW_ADMIN, stack_secrets, write_private
from mlworkbench.platform.services import (
    Service,
    evidently_service,
    fill_service,
    jobs_service,
    mlflow_service,
    model_service,
    monitoring_service,
    s3_service,
    scheduler_service,
    simulator_service,
)
from mlworkbench.platform.stack_postgres import postgres_service
from mlworkbench.platform.supervisor import Supervisor

logger = logging.getLogger(__name__)
Report = Callable[[str], None]
MLFLOW_AUTH_CACHE_SECONDS = 60  # how long the MLflow server trusts a checked password


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    title: str
    state: str  # supervisord's state name, or "external"
    pid: int | None
    url: str
    healthy: bool
    rss_mib: float | None


class Stack:
    """The local stack of one workspace (``settings.home``)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.supervisor = Supervisor(settings.stack_dir)
        self.secrets = stack_secrets(settings)
        self.postgres = (postgres_service(settings, self.secrets.postgres_password)
                         if not settings.backend_store_uri else None)

    @property
    def client_settings(self) -> dict[str, str]:
        """What a client of this stack needs beyond its URIs: MLflow's user, the token."""
        found = {"admin_token": self.secrets.admin_token}
        if self.settings.mlflow_auth:
            found |= {"tracking_username": MLFLOW_ADMIN,
                      "tracking_password": self.secrets.mlflow_password}
        return found

    def _mlflow_auth(self) -> dict[str, str] | None:
        """The basic-auth app's variables (its user store: SQLite in the stack's data).

        Its credential cache is on (``auth_cache_ttl_seconds``; MLflow leaves it off): without
        it every request hashes the password again (scrypt, slow on purpose), so one tracking
        call took about 0.5 s here, 26 ms with it, and ``mlwb train`` spent most of its time
        waiting on them (``benchmarks/stack.py``). The server runs one worker, so a password
        changed or a user deleted through its API is dropped from the cache at once; a user
        store edited by hand is read again within the minute."""
        if not self.settings.mlflow_auth:
            return None
        config = self.settings.stack_dir / "mlflow-auth.ini"
        users = self.settings.stack_dir / "data" / "mlflow-auth.db"
        write_private(config, "[mlflow]\ndefault_permission = READ\n"
                      f"database_uri = sqlite:///{users}\nadmin_username = {MLFLOW_ADMIN}\n"
                      f"auth_cache_ttl_seconds = {MLFLOW_AUTH_CACHE_SECONDS}\n")
        return {"MLFLOW_AUTH_CONFIG_PATH": str(config),
                "MLFLOW_AUTH_ADMIN_USERNAME": MLFLOW_ADMIN,
                "MLFLOW_AUTH_ADMIN_PASSWORD": self.secrets.mlflow_password,
                "MLFLOW_FLASK_SERVER_SECRET_KEY": self.secrets.seaweedfs_key + "-flask"}

    @property
    def backend_store_uri(self) -> str:
        if self.settings.backend_store_uri:
            return self.settings.backend_store_uri
        assert self.postgres is not None
        return self.postgres.backend_store_uri

    def services(self) -> list[Service]:
        """Every service the stack supervises, in start order."""
        from mlworkbench import families  # the families' code, only when services are listed
        from mlworkbench.monitoring import records
        found = [self.postgres.service] if self.postgres else []
        if not self.settings.s3_endpoint_url:
            found.append(s3_service(self.settings, self.secrets.seaweedfs_key))
        database_url = self.postgres.database_url if self.postgres else self.settings.database_url
        clients = {f"MLWB_{key.upper()}": value for key, value in self.client_settings.items()}
        if self.settings.mlflow_auth:  # never credentials the launching process inherited
            clients |= {"MLFLOW_TRACKING_USERNAME": clients["MLWB_TRACKING_USERNAME"],
                        "MLFLOW_TRACKING_PASSWORD": clients["MLWB_TRACKING_PASSWORD"]}
        found += [mlflow_service(self.settings, self.backend_store_uri, self._mlflow_auth()),
                  simulator_service(self.settings, database_url, clients),
                  evidently_service(self.settings, records.workspace_path(self.settings)),
                  jobs_service(self.settings, database_url, clients),
                  monitoring_service(self.settings, database_url, clients)]
        if self.settings.stack_loop:  # the loop's own actors: new data, and runs on schedule
            found += [fill_service(self.settings, self._running("fill"), database_url),
                      scheduler_service(self.settings, self._running("scheduler"),
                                        database_url, clients)]
        for family in families.FAMILIES.values():  # one API per family, once it has a champion
            name = "api" if family.name == "recommender" else f"{family.name}-api"
            found.append(model_service(self.settings, name, f"{family.name} API",
                                       family.model_name(self.settings), family.port(self.settings),
                                       family.port_setting, database_url, clients))
        return found

    def _running(self, name: str) -> Callable[[], bool]:
        """A health check for a process without a port: supervisord holds it RUNNING."""
        return lambda: self.supervisor.info().get(name, {}).get("statename") == "RUNNING"

    # -- up -------------------------------------------------------------------------------
    def up(self, report: Report = lambda _: None) -> list[ServiceStatus]:
        """Start what is not running, in order, each healthy before the next; idempotent."""
        started = time.perf_counter()
        services = self.services()
        if recovered := self.supervisor.recover():
            report(f"stopped {len(recovered)} processes a killed supervisord left running")
        running = {name for name, info in self.supervisor.info().items()
                   if info["statename"] == "RUNNING"}
        processes.check_ports_free(self.settings.stack_host, [
            (port, service.title, setting)
            for service in services if service.name not in running
            for port, setting in service.ports
        ])
        self.supervisor.write_config([service.program for service in services])
        self.supervisor.start()
        if self.settings.s3_endpoint_url:
            ObjectStore(self.settings).ensure_bucket()
        waves: dict[int, list[Service]] = {}
        for service in services:
            waves.setdefault(service.wave, []).append(service)
        for wave in sorted(waves):
            ready = []
            for service in waves[wave]:
                if service.serves and not self._champion_exists(service.serves):
                    report(f"{service.name}: waits for a {service.serves} champion "
                           "(train, then `mlwb up` again)")
                else:
                    ready.append(service)
            self._start_together(ready, report)
        self._publish()
        report(f"stack healthy in {time.perf_counter() - started:.1f} s")
        return self.status()

    def _start_together(self, wave: list[Service], report: Report) -> None:
        """Start the services of one wave at once; return when every one is healthy."""
        began = time.perf_counter()
        pending = {service.name for service in wave if not service.healthy()}
        for service in wave:
            if service.name in pending:
                service.before_start()
                self.supervisor.start_program(service.name)
        for service in wave:
            deadline = time.monotonic() + service.timeout_s
            while service.name in pending and not service.healthy():
                state = self.supervisor.info().get(service.name, {}).get("statename")
                if state in ("FATAL", "EXITED", "STOPPED") or time.monotonic() > deadline:
                    raise StackError(
                        f"{service.title} did not become healthy ({state}, "
                        f"{time.perf_counter() - began:.0f} s); see `mlwb logs {service.name}`"
                    )
                time.sleep(0.1)
            service.after_healthy()
            report(f"{service.name}: healthy at {service.url} "
                   f"({time.perf_counter() - began:.1f} s)")

    def _champion_exists(self, name: str) -> bool:
        from mlworkbench.tracking import client as tracking
        from mlworkbench.tracking import registry

        settings = self.settings.model_copy(update={
            "tracking_uri": self.settings.stack_tracking_uri, "registry_uri": None,
            **self.client_settings})
        try:
            mlflow_client = tracking.configure(settings)
            return registry.alias_version(mlflow_client, name, CHAMPION_ALIAS) is not None
        except ModelNotFoundError:
            return False
        except TrackingError as exc:
            logger.warning("cannot read the champion: %s", exc)
            return False

    def _publish(self) -> None:
        """Write what plain ``mlwb`` commands in this workspace should use."""
        published: dict[str, object] = {
            "tracking_uri": self.settings.stack_tracking_uri,
            "stack_host": self.settings.stack_host,
            "mlflow_port": self.settings.mlflow_port,
            "serve_port": self.settings.serve_port,
            "classifier_port": self.settings.classifier_port,
            "simulator_port": self.settings.simulator_port,
            "jobs_port": self.settings.jobs_port,
            "monitoring_port": self.settings.monitoring_port,
            "evidently_port": self.settings.evidently_port,
            "s3_port": self.settings.s3_port,
            "s3_aux_port": self.settings.s3_aux_port,
            "postgres_port": self.settings.postgres_port,
            **self.client_settings,
        }
        if self.postgres is not None:
            published["database_url"] = self.postgres.database_url
        write_private(self.settings.home / STACK_FILE, json.dumps(published, indent=2) + "\n")

    # -- down, status ---------------------------------------------------------------------
    def down(self, purge: bool = False) -> list[int]:
        """Stop every service and supervisord; the pids that were stopped come back.
        After an unclean stop (supervisord killed) it stops what was left running."""
        pids = self.supervisor.recover()
        pids += [pid for info in self.supervisor.info().values() if (pid := info.get("pid"))]
        pids = [member for pid in pids for member in processes.descendants(pid)]
        if (own := self.supervisor.pid()) is not None:
            pids.append(own)
        self.supervisor.shutdown()
        (self.settings.home / STACK_FILE).unlink(missing_ok=True)
        if purge:
            shutil.rmtree(self.settings.stack_dir, ignore_errors=True)
        return pids

    def status(self) -> list[ServiceStatus]:
        info = self.supervisor.info()
        rows = []
        if self.settings.backend_store_uri:
            rows.append(ServiceStatus("postgres", "MLflow backend store", "external", None,
                                      _redacted(self.settings.backend_store_uri), True, None))
        if self.settings.s3_endpoint_url:
            store = ObjectStore(self.settings, timeout_s=1.0)
            rows.append(ServiceStatus("s3", "S3", "external", None, store.endpoint,
                                      _quietly(store.bucket_exists), None))
        for service in self.services():
            entry = info.get(service.name, {})
            state = entry.get("statename", "STOPPED")
            pid = entry.get("pid") or None
            running = state == "RUNNING" and pid is not None
            rows.append(ServiceStatus(
                service.name, service.title, state, pid if running else None, service.url,
                running and service.healthy(), processes.rss_mib(pid) if running else None,
            ))
        return rows

    def log_file(self, name: str) -> str:
        names = [service.name for service in self.services()]
        if name not in names:
            raise StackError(f"no service {name!r} in the stack; choose one of {', '.join(names)}")
        return str(self.supervisor.log_file(name))


def _quietly(check: Callable[[], bool]) -> bool:
    try:
        return check()
    except Exception:  # a status line, not a failure
        return False


def _redacted(uri: str) -> str:
    head, sep, tail = uri.rpartition("@")
    if not sep or ":" not in head.split("//", 1)[-1]:
        return uri
    scheme, _, credentials = head.partition("//")
    return f"{scheme}//{credentials.split(':', 1)[0]}:***@{tail}"
