"""Data-layer tests run on both stores: SQLite (embedded) and a real PostgreSQL."""

from __future__ import annotations

import pytest

from fixtures.postgres import (  # noqa: F401  (fixtures, registered by import)
    postgres_cluster,
    postgres_database_factory,
    postgres_url,
)
from fixtures.stores import store, store_url  # noqa: F401
from mlworkbench.data.store import Store


@pytest.fixture
def movielens_store(store: Store, movielens) -> Store:  # noqa: F811 (the fixture)
    """A store holding the MovieLens items (the catalogue interactions refer to)."""
    store.ingest("items", movielens.items, source="movielens")
    return store
