"""Monitoring tests: store-touching ones run on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fixtures.postgres import (  # noqa: F401  (fixtures, registered by import)
    postgres_cluster,
    postgres_database_factory,
    postgres_url,
)
from fixtures.stores import store, store_url  # noqa: F401
from mlworkbench.config import Settings, get_settings


@pytest.fixture
def store_workspace(workspace: Settings, store_url: str,  # noqa: F811  (the fixture)
                    monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """A fresh workspace whose data store is SQLite or a real PostgreSQL (one test each)."""
    monkeypatch.setenv("MLWB_DATABASE_URL", store_url)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()
