"""Pipeline tests: the lock runs on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from fixtures.postgres import (  # noqa: F401  (fixtures, registered by import)
    postgres_cluster,
    postgres_database_factory,
    postgres_url,
)
from fixtures.stores import store, store_url  # noqa: F401
