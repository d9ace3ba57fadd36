"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from mlworkbench.serving.encoding import dumps
from mlworkbench.web.errors import json_error

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> Response:
    """The process is alive (it may still be loading its model)."""
    return Response(b'{"status":"ok"}', media_type="application/json")


@router.get("/ready", responses={503: {"description": "no model loaded yet"}})
async def ready(request: Request) -> Response:
    """A model is loaded and answering; 503 until then."""
    model = request.app.state.service.holder.current
    if model is None:
        return json_error(503, "no model is loaded yet")
    body = {"status": "ready", "model": model.ref}
    return Response(dumps(body), media_type="application/json", headers=model.headers)
