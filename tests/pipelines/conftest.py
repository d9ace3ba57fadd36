"""Pipeline tests: the lock runs on SQLite and on a real PostgreSQL; the classifier's loop runs
in an embedded workspace of its own per module (it trains in seconds)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from fixtures.postgres import (  # noqa: F401  (fixtures, registered by import)
    postgres_cluster,
    postgres_database_factory,
    postgres_url,
)
from fixtures.stores import store, store_url  # noqa: F401
from mlworkbench.config import Settings, get_settings


@pytest.fixture(scope="module")
def classifier_workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """An embedded workspace (SQLite + local artifacts) whose classifier champion, version 1,
    is the default logistic regression on Titanic (ingested through the store)."""
    from mlworkbench.training.classifier import CLASSIFIER
    from mlworkbench.training.train import train

    home = tmp_path_factory.mktemp("pipeline-classifier") / "mlwb"
    with pytest.MonkeyPatch.context() as monkeypatch:
        for key in list(os.environ):
            if key.startswith(("MLWB_", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")):
                monkeypatch.delenv(key)
        monkeypatch.setenv("MLWB_HOME", str(home))
        get_settings.cache_clear()
        settings = get_settings()
        assert train(CLASSIFIER, settings=settings).version == 1
        yield settings
    get_settings.cache_clear()
