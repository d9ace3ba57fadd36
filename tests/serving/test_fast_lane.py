"""The hot routes answered ahead of FastAPI give exactly what the routes give: the same body,
headers, metrics and log; whatever they do not take goes through the full stack."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from mlworkbench.models.classifier import features_frame
from mlworkbench.serving.app import build_app
from mlworkbench.serving.classifier import SERVED as CLASSIFIER_SERVED
from mlworkbench.serving.classifier.passengers import parse_passengers
from mlworkbench.training.classifier import CLASSIFIER

HEADERS = ("content-type", "x-model-name", "x-model-version", "x-request-id")


def _same(lane, stack) -> None:
    assert lane.status_code == stack.status_code == 200
    assert lane.content == stack.content
    assert {h: lane.headers[h] for h in HEADERS} == {h: stack.headers[h] for h in HEADERS}


def test_a_lane_answer_is_byte_for_byte_the_routes(client):
    body = {"users": [1, 2, 10**9], "k": 5}
    ids = {"X-Request-ID": "lane-vs-route"}
    lane = client.post("/recommendations", json=body, headers=ids)
    stack = client.post("/recommendations?source=live", json=body, headers=ids)  # the route
    _same(lane, stack)
    fresh = client.post("/recommendations", json=body)  # no id given: a new one, echoed
    assert fresh.headers["x-request-id"] == fresh.json()["request_id"] != "lane-vs-route"


def test_lane_requests_are_counted_under_the_route(client):
    def served() -> float:
        for line in client.get("/metrics").text.splitlines():
            if line.startswith('mlwb_http_requests_total{method="POST",route="/recommendations"'
                               ',status="200"}'):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    before = served()
    for _ in range(3):
        assert client.post("/recommendations", json={"users": [1]}).status_code == 200
    assert served() == before + 3


@pytest.mark.parametrize(("body", "field"), [
    ({"users": [1], "k": 0}, "k"), ({"users": [True]}, "users.0"), ({"users": ["1"]}, "users.0"),
    ({"users": [1], "exclude_seen": 1}, "exclude_seen"), ({"users": []}, "users"),
    ({"users": [1], "extra": 1}, "extra"), ({"users": [2**63]}, "users.0"),
])
def test_values_a_lane_refuses_get_the_routes_4xx(client, body, field):
    response = client.post("/recommendations", json=body)
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert response.headers["x-model-name"] == "movielens-recommender"


def test_a_body_that_is_not_json_gets_the_routes_400(client):
    response = client.post("/recommendations", content=b"{not json",
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["field"] == "body"


def test_the_classifier_scorer_gives_the_pipelines_probabilities(trained_classifier):
    settings, _ = trained_classifier
    app = build_app("models:/titanic-classifier@champion", CLASSIFIER_SERVED,
                    settings.model_copy(update={"alias_poll_seconds": 0.0}))
    model = app.state.service.holder.current
    frame = features_frame(CLASSIFIER.load_data(settings).passengers)
    records = [{k: v for k, v in row.items() if not (isinstance(v, float) and np.isnan(v))}
               for row in frame.to_dict(orient="records")]
    scored = model.prepared.probabilities(parse_passengers(records))
    expected = model.model.predict_proba(frame)[:, 1]
    np.testing.assert_array_equal(scored, expected)  # bit for bit, every passenger
    with TestClient(app) as client:
        one = client.get("/predict", params=records[0], headers={"X-Request-ID": "r"})
        batch = client.post("/predict", json={"passengers": records[:3]})
        route = client.post("/predict?via=route", json={"passengers": records[:3]},
                            headers={"X-Request-ID": batch.headers["x-request-id"]})
    assert one.json()["probability"] == round(float(expected[0]), 6)
    _same(batch, route)
