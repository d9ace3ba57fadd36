"""Shared fixtures: an isolated workspace per test, MovieLens loaded once, one real training run."""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from mlworkbench.config import Settings, get_settings  # noqa: E402

_ENV_KEYS = ("MLWB_", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith(_ENV_KEYS):
            monkeypatch.delenv(key, raising=False)


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """A fresh embedded workspace (SQLite tracking store, local artifacts) for one test."""
    _clean_env(monkeypatch)
    monkeypatch.setenv("MLWB_HOME", str(tmp_path / "mlwb"))
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def movielens():
    from mlworkbench.data.datasets import load_movielens

    return load_movielens()


def _trained_in_workspace(tmp_path_factory: pytest.TempPathFactory, name: str, trainer,
                          data=None):
    """One default run of ``trainer``'s family, registered in a workspace of its own."""
    from mlworkbench.training.train import train

    home = tmp_path_factory.mktemp(name) / "mlwb"
    with pytest.MonkeyPatch.context() as monkeypatch:
        _clean_env(monkeypatch)
        monkeypatch.setenv("MLWB_HOME", str(home))
        get_settings.cache_clear()
        settings = get_settings()
        result = train(trainer, settings=settings, data=data)
    get_settings.cache_clear()
    return settings, result


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory, movielens):
    """One default training run (ALS, random split) registered in its own workspace."""
    from mlworkbench.training.recommender import RECOMMENDER

    return _trained_in_workspace(tmp_path_factory, "trained", RECOMMENDER, movielens)


@pytest.fixture(scope="session")
def trained_classifier(tmp_path_factory: pytest.TempPathFactory):
    """One default classifier run (logreg) trained from the store's passengers (Titanic,
    ingested through the schema checks on first use), registered in its own workspace."""
    from mlworkbench.training.classifier import CLASSIFIER

    return _trained_in_workspace(tmp_path_factory, "classifier", CLASSIFIER)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The container tests run last (in their own order): ``make test`` builds their images in
    the background meanwhile, so the build overlaps the other tests instead of adding to them."""
    items.sort(key=lambda item: item.get_closest_marker("containers") is not None)
