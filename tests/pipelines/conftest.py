"""Pipeline tests: the lock runs on SQLite and on a real PostgreSQL; the classifier's loop runs
in an embedded workspace of its own per module (it trains in seconds)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fixtures.postgres import (  # noqa: F401  (fixtures, registered by import)
    postgres_cluster,
    postgres_database_factory,
    postgres_url,
)
from fixtures.stores import store, store_url  # noqa: F401
from fixtures.workspaces import module_workspace
from mlworkbench.config import Settings


@pytest.fixture(scope="module")
def classifier_workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """An embedded workspace (SQLite + local artifacts) whose classifier champion, version 1,
    is the default logistic regression on Titanic (ingested through the store)."""
    from mlworkbench.training.classifier import CLASSIFIER
    from mlworkbench.training.train import train

    with module_workspace(tmp_path_factory, "pipeline-classifier") as settings:
        assert train(CLASSIFIER, settings=settings).version == 1
        yield settings
