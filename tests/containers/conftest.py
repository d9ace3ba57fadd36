"""The compose stack on this machine's Docker engine, driven through the Makefile's targets.

`make test` installs the engine and compose v2 and starts `dockerd` (scripts/ensure-docker.sh)
before pytest runs; without an engine these tests fail, they are never skipped. Images are built
once per session (the engine caches them); each module gets its own compose project on free
ports, brought down with `down -v` at its end. The host reaches containers only through ports
published on 127.0.0.1.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ["docker", "compose", "-f", str(ROOT / "deploy" / "compose.yaml")]
ALL_PROFILES = ["--profile", "replicas", "--profile", "cli", "--profile", "classifier"]
PORT_SETTINGS = ("MLWB_POSTGRES_PORT", "MLWB_S3_PORT", "MLWB_MLFLOW_PORT", "MLWB_SERVE_PORT",
                 "MLWB_SIMULATOR_PORT", "MLWB_BALANCER_PORT")


def run(args: list[str], env: dict[str, str], timeout: float = 900) -> str:
    """Run a command from the repository root; its output, or a failure that shows it."""
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited {done.returncode}:\n{done.stdout[-4000:]}\n"
                    f"{done.stderr[-4000:]}")
    return done.stdout


def make(*targets: str, env: dict[str, str], timeout: float = 900) -> str:
    return run(["make", "--no-print-directory", *targets], env, timeout)


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclass
class Stack:
    """One compose project: its environment (project name, ports, images) and helpers."""

    env: dict[str, str]
    project: str
    ports: dict[str, int] = field(default_factory=dict)

    def url(self, setting: str) -> str:
        return f"http://127.0.0.1:{self.ports[setting]}"

    def compose(self, *args: str, timeout: float = 600) -> str:
        return run([*COMPOSE, *args], self.env, timeout)

    def containers(self, service: str) -> list[str]:
        out = run(["docker", "ps", "-q", "--filter", f"label=com.docker.compose.project={self.project}",
                   "--filter", f"label=com.docker.compose.service={service}"], self.env)
        return out.split()

    def inspect(self, container: str, template: str) -> str:
        return run(["docker", "inspect", "-f", template, container], self.env).strip()

    def leftovers(self) -> dict[str, list[str]]:
        label = f"label=com.docker.compose.project={self.project}"
        return {kind: run(["docker", *command, "-q", "--filter", label], self.env).split()
                for kind, command in {"containers": ["ps", "-a"], "networks": ["network", "ls"],
                                      "volumes": ["volume", "ls"]}.items()}


def wait_for(url: str, timeout: float = 120) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            response = httpx.get(url, timeout=3)
            if response.status_code == 200:
                return response
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{url} did not answer 200 within {timeout:.0f} s")
        time.sleep(1)


@pytest.fixture(scope="session")
def images() -> dict[str, str]:
    """Base images (bootstrapped from Debian packages without a registry), the service stand-ins
    selected through MLWB_POSTGRES_IMAGE / MLWB_S3_IMAGE, and the project's three images."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLWB_", "MLFLOW_"))}
    out = run(["bash", "scripts/bootstrap-images.sh", "--services"], env, timeout=1800)
    selected = dict(re.findall(r"^(MLWB_\w+_IMAGE)=(\S+)$", out, re.M))
    assert set(selected) == {"MLWB_POSTGRES_IMAGE", "MLWB_S3_IMAGE"}, out
    make("build_base_container", "build_model_container", "build_balancer_container",
         env=env, timeout=1800)
    return selected


@pytest.fixture(scope="module")
def stack(images: dict[str, str]) -> Iterator[Stack]:
    """A compose project of its own on free 127.0.0.1 ports; `down -v` at the end, whatever happened."""
    project = f"mlwb-test-{uuid.uuid4().hex[:8]}"
    ports = dict(zip(PORT_SETTINGS, _free_ports(len(PORT_SETTINGS)), strict=True))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLWB_", "MLFLOW_"))}
    env.update(images, COMPOSE_PROJECT_NAME=project, RUNTIME="docker",
               **{name: str(port) for name, port in ports.items()})
    stack = Stack(env=env, project=project, ports=ports)
    try:
        yield stack
    finally:
        subprocess.run([*COMPOSE, *ALL_PROFILES, "down", "-v", "--timeout", "5"], cwd=ROOT, env=env,
                       capture_output=True, check=False, timeout=300)
