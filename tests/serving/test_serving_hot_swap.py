"""Moving the alias swaps the model under load: zero failed requests, new version after."""

from __future__ import annotations

import threading
import time

import mlflow
import pytest

from mlworkbench.tracking import client as tracking
from mlworkbench.tracking.registry import set_alias
from mlworkbench.training.recommender import RECOMMENDER
from mlworkbench.training.train import TrainRequest, train

NAME = "hotswap-recommender"
URI = f"models:/{NAME}@champion"


@pytest.fixture(scope="module")
def two_versions(trained, movielens):
    """Version 1 = the session's model; version 2 trained now (different factors); alias on 1."""
    settings, result = trained
    client = tracking.configure(settings)
    mlflow.register_model(result.model_uri, NAME)
    set_alias(client, NAME, "champion", 1)
    second = train(RECOMMENDER,
        TrainRequest(params={"factors": 16, "iterations": 3}),
        settings=settings.model_copy(update={"recommender_model_name": NAME}), data=movielens,
    )
    assert second.version == 2 and second.champion_version == 1  # training never moves it
    return client


def wait_for_version(client, version: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while client.get("/model").json()["version"] != version:
        assert time.monotonic() < deadline, f"version {version} never arrived"
        time.sleep(0.05)


def test_alias_move_swaps_with_zero_errors_during_the_swap(two_versions, make_client) -> None:
    with make_client(URI, alias_poll_seconds=0.2) as client:
        first = client.post("/recommendations", json={"users": [42], "k": 10}).json()
        assert first["model"]["version"] == 1
        outcomes: list[tuple[int, int | None]] = []
        stop = threading.Event()

        def hammer() -> None:
            while not stop.is_set():
                response = client.post("/recommendations", json={"users": [42, 7, 9], "k": 10})
                version = response.json()["model"]["version"] if response.is_success else None
                outcomes.append((response.status_code, version))

        senders = [threading.Thread(target=hammer) for _ in range(2)]
        for sender in senders:
            sender.start()
        try:
            time.sleep(0.3)
            set_alias(two_versions, NAME, "champion", 2)
            wait_for_version(client, 2)
            time.sleep(0.3)
        finally:
            stop.set()
            for sender in senders:
                sender.join()
        after = client.post("/recommendations", json={"users": [42], "k": 10}).json()
        metrics = client.get("/metrics").text

    statuses = {status for status, _ in outcomes}
    versions = [version for _, version in outcomes]
    assert statuses == {200}, f"{len(outcomes)} requests, statuses {statuses}"
    assert 1 in versions and 2 in versions and versions.index(2) > versions.index(1)
    assert after["model"]["version"] == 2
    assert after["recommendations"] != first["recommendations"]  # another model answers
    assert f'mlwb_model_version{{model_name="{NAME}"}} 2.0' in metrics


def test_admin_reload_follows_the_alias_when_polling_is_off(two_versions, make_client,
                                                            admin_token) -> None:
    set_alias(two_versions, NAME, "champion", 2)
    with make_client(URI, alias_poll_seconds=0) as client:
        assert client.get("/model").json()["version"] == 2
        set_alias(two_versions, NAME, "champion", 1)
        assert client.get("/model").json()["version"] == 2  # nobody looked yet
        reload = client.post("/admin/reload", headers={"Authorization": f"Bearer {admin_token}"})
        assert reload.status_code == 200
        assert reload.json() == {"previous": {"name": NAME, "version": 2},
                                 "current": {"name": NAME, "version": 1}, "version_changed": True}
        assert client.get("/model").json()["version"] == 1


def test_a_pinned_version_or_run_reference_names_its_registered_version(
    two_versions, make_client, trained
) -> None:
    _, result = trained
    with make_client(f"models:/{NAME}/2") as client:
        info = client.get("/model").json()
        assert (info["version"], info["alias"]) == (2, None)
    with make_client(result.model_uri) as client:
        info = client.get("/model").json()
        assert info["run_id"] == result.run_id and info["version"] == 1
