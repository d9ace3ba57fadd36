"""The classifier's routes: one passenger by GET (the seed's "prediction as a service"), a
batch by POST. Both are also fast lanes (:mod:`mlworkbench.serving.fast_lane`): the same
answers, built by the same functions, ahead of the framework."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import parse_qsl

import orjson
from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from mlworkbench.serving.classifier import shadow
from mlworkbench.serving.classifier.logged import Predicted
from mlworkbench.serving.classifier.passengers import Passengers, parse_passengers
from mlworkbench.serving.classifier.schemas import (
    PredictionResponse,
    PredictionsRequest,
    PredictionsResponse,
    parse_passenger,
)
from mlworkbench.serving.deps import ModelDep, RequestId, Service, ServiceDep
from mlworkbench.serving.encoding import respond
from mlworkbench.serving.fast_lane import Lane
from mlworkbench.serving.model_holder import LoadedModel
from mlworkbench.serving.schemas import ErrorResponse
from mlworkbench.web.errors import ServiceError

router = APIRouter(tags=["predictions"])
ERRORS = {code: {"model": ErrorResponse} for code in (413, 422, 503)}


def _answer(service: Service, model: LoadedModel, request_id: str, source: str,
            passengers: Passengers) -> list[dict]:
    probabilities = model.prepared.probabilities(passengers)  # a serving.classifier Scorer
    service.metrics.batch_size.observe(len(passengers))
    service.log.submit(Predicted(request_id, dt.datetime.now(dt.UTC), model.name,
                                 model.version, source, passengers, probabilities))
    service.shadow.offer(request_id, shadow.predicted, source, passengers)
    return [{"survived": p >= 0.5, "probability": round(p, 6)} for p in probabilities.tolist()]


def one_answer(service: Service, model: LoadedModel, request_id: str,
               values: dict[str, Any]) -> bytes:
    """The JSON answer for one passenger given as query values (4xx: ServiceError)."""
    passengers = Passengers.of([parse_passenger(values)])
    answer = _answer(service, model, request_id, "get", passengers)[0]
    return orjson.dumps({"request_id": request_id, "model": model.ref, **answer})


def many_answer(service: Service, model: LoadedModel, request_id: str,
                records: list[Any]) -> bytes:
    """The JSON answer for a batch of passenger records (4xx: ServiceError)."""
    limit = service.settings.max_batch_users
    if len(records) > limit:
        raise ServiceError(f"passengers: {len(records)} records in one request; at most "
                           f"{limit} allowed (MLWB_MAX_BATCH_USERS)", "passengers", status=413)
    predictions = _answer(service, model, request_id, "post", parse_passengers(records))
    return orjson.dumps({"request_id": request_id, "model": model.ref,
                         "predictions": predictions})


@router.get("/predict", response_model=PredictionResponse, responses=ERRORS)
async def predict_one(
    request: Request, service: ServiceDep, model: ModelDep, request_id: RequestId,
    pclass: str = Query(None, description="1, 2 or 3 (or 1st/2nd/3rd); `class` also works"),
    sex: str = Query(None, description="female or male (or F/M)"),
    age: str | None = Query(None, description="years, 0 to 120; optional"),
    sibsp: str | None = Query(None, description="siblings/spouses aboard; optional"),
    parch: str | None = Query(None, description="parents/children aboard; optional"),
    embarked: str | None = Query(None, description="C, Q or S; optional (a feature only when "
                                                   "the training data had it)"),
) -> Response:
    """Would this passenger have survived? ``survived`` and P(survived), with the model."""
    body = one_answer(service, model, request_id, dict(request.query_params))
    return respond(orjson.Fragment(body), model.headers, request_id)


@router.post("/predict", response_model=PredictionsResponse, responses=ERRORS)
async def predict_many(body: PredictionsRequest, service: ServiceDep, model: ModelDep,
                       request_id: RequestId) -> Response:
    """A batch of passengers, answered in order."""
    answer = many_answer(service, model, request_id, body.passengers)
    return respond(orjson.Fragment(answer), model.headers, request_id)


def _one_lane(service: Service, model: LoadedModel, request_id: str, query: bytes,
              _body: bytes) -> bytes:
    values = dict(parse_qsl(query.decode("latin-1"), keep_blank_values=True))
    return one_answer(service, model, request_id, values)


def _many_lane(service: Service, model: LoadedModel, request_id: str, query: bytes,
               body: bytes) -> bytes | None:
    payload = orjson.loads(body)
    if query or not isinstance(payload, dict):
        return None
    records = payload.get("passengers")
    if not isinstance(records, list) or not records:
        return None
    return many_answer(service, model, request_id, records)


LANES = (Lane("GET", "/predict", _one_lane), Lane("POST", "/predict", _many_lane))
