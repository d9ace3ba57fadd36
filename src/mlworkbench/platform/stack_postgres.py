"""PostgreSQL as a stack service (placeholder until platform/postgres.py lands)."""

from __future__ import annotations

from dataclasses import dataclass

from mlworkbench.config import Settings
from mlworkbench.errors import StackError
from mlworkbench.platform.services import Service


@dataclass(frozen=True)
class PostgresService:
    service: Service
    backend_store_uri: str
    database_url: str


def postgres_service(settings: Settings) -> PostgresService:
    raise StackError("the stack cannot start PostgreSQL yet; set MLWB_BACKEND_STORE_URI")
