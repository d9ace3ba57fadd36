"""One real local stack (PostgreSQL, SeaweedFS, MLflow server) for the platform tests.

It runs on free ports in a temporary workspace that the ``postgres`` user can enter, is
brought up once per module, and is always brought down again, leaving no process behind.
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlworkbench.config import get_settings
from mlworkbench.platform.processes import alive, port_free
from mlworkbench.platform.services import GRPC_OFFSET

_ENV_KEYS = ("MLWB_", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


def free_port_block(size: int = 1, host: str = "127.0.0.1") -> int:
    """The first of ``size`` consecutive free ports whose +10000 twins are free as well."""
    rng = random.Random()
    for _ in range(500):
        first = rng.randrange(15_000, 22_000)  # twins stay below the ephemeral range (32768)
        ports = [first + i + twin for i in range(size) for twin in (0, GRPC_OFFSET)]
        if all(port_free(host, port) for port in ports):
            return first
    raise RuntimeError("no free block of ports found")


def stack_environment(home: Path) -> dict[str, str]:
    """MLWB_* variables for a stack in ``home`` on ports nobody uses."""
    aux = free_port_block(4)
    taken = {aux + i + twin for i in range(4) for twin in (0, GRPC_OFFSET)}
    ports: dict[str, int] = {}
    for name in ("MLWB_S3_PORT", "MLWB_MLFLOW_PORT", "MLWB_SERVE_PORT", "MLWB_POSTGRES_PORT",
                 "MLWB_SIMULATOR_PORT", "MLWB_JOBS_PORT", "MLWB_MONITORING_PORT",
                 "MLWB_EVIDENTLY_PORT", "MLWB_CLASSIFIER_PORT"):
        port = free_port_block(1)
        while port in taken or port + GRPC_OFFSET in taken:
            port = free_port_block(1)
        taken |= {port, port + GRPC_OFFSET}
        ports[name] = port
    return {"MLWB_HOME": str(home), "MLWB_S3_AUX_PORT": str(aux),
            "MLWB_FILL_EVERY_SECONDS": "5",  # the data fill's batches show up within the tests
            **{name: str(port) for name, port in ports.items()}}


@pytest.fixture(scope="module")
def stack_home() -> Iterator[Path]:
    """A workspace outside pytest's private tmp (which the ``postgres`` user cannot enter)."""
    root = Path(tempfile.mkdtemp(prefix="mlwb-stack-"))
    root.chmod(0o755)
    yield root / "ws"
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def stack(stack_home: Path) -> Iterator[object]:
    """The running stack (a :class:`mlworkbench.platform.stack.Stack`), up once per module."""
    from mlworkbench.platform.stack import Stack

    with pytest.MonkeyPatch.context() as monkeypatch:
        for key in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
            # mlflow.set_tracking_uri() exports MLFLOW_TRACKING_URI: record it so that the
            # stack's URI does not outlive this module
            monkeypatch.setenv(key, os.environ.get(key, ""))
        for key in list(os.environ):
            if key.startswith(_ENV_KEYS):
                monkeypatch.delenv(key)
        for key, value in stack_environment(stack_home).items():
            monkeypatch.setenv(key, value)
        get_settings.cache_clear()
        running = Stack(get_settings())
        try:
            running.up(report=print)
            yield running
        finally:
            pids = running.down()
            get_settings.cache_clear()
            assert not alive(pids), f"processes left behind: {alive(pids)}"
