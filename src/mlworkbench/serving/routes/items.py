"""Items similar to an item."""

from __future__ import annotations

from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from mlworkbench.models.recommender import MAX_K
from mlworkbench.serving import answers
from mlworkbench.serving.deps import ModelDep, RequestId, ServiceDep
from mlworkbench.serving.schemas import INT64_MAX, INT64_MIN, ErrorResponse, SimilarItemsResponse

router = APIRouter(tags=["items"])


@router.get("/items/{item_id}/similar", response_model=SimilarItemsResponse,
            responses={code: {"model": ErrorResponse} for code in (404, 422, 503)})
async def similar_items(
    service: ServiceDep, model: ModelDep, request_id: RequestId,
    item_id: int = Path(ge=INT64_MIN, le=INT64_MAX, description="an item id"),
    k: int = Query(10, ge=1, le=MAX_K, description=f"items, 1..{MAX_K}"),
) -> Response:
    """"Users who liked this also liked": nearest items by factor cosine; unknown item -> 404."""
    return answers.similar(service, model, item_id, k, request_id)
