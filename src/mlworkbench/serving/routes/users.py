"""One user's recommendations, as a GET."""

from __future__ import annotations

from fastapi import APIRouter, Path, Query
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from mlworkbench.models.recommender import MAX_K
from mlworkbench.serving import answers
from mlworkbench.serving.deps import ModelDep, RequestId, ServiceDep
from mlworkbench.serving.schemas import (
    INT64_MAX,
    INT64_MIN,
    ErrorResponse,
    RecommendationResponse,
    Source,
)

router = APIRouter(tags=["recommendations"])


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
        return await run_in_threadpool(answers.precomputed, service, model, [user_id], k,
                                       exclude_seen, request_id)
    return answers.live(service, model, [user_id], k, exclude_seen, request_id)
