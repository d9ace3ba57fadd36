"""Monitoring tests: store-touching ones run on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fixtures.postgres import (  # noqa: F401  (fixtures, registered by import)
    postgres_cluster,
    postgres_database_factory,
    postgres_url,
)
from mlworkbench.data.store import Store


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty data store of each kind, one per test."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data.db'}"
    factory: Callable[[], str] = request.getfixturevalue("postgres_database_factory")
    return factory()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store(store_url) as opened:
        yield opened
