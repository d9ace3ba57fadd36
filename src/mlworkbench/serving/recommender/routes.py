"""The recommender's routes: one user's list (GET), batches and histories (POST), similar items."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Path, Query
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from mlworkbench.models.recommender import MAX_K
from mlworkbench.serving.deps import ModelDep, RequestId, Service, ServiceDep
from mlworkbench.serving.fast_lane import Lane
from mlworkbench.serving.model_holder import LoadedModel
from mlworkbench.serving.recommender import answers
from mlworkbench.serving.recommender.schemas import (
    RecommendationRequest,
    RecommendationResponse,
    SimilarItemsResponse,
    Source,
)
from mlworkbench.serving.schemas import INT64_MAX, INT64_MIN, ErrorResponse

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
        frame = await service.store.call(answers.stored, service, model, users, body.k,
                                         body.exclude_seen)
        return await run_in_threadpool(answers.precomputed, service, model, users, body.k, frame,
                                       request_id)
    return answers.live(service, model, users, body.k, body.exclude_seen, request_id)


@router.get("/users/{user_id}/recommendations", response_model=RecommendationResponse,
            responses={code: {"model": ErrorResponse} for code in (409, 422, 503)})
async def user_recommendations(
    service: ServiceDep, model: ModelDep, request_id: RequestId,
    user_id: int = Path(ge=INT64_MIN, le=INT64_MAX, description="a user id"),
    k: int = Query(10, ge=1, le=MAX_K, description=f"items, 1..{MAX_K}"),
    exclude_seen: bool = Query(True, description="leave out items the user already rated"),
    source: Source = Query("live", description="'precomputed' answers from `mlwb recommend-all`"),
) -> Response:
    """Top-k items for one user (unknown users: popular items, ``"fallback": "popular"``)."""
    if source == "precomputed":
        frame = await service.store.call(answers.stored, service, model, [user_id], k,
                                         exclude_seen)
        return await run_in_threadpool(answers.precomputed, service, model, [user_id], k, frame,
                                       request_id)
    return answers.live(service, model, [user_id], k, exclude_seen, request_id)


@router.get("/items/{item_id}/similar", tags=["items"], response_model=SimilarItemsResponse,
            responses={code: {"model": ErrorResponse} for code in (404, 422, 503)})
async def similar_items(
    service: ServiceDep, model: ModelDep, request_id: RequestId,
    item_id: int = Path(ge=INT64_MIN, le=INT64_MAX, description="an item id"),
    k: int = Query(10, ge=1, le=MAX_K, description=f"items, 1..{MAX_K}"),
) -> Response:
    """"Users who liked this also liked": nearest items by factor cosine; unknown item -> 404."""
    return answers.similar(service, model, item_id, k, request_id)


_LIVE_KEYS = frozenset(("users", "k", "exclude_seen"))


def _live_lane(service: Service, model: LoadedModel, request_id: str, query: bytes,
               body: bytes) -> bytes | None:
    """``POST /recommendations`` for known-or-unknown users, live, when every value is plainly
    valid; anything else (a history, ``source``, a value to refuse) takes the route."""
    payload = orjson.loads(body)
    if query or not isinstance(payload, dict) or not payload.keys() <= _LIVE_KEYS:
        return None
    users, k = payload.get("users"), payload.get("k", 10)
    exclude_seen = payload.get("exclude_seen", True)
    if (not isinstance(users, list) or not users
            or len(users) > service.settings.max_batch_users
            or type(k) is not int or not 1 <= k <= MAX_K or type(exclude_seen) is not bool
            or set(map(type, users)) != {int}  # bool is not int here: true is refused
            or min(users) < INT64_MIN or max(users) > INT64_MAX):
        return None
    return answers.live_json(service, model, users, k, exclude_seen, request_id)


LANES = (Lane("POST", "/recommendations", _live_lane),)
