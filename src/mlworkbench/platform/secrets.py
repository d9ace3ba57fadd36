"""The local stack's generated secrets, kept in the workspace (``stack/secrets.json``, 0600).

Made once, on the first ``mlwb up``, and reused after: PostgreSQL's superuser password
(scram), the MLflow server's admin password (basic auth), the bearer token of the
services' write endpoints, and the key SeaweedFS signs its internal requests with. Nothing
here is ever printed; ``mlwb up`` publishes what clients need in ``stack.json`` (0600).
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, fields
from pathlib import Path

from mlworkbench.config import Settings

FILE = "secrets.json"
MLFLOW_ADMIN = "admin"  # the MLflow server's admin user


@dataclass(frozen=True)
class StackSecrets:
    postgres_password: str
    mlflow_password: str
    admin_token: str
    seaweedfs_key: str


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, readable by its owner only (0600) from the first byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    path.chmod(0o600)  # an older file keeps its mode through O_TRUNC


def stack_secrets(settings: Settings) -> StackSecrets:
    """The workspace's secrets; missing ones are generated and saved."""
    path = settings.stack_dir / FILE
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        saved = {}
    values = {field.name: saved.get(field.name) or secrets.token_urlsafe(24)
              for field in fields(StackSecrets)}
    if settings.admin_token:  # a token the user chose wins over a generated one
        values["admin_token"] = settings.admin_token
    if values != saved:
        write_private(path, json.dumps(values, indent=2) + "\n")
    return StackSecrets(**values)
