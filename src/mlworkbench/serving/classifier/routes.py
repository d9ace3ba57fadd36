"""The classifier's routes: one passenger by GET (the seed's "prediction as a service"), a
batch by POST."""

from __future__ import annotations

import datetime as dt

import numpy as np
from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from mlworkbench.serving.classifier import shadow
from mlworkbench.serving.classifier.logged import Predicted
from mlworkbench.serving.classifier.schemas import (
    Passenger,
    PredictionResponse,
    PredictionsRequest,
    PredictionsResponse,
    parse_passenger,
)
from mlworkbench.serving.deps import ModelDep, RequestId, ServiceDep
from mlworkbench.serving.encoding import respond
from mlworkbench.serving.errors import ServiceError
from mlworkbench.serving.model_holder import LoadedModel
from mlworkbench.serving.schemas import ErrorResponse

router = APIRouter(tags=["predictions"])
ERRORS = {code: {"model": ErrorResponse} for code in (413, 422, 503)}


def _number(value: float | None) -> float:
    return np.nan if value is None else value


_COLUMNS = {  # how each feature column is built, already typed (no astype, no reordering)
    "pclass": lambda ps: np.fromiter((p.pclass for p in ps), np.int64, len(ps)),
    "sex": lambda ps: np.array([p.sex for p in ps], dtype=object),
    "age": lambda ps: np.fromiter((_number(p.age) for p in ps), np.float64, len(ps)),
    "sibsp": lambda ps: np.fromiter((_number(p.sibsp) for p in ps), np.float64, len(ps)),
    "parch": lambda ps: np.fromiter((_number(p.parch) for p in ps), np.float64, len(ps)),
    "embarked": lambda ps: np.array([p.embarked for p in ps], dtype=object),
}


def _score(model: LoadedModel, passengers: list[Passenger]) -> np.ndarray:
    """P(survived) per passenger: the pipeline's own encoder and estimator on typed arrays,
    with no DataFrame in between (the same numbers as ``Pipeline.predict_proba``)."""
    features = model.prepared  # the columns the pipeline was fitted on
    encoder, estimator = model.model.steps[0][1], model.model.steps[-1][1]
    matrix = encoder.encode({column: _COLUMNS[column](passengers) for column in features},
                            len(passengers))
    return estimator.predict_proba(matrix)[:, 1].astype(np.float64)


def _answer(service: ServiceDep, model: LoadedModel, request_id: str, source: str,
            passengers: list[Passenger]) -> list[dict]:
    service.metrics.batch_size.observe(len(passengers))
    probabilities = _score(model, passengers)
    service.log.submit(Predicted(request_id, dt.datetime.now(dt.UTC), model.name,
                                 model.version, source, passengers, probabilities))
    service.shadow.offer(request_id, shadow.predicted, source, passengers)
    return [{"survived": bool(p >= 0.5), "probability": round(float(p), 6)}
            for p in probabilities]


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
    passenger = parse_passenger(dict(request.query_params))
    answer = _answer(service, model, request_id, "get", [passenger])[0]
    return respond({"request_id": request_id, "model": model.ref, **answer}, model.headers,
                   request_id)


@router.post("/predict", response_model=PredictionsResponse, responses=ERRORS)
async def predict_many(body: PredictionsRequest, service: ServiceDep, model: ModelDep,
                       request_id: RequestId) -> Response:
    """A batch of passengers, answered in order."""
    limit = service.settings.max_batch_users
    if len(body.passengers) > limit:
        raise ServiceError(f"passengers: {len(body.passengers)} records in one request; at most "
                           f"{limit} allowed (MLWB_MAX_BATCH_USERS)", "passengers", status=413)
    passengers = []
    for index, record in enumerate(body.passengers):
        if not isinstance(record, dict):
            raise ServiceError(f"passengers.{index}: must be an object", f"passengers.{index}",
                               status=422)
        passengers.append(parse_passenger(record, f"passengers.{index}."))
    predictions = _answer(service, model, request_id, "post", passengers)
    return respond({"request_id": request_id, "model": model.ref, "predictions": predictions},
                   model.headers, request_id)
