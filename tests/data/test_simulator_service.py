"""The simulator service writes real batches into the store (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from mlworkbench.config import get_settings
from mlworkbench.data.simulator_service import build_app

TOKEN = "simulator-test-token"


@pytest.fixture
def client(workspace, store_url, monkeypatch):
    monkeypatch.setenv("MLWB_DATABASE_URL", store_url)
    monkeypatch.setenv("MLWB_ADMIN_TOKEN", TOKEN)
    get_settings.cache_clear()
    with TestClient(build_app(get_settings()),
                    headers={"Authorization": f"Bearer {TOKEN}"}) as test_client:
        yield test_client


def test_post_a_drifted_production_batch_then_read_it_back(client: TestClient) -> None:
    answer = client.post("/batches", json={"size": 300, "drift": {"schema_violations": 0.1,
                                                                  "new_users": 0.2}})
    assert answer.status_code == 201, answer.text
    batch = answer.json()
    assert batch["stage"] == "production" and batch["received"] == 300
    assert batch["rejected"] > 0 and batch["accepted"] + batch["rejected"] == 300
    assert datetime.fromisoformat(batch["created_at"]).tzinfo == UTC  # naive in the store, "Z" here
    again = client.get(f"/batches/{batch['id']}")
    assert again.status_code == 200 and again.json() == batch
    following = client.post("/batches", json={"size": 300}).json()
    assert following["id"] == batch["id"] + 1 and following["source"].endswith("#1")


def test_windows_are_written_once(client: TestClient) -> None:
    first = client.post("/batches", json={"stage": "training"}).json()
    assert first["accepted"] == 60_002 and not first["skipped"]
    assert client.post("/batches", json={"stage": "training"}).json()["skipped"]


def test_errors_are_json_with_the_field(client: TestClient) -> None:
    missing = client.get("/batches/999")
    assert missing.status_code == 404 and missing.json()["field"] == "batch_id"
    bad = client.post("/batches", json={"drift": {"rating_noise": 3}})
    assert bad.status_code == 422 and bad.json()["field"] == "drift.rating_noise"


def test_writes_need_the_admin_token(client: TestClient) -> None:
    anonymous = client.post("/batches", json={"size": 10}, headers={"Authorization": ""})
    assert anonymous.status_code == 401 and anonymous.json()["field"] == "Authorization"
    wrong = client.post("/batches", json={"size": 10}, headers={"Authorization": "Bearer x"})
    assert wrong.status_code == 403
    assert client.get("/batches/1", headers={"Authorization": ""}).status_code == 200  # reads: open
    assert client.post("/batches", json={"size": 10}).status_code == 201
