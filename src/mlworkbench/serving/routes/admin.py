"""Operator actions, behind the admin bearer token."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from mlworkbench.serving.deps import Admin, ServiceDep
from mlworkbench.serving.encoding import dumps
from mlworkbench.serving.schemas import ErrorResponse, ReloadResponse

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Admin])


@router.post("/reload", response_model=ReloadResponse,
             responses={code: {"model": ErrorResponse} for code in (401, 403, 404, 503)})
async def reload(service: ServiceDep) -> Response:
    """Re-resolve the served reference (an alias is read again) and swap the model in.

    Needs ``Authorization: Bearer $MLWB_ADMIN_TOKEN``. Requests in flight finish on the
    old model. If loading fails, the old model keeps serving and the error is returned.
    """
    before = service.holder.current
    try:
        after = await run_in_threadpool(service.holder.load)
    except Exception:
        service.metrics.reloads.labels("failed").inc()
        raise
    service.metrics.reloads.labels("ok").inc()
    previous = None if before is None else {"name": before.name, "version": before.version}
    body = {"previous": previous, "current": {"name": after.name, "version": after.version},
            "version_changed": before is None or before.version != after.version}
    return Response(dumps(body), media_type="application/json", headers=after.headers)
