"""Verify: every serving URL must answer ``GET /model`` with the promoted version before the
time-out; a process still serving the old one makes the run roll champion back."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import mlflow
import pytest

from mlworkbench.pipelines.verify import verify
from mlworkbench.tracking import client as tracking
from mlworkbench.tracking.registry import set_alias

NAME = "titanic-classifier"  # the classifier family's registered model


def _server(version: int, name: str = NAME) -> Iterator[str]:
    class Model(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802  (http.server's name)
            body = json.dumps({"name": name, "version": version}).encode()
            self.send_response(200 if self.path == "/model" else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Model)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def old_service() -> Iterator[str]:
    yield from _server(1)


@pytest.fixture
def new_service() -> Iterator[str]:
    yield from _server(2)


@pytest.fixture
def promoted(workspace):
    """Two registered versions, champion on the second (as right after a promotion)."""
    client = tracking.configure(workspace)
    experiment = tracking.ensure_experiment(client, workspace)
    for _ in range(2):
        with mlflow.start_run(experiment_id=experiment) as run:
            mlflow.log_text("a model", "model/MLmodel")
        mlflow.register_model(f"runs:/{run.info.run_id}/model", NAME)
    set_alias(client, NAME, "champion", 2)
    return workspace


def test_every_url_serving_the_new_version_passes(promoted, new_service) -> None:
    result = verify(promoted, "classifier", {"promoted": True, "challenger": 2, "champion": 1},
                    urls=[new_service], timeout_s=5)
    assert result["ok"] and result["served"] == {new_service: 2}


def test_a_url_still_serving_the_old_version_rolls_champion_back(promoted, old_service,
                                                                 new_service) -> None:
    result = verify(promoted, "classifier", {"promoted": True, "challenger": 2, "champion": 1},
                    urls=[new_service, old_service], timeout_s=1)
    assert not result["ok"] and result["rolled_back_to"] == 1
    assert result["reason"].startswith("not serving version 2 after 1 s")
    client = tracking.configure(promoted)
    assert int(client.get_registered_model(NAME).aliases["champion"]) == 1
    assert client.get_model_version(NAME, "2").tags["rollback.reason"] == result["reason"]


def test_a_url_that_does_not_answer_counts_as_behind(promoted) -> None:
    result = verify(promoted, "classifier", {"promoted": True, "challenger": 2, "champion": 1},
                    urls=["http://127.0.0.1:9"], timeout_s=0.5)
    assert not result["ok"] and result["served"] == {"http://127.0.0.1:9": None}


def test_nothing_promoted_or_no_urls_is_nothing_to_verify(promoted) -> None:
    assert verify(promoted, "classifier", {"promoted": False})["ok"]
    assert "no serving URLs" in verify(promoted, "classifier",
                                       {"promoted": True, "challenger": 2})["note"]


def test_a_url_serving_another_model_is_not_this_models_service(promoted, new_service) -> None:
    other = _server(7, "movielens-recommender")
    url = next(other)
    try:
        result = verify(promoted, "classifier", {"promoted": True, "challenger": 2,
                                                 "champion": 1},
                        urls=[new_service, url], timeout_s=1)
    finally:
        other.close()
    assert result["ok"] and result["checked"] == [new_service]


def test_without_urls_the_stacks_api_of_the_family_is_checked(promoted, old_service,
                                                             monkeypatch) -> None:
    from mlworkbench.config import get_settings

    monkeypatch.setenv("MLWB_CLASSIFIER_PORT", old_service.rsplit(":", 1)[1])
    get_settings.cache_clear()
    settings = get_settings()
    result = verify(settings, "classifier", {"promoted": True, "challenger": 2, "champion": 1},
                    timeout_s=1)
    assert not result["ok"] and result["checked"] == [old_service]
    assert result["rolled_back_to"] == 1
