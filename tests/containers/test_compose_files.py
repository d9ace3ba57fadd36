"""`docker compose config -q` accepts every compose file and profile the project ships."""

from __future__ import annotations

import os
import subprocess

import pytest

from fixtures.compose import COMPOSE, ROOT

pytestmark = pytest.mark.containers

VARIANTS = {
    "default": [],
    "minio": ["-f", str(ROOT / "deploy" / "compose.minio.yaml")],
    **{f"profile-{name}": ["--profile", name]
       for name in ("replicas", "cli", "classifier")},
}


@pytest.mark.parametrize("extra", VARIANTS.values(), ids=VARIANTS.keys())
def test_compose_config_is_valid(extra: list[str]) -> None:
    done = subprocess.run([*COMPOSE, *extra, "config", "-q"], cwd=ROOT, env=os.environ,
                          capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    services = subprocess.run([*COMPOSE, *extra, "config", "--services"], cwd=ROOT,
                              capture_output=True, text=True, check=True, timeout=60).stdout.split()
    assert {"postgres", "s3", "mlflow", "api", "simulator", "fill", "jobs", "monitoring",
            "evidently", "scheduler"} <= set(services)
