"""Prometheus exposition."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from mlworkbench.serving.deps import ServiceDep

router = APIRouter(tags=["metrics"])


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text"}})
async def metrics(service: ServiceDep) -> Response:
    """Request counts by route and status, latency histograms, batch sizes, model version,
    prediction-log buffer and dropped rows."""
    service.metrics.log_held.set(service.log.held)
    return Response(service.metrics.exposition(), media_type=service.metrics.content_type)
