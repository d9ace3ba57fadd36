"""What a route needs, as dependency aliases: the service, the current model, admin auth."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from mlworkbench.config import Settings
from mlworkbench.serving.bounded import StoreGuard
from mlworkbench.serving.metrics import ServiceMetrics
from mlworkbench.serving.model_holder import LoadedModel, ModelHolder
from mlworkbench.serving.prediction_log import PredictionLog
from mlworkbench.serving.request_ids import request_id_of
from mlworkbench.serving.shadow import ShadowScorer
from mlworkbench.web.auth import check_admin
from mlworkbench.web.errors import NotReadyError


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
    return request_id_of(request.headers.get("x-request-id"))


async def require_admin(request: Request) -> None:
    check_admin(request, request.app.state.service.settings.admin_token, "admin endpoints")


ServiceDep = Annotated[Service, Depends(get_service)]
ModelDep = Annotated[LoadedModel, Depends(current_model)]
RequestId = Annotated[str, Depends(request_id)]
Admin = Depends(require_admin)
