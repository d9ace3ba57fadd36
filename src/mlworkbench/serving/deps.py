"""What a route needs, as dependency aliases: the service, the current model, admin auth."""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from mlworkbench.config import Settings
from mlworkbench.serving.bounded import StoreGuard
from mlworkbench.serving.errors import AuthError, NotReadyError
from mlworkbench.serving.metrics import ServiceMetrics
from mlworkbench.serving.model_holder import LoadedModel, ModelHolder
from mlworkbench.serving.prediction_log import PredictionLog
from mlworkbench.serving.shadow import ShadowScorer


@dataclass
class Service:
    """Everything one app instance owns."""

    settings: Settings
    holder: ModelHolder
    metrics: ServiceMetrics
    log: PredictionLog
    shadow: ShadowScorer  # the challenger scoring a share of requests off the response path
    cache: dict[object, object] = field(default_factory=dict)  # a family's per-app lookups
    store: StoreGuard = field(default_factory=lambda: StoreGuard(2.0))  # bounded store calls


async def get_service(request: Request) -> Service:
    return request.app.state.service


async def current_model(request: Request) -> LoadedModel:
    model = request.app.state.service.holder.current
    if model is None:
        raise NotReadyError("no model is loaded yet")
    return model


async def request_id(request: Request) -> str:
    """The client's ``X-Request-ID`` when printable and at most 64 characters, else a new one."""
    given = request.headers.get("x-request-id")
    if given and len(given) <= 64 and given.isprintable():
        return given
    return uuid.uuid4().hex


async def require_admin(request: Request) -> None:
    token = request.app.state.service.settings.admin_token
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        raise AuthError("admin endpoint: send 'Authorization: Bearer <MLWB_ADMIN_TOKEN>'",
                        "Authorization", headers={"WWW-Authenticate": "Bearer"})
    if not token:
        raise AuthError("admin endpoints are disabled: the server has no MLWB_ADMIN_TOKEN",
                        "Authorization", status=403)
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise AuthError("the bearer token is not the admin token", "Authorization", status=403)


ServiceDep = Annotated[Service, Depends(get_service)]
ModelDep = Annotated[LoadedModel, Depends(current_model)]
RequestId = Annotated[str, Depends(request_id)]
Admin = Depends(require_admin)
