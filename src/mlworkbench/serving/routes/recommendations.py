"""Top-k recommendations: a batch of users, or a new visitor's history."""

from __future__ import annotations

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from mlworkbench.serving import answers
from mlworkbench.serving.deps import ModelDep, RequestId, ServiceDep
from mlworkbench.serving.schemas import (
    ErrorResponse,
    RecommendationRequest,
    RecommendationResponse,
    Source,
)

router = APIRouter(tags=["recommendations"])
ERRORS = {code: {"model": ErrorResponse} for code in (400, 409, 413, 422, 503)}


@router.post("/recommendations", response_model=RecommendationResponse, responses=ERRORS)
async def recommend(
    body: RecommendationRequest, service: ServiceDep, model: ModelDep, request_id: RequestId,
    source: Source = Query("live", description="'precomputed' answers from `mlwb recommend-all`"),
) -> Response:
    """Top-k items (id, title, score) for each of ``users``, or for a visitor's ``items``.

    Batches hold at most MLWB_MAX_BATCH_USERS ids (default 10,000); more gets 413. Unknown
    users get the most popular items, marked ``"fallback": "popular"``. A history is folded
    into the model on the fly (no retraining); history items the model does not know are
    listed in ``ignored_items``. Every answer names the model version that produced it.
    """
    if body.items is not None:
        answers.check_batch(service, len(body.items), "items")
        return answers.history(service, model, body.items, body.k, request_id)
    users = body.users or []
    answers.check_batch(service, len(users), "users")
    if source == "precomputed":
        return await run_in_threadpool(answers.precomputed, service, model, users, body.k,
                                       body.exclude_seen, request_id)
    return answers.live(service, model, users, body.k, body.exclude_seen, request_id)
