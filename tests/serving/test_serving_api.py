"""The real app over HTTP on the trained MovieLens model: answers, errors, auth, metrics."""

from __future__ import annotations

import numpy as np
import pytest


def served(body: dict) -> list[list[int]]:
    return [[item["id"] for item in entry["items"]] for entry in body["recommendations"]]


def test_health_ready_and_model_describe_what_is_served(client, trained) -> None:
    _, result = trained
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200 and ready.json()["model"]["version"] == result.version
    info = client.get("/model").json()
    assert info["name"] == "movielens-recommender" and info["alias"] == "champion"
    assert info["version"] == result.version and info["run_id"] == result.run_id
    assert info["dataset_digest"] == result.dataset_digest
    assert info["metrics"]["precision_at_10"] == pytest.approx(result.metrics["precision_at_10"])
    assert info["users"] == 671 and info["items"] == 9066 and info["loaded_at"]


def test_batch_answers_are_the_models_own(client, recommender) -> None:
    users = [int(u) for u in recommender.user_ids[:20]] + [99_999_999]
    response = client.post("/recommendations", json={"users": users, "k": 7})
    assert response.status_code == 200
    body = response.json()
    assert body["model"] == {"name": "movielens-recommender", "version": 1}
    assert response.headers["x-model-version"] == "1"
    assert response.headers["x-request-id"] == body["request_id"]
    expected = recommender.recommend(np.array(users), k=7)
    assert served(body) == expected.item_ids.tolist()
    entry = body["recommendations"][0]
    assert entry["user"] == users[0] and entry["fallback"] is None
    first = entry["items"][0]
    row = recommender.item_rows(np.array([first["id"]]))[0]
    assert first["title"] == recommender.titles[row]
    assert first["score"] == pytest.approx(float(expected.scores[0, 0]), abs=1e-6)
    assert body["recommendations"][-1]["fallback"] == "popular"


def test_seen_items_come_back_only_when_asked(client, recommender) -> None:
    user = int(recommender.user_ids[0])
    seen = set(recommender.item_ids[recommender.seen[0].indices].tolist())
    excluded = served(client.post("/recommendations", json={"users": [user], "k": 50}).json())
    assert not set(excluded[0]) & seen
    included = client.get(f"/users/{user}/recommendations", params={"k": 50,
                                                                     "exclude_seen": False})
    assert set(served(included.json())[0]) & seen


def test_get_for_one_user_equals_the_batch_answer(client) -> None:
    one = client.get("/users/42/recommendations", params={"k": 5}).json()
    batch = client.post("/recommendations", json={"users": [42], "k": 5}).json()
    assert served(one) == served(batch) and len(served(one)[0]) == 5


def test_a_new_visitors_history_is_folded_in(client, recommender) -> None:
    history = [260, 1196, 1210]  # the Star Wars trilogy
    body = client.post("/recommendations", json={"items": history + [987_654_321], "k": 5}).json()
    assert body["source"] == "history"
    entry = body["recommendations"][0]
    assert entry["user"] is None and entry["fallback"] is None
    assert entry["history"] == history and entry["ignored_items"] == [987_654_321]
    expected = recommender.recommend_for_history(np.array(history), k=5)
    assert served(body)[0] == expected.item_ids[0].tolist()
    assert not set(served(body)[0]) & set(history)
    unknown = client.post("/recommendations", json={"items": [987_654_321], "k": 3}).json()
    assert unknown["recommendations"][0]["fallback"] == "popular"
    assert served(unknown)[0] == recommender.popular(3)[0].tolist()


def test_similar_items_and_unknown_item(client, recommender) -> None:
    body = client.get("/items/260/similar", params={"k": 4}).json()
    ids, _ = recommender.similar_items(260, k=4)
    assert body["item"]["id"] == 260 and "Star Wars" in body["item"]["title"]
    assert [item["id"] for item in body["similar"]] == ids.tolist()
    missing = client.get("/items/987654321/similar")
    assert missing.status_code == 404
    assert missing.json()["detail"] == "item 987654321 is not in the model's catalogue"


BAD = [
    ({"users": [1], "k": 0}, 422, "k"),
    ({"users": [1], "k": 1001}, 422, "k"),
    ({"users": [1], "k": "10"}, 422, "k"),
    ({"users": [1], "k": 2.5}, 422, "k"),
    ({"users": []}, 422, "users"),
    ({"users": "42"}, 422, "users"),
    ({"users": [1.5]}, 422, "users.0"),
    ({"users": [True]}, 422, "users.0"),
    ({"users": [2**63]}, 422, "users.0"),
    ({"users": [1], "exclude_seen": "no"}, 422, "exclude_seen"),
    ({"users": [1], "user": [2]}, 422, "user"),
    ({"k": 3}, 422, "body"),
    ({"users": [1], "items": [2]}, 422, "body"),
    ({"items": []}, 422, "items"),
    ([1, 2], 422, "body"),
    ({"users": list(range(51))}, 413, "users"),
    ({"items": list(range(51))}, 413, "items"),
]


@pytest.mark.parametrize(("body", "status", "field"), BAD)
def test_bad_bodies_get_a_4xx_naming_the_field(client, body, status, field) -> None:
    response = client.post("/recommendations", json=body)
    assert response.status_code == status, response.text
    payload = response.json()
    assert payload["field"] == field and payload["detail"].startswith(field.split(".")[0])
    assert "Traceback" not in response.text


@pytest.mark.parametrize(("url", "field"), [
    ("/users/abc/recommendations", "user_id"), ("/users/1/recommendations?k=0", "k"),
    ("/users/1/recommendations?k=abc", "k"), ("/users/1/recommendations?source=cache", "source"),
    ("/items/1/similar?k=100000", "k"), (f"/users/{2**64}/recommendations", "user_id"),
])
def test_bad_queries_get_422_naming_the_field(client, url, field) -> None:
    response = client.get(url)
    assert response.status_code == 422 and response.json()["field"] == field


def test_non_json_bodies_get_400_or_422(client) -> None:
    broken = client.post("/recommendations", content=b"{users: [1",
                         headers={"content-type": "application/json"})
    assert broken.status_code == 400 and broken.json()["field"] == "body"
    text = client.post("/recommendations", content=b"users=1",
                       headers={"content-type": "text/plain"})
    assert text.status_code == 422 and "Traceback" not in text.text


def test_admin_reload_needs_the_bearer_token(client, make_client, admin_token) -> None:
    assert client.post("/admin/reload").status_code == 401
    assert client.post("/admin/reload",
                       headers={"Authorization": "Bearer wrong"}).status_code == 403
    ok = client.post("/admin/reload", headers={"Authorization": f"Bearer {admin_token}"})
    assert ok.status_code == 200 and ok.json()["current"]["version"] == 1
    with make_client(admin_token=None) as unguarded:
        refused = unguarded.post("/admin/reload", headers={"Authorization": "Bearer x"})
        assert refused.status_code == 403 and "MLWB_ADMIN_TOKEN" in refused.json()["detail"]


def test_metrics_count_routes_statuses_batches_and_the_model(client) -> None:
    client.get("/users/7/recommendations")
    client.post("/recommendations", json={"users": [1, 2, 3]})
    client.post("/recommendations", json={"users": [1], "k": 0})
    text = client.get("/metrics").text
    assert ('mlwb_http_requests_total{method="GET",route="/users/{user_id}/recommendations",'
            'status="200"}') in text
    assert 'route="/recommendations",status="422"' in text
    assert "mlwb_http_request_duration_seconds_bucket" in text
    assert "mlwb_recommendation_batch_users_sum" in text
    assert 'mlwb_model_version{model_name="movielens-recommender"} 1.0' in text
    assert "mlwb_prediction_log_dropped_rows_total 0.0" in text


def test_openapi_documents_every_endpoint(client) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/health", "/ready", "/model", "/recommendations", "/users/{user_id}/recommendations",
            "/items/{item_id}/similar", "/admin/reload", "/metrics"} <= set(spec["paths"])
    body = spec["components"]["schemas"]["RecommendationRequest"]
    assert "10,000" in body["properties"]["users"]["description"]
    assert client.get("/docs").status_code == 200


def test_an_unexpected_error_is_a_500_without_traceback(serving_settings) -> None:
    from fastapi.testclient import TestClient

    from mlworkbench.serving.app import build_app
    from mlworkbench.serving.recommender import SERVED

    app = build_app("models:/movielens-recommender@champion", SERVED, serving_settings)

    async def boom() -> None:
        raise RuntimeError("secret internals")

    app.add_api_route("/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as unsafe:
        response = unsafe.get("/boom")
    assert response.status_code == 500
    assert response.json()["detail"].startswith("internal error (incident ")
    assert "secret" not in response.text and "Traceback" not in response.text
