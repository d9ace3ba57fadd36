"""Shadow scoring: a real challenger scores a share of live requests off the response path.

Both families, on models trained here: the champion is the session's run, the challenger a
second run with other hyperparameters. Every row lands in a log store of the test's own.
"""

from __future__ import annotations

import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import mlflow
import numpy as np
import orjson
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from mlworkbench.config import CHALLENGER_ALIAS, CHAMPION_ALIAS, Settings
from mlworkbench.data import predictions
from mlworkbench.data.windows import served_passengers
from mlworkbench.models.pyfunc import load_recommender
from mlworkbench.models.pyfunc_classifier import load_classifier
from mlworkbench.serving import classifier, recommender
from mlworkbench.serving.app import build_app
from mlworkbench.serving.shadow import ShadowScorer, sampled
from mlworkbench.tracking import client as tracking
from mlworkbench.tracking.registry import set_alias
from mlworkbench.training.classifier import CLASSIFIER
from mlworkbench.training.recommender import RECOMMENDER
from mlworkbench.training.train import TrainRequest, train

RECOMMENDER_NAME = "shadow-recommender"
CLASSIFIER_NAME = "shadow-classifier"
ROSE = {"pclass": 1, "sex": "female", "age": 17.0, "sibsp": 1, "parch": 1}
JACK = {"pclass": 3, "sex": "male", "age": 20.0, "sibsp": 0, "parch": 0}


def _champion_and_challenger(settings: Settings, result, name: str, trainer, request,
                             setting: str, data=None) -> Settings:
    """Version 1 = the session's run (champion), version 2 = a run trained now (challenger)."""
    client = tracking.configure(settings)
    mlflow.register_model(result.model_uri, name)
    set_alias(client, name, CHAMPION_ALIAS, 1)
    second = train(trainer, request, settings=settings.model_copy(update={setting: name}),
                   data=data)
    assert second.version == 2
    set_alias(client, name, CHALLENGER_ALIAS, 2)
    return settings


@pytest.fixture(scope="module")
def recommender_pair(trained, movielens) -> Settings:
    settings, result = trained
    return _champion_and_challenger(
        settings, result, RECOMMENDER_NAME, RECOMMENDER,
        TrainRequest(params={"factors": 16, "iterations": 3}), "recommender_model_name",
        movielens)


@pytest.fixture(scope="module")
def classifier_pair(trained_classifier) -> Settings:
    settings, result = trained_classifier
    return _champion_and_challenger(settings, result, CLASSIFIER_NAME, CLASSIFIER,
                                    TrainRequest(params={"C": 0.01}), "classifier_model_name")


@pytest.fixture
def serve(tmp_path) -> Callable:
    """``with serve(settings, name, family, shadow_share=...) as (client, log_url):``"""

    @contextmanager
    def factory(settings: Settings, name: str, family, **overrides) -> Iterator:
        log_url = f"sqlite:///{tmp_path / uuid.uuid4().hex}.db"
        settings = settings.model_copy(update={
            "alias_poll_seconds": 0.0, "prediction_log_flush_seconds": 0.05,
            "database_url": log_url, **overrides})
        with TestClient(build_app(f"models:/{name}@champion", family, settings)) as client:
            yield client, log_url

    return factory


def shadow_of(client: TestClient) -> ShadowScorer:
    return client.app.state.service.shadow


def logged(log_url: str, table: str) -> pd.DataFrame:
    return predictions.read_predictions(predictions.store_engine(log_url), table=table)


def recommender_calls(client: TestClient, prefix: str) -> list[bytes]:
    """One of each recommender answer that shadow scoring covers, with fixed request ids."""
    calls = [
        lambda rid: client.post("/recommendations", json={"users": [1, 2, 3, 10**12], "k": 5},
                                headers={"X-Request-ID": rid}),
        lambda rid: client.get("/users/42/recommendations", params={"k": 7},
                               headers={"X-Request-ID": rid}),
        lambda rid: client.post("/recommendations", json={"items": [1, 50, 10**12], "k": 5},
                                headers={"X-Request-ID": rid}),
    ]
    answers = []
    for index, call in enumerate(calls):
        response = call(f"{prefix}-{index}")
        assert response.status_code == 200, response.text
        answers.append(response.content)
    return answers


def classifier_calls(client: TestClient, prefix: str) -> list[bytes]:
    answers = []
    for index, call in enumerate([
        lambda rid: client.get("/predict", params=ROSE, headers={"X-Request-ID": rid}),
        lambda rid: client.post("/predict", json={"passengers": [ROSE, JACK, {"pclass": 2,
                                                                               "sex": "male"}]},
                                headers={"X-Request-ID": rid}),
    ]):
        response = call(f"{prefix}-{index}")
        assert response.status_code == 200, response.text
        answers.append(response.content)
    return answers


FAMILIES = {
    "recommender": (RECOMMENDER_NAME, recommender.SERVED, "recommender_pair", recommender_calls),
    "classifier": (CLASSIFIER_NAME, classifier.SERVED, "classifier_pair", classifier_calls),
}


@pytest.fixture(params=sorted(FAMILIES))
def family(request) -> tuple:
    name, served, pair, calls = FAMILIES[request.param]
    return name, served, request.getfixturevalue(pair), calls


def test_share_one_shadows_every_request_without_changing_a_byte(family, serve) -> None:
    name, served, settings, calls = family
    with serve(settings, name, served, shadow_share=0.0) as (client, _):
        plain = calls(client, "same")
        assert client.get("/model").json()["shadow"]["model"] is None
    with serve(settings, name, served, shadow_share=1.0) as (client, log_url):
        shadowed = calls(client, "same")
        assert shadow_of(client).drain()
        info = client.get("/model").json()
        metrics = client.get("/metrics").text
    assert shadowed == plain  # the answers are byte-identical with and without a shadow
    assert info["version"] == 1
    assert info["shadow"]["model"]["version"] == 2 and info["shadow"]["share"] == 1.0
    assert info["shadow"]["requests"]["scored"] == len(plain)
    assert info["shadow"]["requests"]["failed"] == info["shadow"]["requests"]["dropped"] == 0
    assert f'mlwb_shadow_requests_total{{outcome="scored"}} {len(plain)}.0' in metrics
    assert "mlwb_shadow_model_version 2.0" in metrics
    rows = logged(log_url, served.log_table)
    champion, shadow = rows[rows["role"] == "champion"], rows[rows["role"] == "shadow"]
    assert set(champion["model_version"]) == {1} and set(shadow["model_version"]) == {2}
    assert set(shadow["request_id"]) == set(champion["request_id"]) == {
        f"same-{i}" for i in range(len(plain))}
    assert len(shadow) == len(champion)  # one shadow row per served row


def test_shadow_rows_are_what_the_challenger_itself_answers(recommender_pair,
                                                            classifier_pair, serve) -> None:
    with serve(recommender_pair, RECOMMENDER_NAME, recommender.SERVED,
               shadow_share=1.0) as (client, log_url):
        recommender_calls(client, "own")
        assert shadow_of(client).drain()
    rows = logged(log_url, "prediction_log")
    shadow = rows[(rows["role"] == "shadow") & (rows["request_id"] == "own-0")]
    challenger, _ = load_recommender(f"models:/{RECOMMENDER_NAME}/2")
    expected = challenger.recommend(np.array([1, 2, 3, 10**12]), 5, True)
    for (_, row), items in zip(shadow.iterrows(), expected.item_ids, strict=True):
        assert orjson.loads(row["items"]) == items[items >= 0].tolist()

    with serve(classifier_pair, CLASSIFIER_NAME, classifier.SERVED,
               shadow_share=1.0) as (client, log_url):
        body = client.post("/predict", json={"passengers": [ROSE, JACK]},
                           headers={"X-Request-ID": "own"}).json()
        assert shadow_of(client).drain()
    rows = served_passengers(logged(log_url, "classifier_predictions").sort_values("id"))
    pipeline, _ = load_classifier(f"models:/{CLASSIFIER_NAME}/2")
    expected = pipeline.predict_proba(pd.DataFrame([ROSE, JACK]))[:, 1]
    shadow = rows[rows["role"] == "shadow"]["probability"].to_numpy()
    np.testing.assert_allclose(shadow, expected, rtol=1e-12)
    champion = rows[rows["role"] == "champion"]["probability"].round(6).tolist()
    assert champion == [p["probability"] for p in body["predictions"]]
    assert not np.allclose(shadow, champion, atol=1e-6)  # another model: other numbers


def test_sampling_by_request_id_is_deterministic_and_exact_over_many() -> None:
    keys = [uuid.uuid4().hex for _ in range(100_000)]
    for share in (0.1, 0.5, 0.9):
        chosen = [key for key in keys if sampled(key, share)]
        assert abs(len(chosen) / len(keys) - share) < 0.01
        assert chosen == [key for key in keys if sampled(key, share)]
    assert not any(sampled(key, 0.0) for key in keys[:1000])
    assert all(sampled(key, 1.0) for key in keys[:1000])


def test_share_half_shadows_about_half_the_requests(recommender_pair, serve) -> None:
    ids = [f"half-{i}" for i in range(200)]
    with serve(recommender_pair, RECOMMENDER_NAME, recommender.SERVED,
               shadow_share=0.5) as (client, log_url):
        for rid in ids:
            assert client.get("/users/7/recommendations",
                              headers={"X-Request-ID": rid}).status_code == 200
        assert shadow_of(client).drain()
    rows = logged(log_url, "prediction_log")
    shadowed = set(rows[rows["role"] == "shadow"]["request_id"])
    assert shadowed == {rid for rid in ids if sampled(rid, 0.5)}
    assert 70 <= len(shadowed) <= 130
    assert len(rows[rows["role"] == "champion"]) == len(ids)


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.05)


def test_challenger_alias_removed_stops_the_shadow_and_the_champion_goes_on(family,
                                                                           serve) -> None:
    name, served, settings, calls = family
    registry = tracking.configure(settings)
    with serve(settings, name, served, shadow_share=1.0,
               alias_poll_seconds=0.2) as (client, log_url):
        before = calls(client, "before")
        assert shadow_of(client).drain()
        registry.delete_registered_model_alias(name, CHALLENGER_ALIAS)
        try:
            wait_for(lambda: client.get("/model").json()["shadow"]["model"] is None)
            after = calls(client, "before")  # the same requests, answered the same way
            metrics = client.get("/metrics").text
        finally:
            set_alias(registry, name, CHALLENGER_ALIAS, 2)
        wait_for(lambda: (client.get("/model").json()["shadow"]["model"] or {}).get(
            "version") == 2)
        calls(client, "again")
        assert shadow_of(client).drain()
    assert after == before
    assert "mlwb_shadow_model_version 0.0" in metrics
    rows = logged(log_url, served.log_table)
    shadow, champion = rows[rows["role"] == "shadow"], rows[rows["role"] == "champion"]
    n = len(before)
    # shadowed: the first round and the one after the alias came back, not the one between
    assert set(shadow["request_id"]) == {f"{p}-{i}" for p in ("before", "again")
                                         for i in range(n)}
    answered_before = champion[champion["request_id"].str.startswith("before")]
    assert len(shadow[shadow["request_id"].str.startswith("before")]) * 2 == len(answered_before)


def _break(scorer: ShadowScorer, family_name: str) -> None:
    """Corrupt the loaded challenger's fitted arrays: its own scoring code then raises."""
    model = scorer.challenger.model
    if family_name == "recommender":
        model._item_factors_t = model._item_factors_t[:2]  # factors no longer match the users'
    else:
        estimator = model.steps[-1][1]
        estimator.coef_ = estimator.coef_[:, :2]  # fewer weights than encoded features


def test_a_challenger_that_raises_is_counted_and_every_answer_stays_200(family,
                                                                      serve) -> None:
    name, served, settings, calls = family
    with serve(settings, name, served, shadow_share=0.0) as (client, _):
        plain = calls(client, "broken")
    with serve(settings, name, served, shadow_share=1.0) as (client, log_url):
        _break(shadow_of(client), served.name)
        answers = calls(client, "broken")  # each asserts its 200
        assert shadow_of(client).drain()
        info = client.get("/model").json()["shadow"]
        metrics = client.get("/metrics").text
    assert answers == plain
    assert info["requests"]["failed"] == len(plain) and info["requests"]["scored"] == 0
    assert "version 2" in info["last_error"]
    assert f'mlwb_shadow_requests_total{{outcome="failed"}} {len(plain)}.0' in metrics
    rows = logged(log_url, served.log_table)
    assert set(rows["role"]) == {"champion"} and len(rows["request_id"].unique()) == len(plain)


def test_a_full_queue_drops_and_counts_without_waiting(recommender_pair, serve) -> None:
    with serve(recommender_pair, RECOMMENDER_NAME, recommender.SERVED, shadow_share=1.0,
               shadow_queue=1) as (client, _):
        scorer = shadow_of(client)
        scorer.close()  # no worker: the one queue slot fills and stays full
        for index in range(5):
            response = client.get("/users/3/recommendations",
                                  headers={"X-Request-ID": f"full-{index}"})
            assert response.status_code == 200
        info = client.get("/model").json()["shadow"]
        metrics = client.get("/metrics").text
    assert info["requests"]["offered"] == 5 and info["requests"]["dropped"] == 4
    assert 'mlwb_shadow_requests_total{outcome="dropped"} 4.0' in metrics


def _foreign_version(name: str) -> int:
    """A version of ``name`` that is not a recommender at all (a plain pyfunc)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # MLflow's hint to add type hints

        class Echo(mlflow.pyfunc.PythonModel):
            def predict(self, context, model_input: list[str], params=None) -> list[str]:
                return model_input

        with mlflow.start_run():
            info = mlflow.pyfunc.log_model(name="model", python_model=Echo(),
                                           registered_model_name=name)
    return int(info.registered_model_version)


def test_a_challenger_that_cannot_load_or_is_the_champion_leaves_the_champion_alone(
        recommender_pair, serve) -> None:
    registry = tracking.configure(recommender_pair)
    foreign = _foreign_version(RECOMMENDER_NAME)
    with serve(recommender_pair, RECOMMENDER_NAME, recommender.SERVED,
               shadow_share=1.0) as (client, log_url):
        scorer = shadow_of(client)
        assert scorer.challenger is not None and scorer.challenger.version == 2
        try:
            set_alias(registry, RECOMMENDER_NAME, CHALLENGER_ALIAS, foreign)
            assert scorer.refresh().version == 2  # the failed load keeps the loaded one
            info = client.get("/model").json()["shadow"]
            set_alias(registry, RECOMMENDER_NAME, CHALLENGER_ALIAS, 1)  # = the champion
            assert scorer.refresh() is None
            answers = recommender_calls(client, "alone")
            assert scorer.drain()
            metrics = client.get("/metrics").text
        finally:
            set_alias(registry, RECOMMENDER_NAME, CHALLENGER_ALIAS, 2)
    assert f"cannot load version {foreign}" in info["last_error"]
    assert info["model"]["version"] == 2
    assert "mlwb_shadow_load_failures_total 1.0" in metrics
    assert "mlwb_model_load_failures_total 0.0" in metrics  # the champion's loads: untouched
    assert all(b'"version":1' in answer for answer in answers)
    rows = logged(log_url, "prediction_log")
    assert set(rows["role"]) == {"champion"} and set(rows["model_version"]) == {1}
