"""The service over HTTP, on the session's trained model (its own workspace)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient

from mlworkbench.config import Settings
from mlworkbench.serving.app import build_app
from mlworkbench.serving.recommender import SERVED

CHAMPION = "models:/movielens-recommender@champion"
ADMIN_TOKEN = "test-admin-token"


@pytest.fixture(scope="session")
def serving_settings(trained) -> Settings:
    """The trained workspace's settings with serving knobs small enough to hit in tests."""
    settings, _ = trained
    return settings.model_copy(update={
        "admin_token": ADMIN_TOKEN, "alias_poll_seconds": 0.0, "max_batch_users": 50,
        "prediction_log_flush_seconds": 0.05,
    })


@pytest.fixture(scope="session")
def admin_token() -> str:
    return ADMIN_TOKEN


@pytest.fixture(scope="session")
def make_client(serving_settings) -> Callable:
    """``with make_client(**setting_overrides) as client:`` — a started app (lifespan run)."""

    @contextmanager
    def factory(uri: str = CHAMPION, **overrides) -> Iterator[TestClient]:
        settings = serving_settings.model_copy(update=overrides)
        with TestClient(build_app(uri, SERVED, settings)) as client:
            yield client

    return factory


@pytest.fixture(scope="module")
def client(make_client) -> Iterator[TestClient]:
    with make_client() as started:
        yield started


@pytest.fixture(scope="session")
def recommender(trained):
    """The very model the service loads, in process, to compare answers with."""
    from mlworkbench.models.pyfunc import load_recommender
    from mlworkbench.tracking import client as tracking

    settings, _ = trained
    tracking.configure(settings)
    model, _ = load_recommender(CHAMPION)
    return model
