"""Operator actions, behind the admin bearer token."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from mlworkbench.errors import MlwbError, ModelNotFoundError, TrackingError
from mlworkbench.serving.deps import Admin, ServiceDep
from mlworkbench.serving.encoding import dumps
from mlworkbench.serving.model_holder import LoadedModel
from mlworkbench.serving.schemas import ErrorResponse, ReloadResponse
from mlworkbench.web.errors import ServiceError


def refused(exc: MlwbError, serving: LoadedModel | None) -> ServiceError:
    """The failed load as an answer: what failed, and what is still being served."""
    still = "no model" if serving is None else f"{serving.name} version {serving.version}"
    message = f"{exc} (still serving {still})"
    headers = None if serving is None else serving.headers
    if isinstance(exc, ModelNotFoundError):
        return ServiceError(message, "model", status=404, headers=headers)
    if isinstance(exc, TrackingError):
        return ServiceError(message, "model", status=503, headers=headers)
    return ServiceError(message, "model", status=422, headers=headers)


router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Admin])


@router.post("/reload", response_model=ReloadResponse,
             responses={code: {"model": ErrorResponse} for code in (401, 403, 404, 422, 503)})
async def reload(service: ServiceDep) -> Response:
    """Re-resolve the served reference (an alias is read again) and swap the model in.

    Needs ``Authorization: Bearer $MLWB_ADMIN_TOKEN``. Requests in flight finish on the
    old model. If loading fails, the old model keeps serving and the reason is returned:
    404 the reference names nothing, 422 the version is not a loadable model of this family
    (a broken or foreign artifact), 503 the registry or artifact store cannot be reached.
    """
    before = service.holder.current
    try:
        after = await run_in_threadpool(service.holder.load)
    except MlwbError as exc:
        service.metrics.reloads.labels("failed").inc()
        raise refused(exc, before) from exc
    service.metrics.reloads.labels("ok").inc()
    previous = None if before is None else {"name": before.name, "version": before.version}
    body = {"previous": previous, "current": {"name": after.name, "version": after.version},
            "version_changed": before is None or before.version != after.version}
    return Response(dumps(body), media_type="application/json", headers=after.headers)
