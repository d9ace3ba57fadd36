"""The FastAPI app factory: wires settings, model holder, prediction log, metrics and routes.

One core for every model family: the family (:class:`ServedFamily`) brings its loader,
its routes and its prediction-log table; the core brings health, ``/model``, admin,
metrics and MLflow's scoring protocol (``/invocations``). ``build_app(uri, family)``
loads the model first (a bad reference fails before any port opens);
``app_factory`` is the factory uvicorn workers call when ``mlwb serve --workers N``
runs several processes.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI

from mlworkbench import __version__
from mlworkbench.config import Settings, get_settings
from mlworkbench.errors import ConfigError
from mlworkbench.serving import heap, switching
from mlworkbench.serving.bounded import StoreGuard
from mlworkbench.serving.deps import Service
from mlworkbench.serving.family import ServedFamily
from mlworkbench.serving.fast_lane import ServiceApp
from mlworkbench.serving.metrics import ServiceMetrics
from mlworkbench.serving.middleware import ServiceMiddleware
from mlworkbench.serving.model_holder import LoadedModel, ModelHolder
from mlworkbench.serving.prediction_log import PredictionLog
from mlworkbench.serving.routes import admin, health, invocations, metrics, model
from mlworkbench.serving.shadow import ShadowScorer
from mlworkbench.web import errors

logger = logging.getLogger(__name__)

COMMON = """

Served from the model registered in MLflow, hot-swapped when its alias moves. Every answer
names the model name and version that produced it (body and `X-Model-Name`/`X-Model-Version`
headers). Errors are `{"detail": ..., "field": ...}`. `POST /invocations` speaks MLflow's
scoring protocol, so clients of `mlflow models serve` work unchanged."""


def create_app(holder: ModelHolder, settings: Settings | None = None) -> FastAPI:
    """An app around ``holder`` (loaded or not: /ready says 503 until a model is in)."""
    settings = settings or holder.settings
    service_metrics = ServiceMetrics()
    family = holder.family
    log = PredictionLog(settings.resolved_database_url, settings.prediction_log_buffer,
                        settings.prediction_log_flush_seconds,
                        on_drop=service_metrics.log_dropped.inc, table=family.log_table,
                        journal_dir=settings.home / "journal" / family.log_table,
                        journal_bytes=settings.prediction_log_journal_bytes,
                        timeout=settings.store_timeout_seconds)
    shadow = ShadowScorer(holder, settings, log, service_metrics.registry)
    service = Service(settings, holder, service_metrics, log, shadow,
                      store=StoreGuard(settings.store_timeout_seconds))

    def swapped(_previous: LoadedModel | None, current: LoadedModel) -> None:
        service_metrics.model_swapped(current.name, current.version,
                                      current.loaded_at.timestamp())
        if _previous is not None:
            heap.settle()  # the old model's cycles go; the new one joins the frozen heap

    holder.add_listener(swapped)
    holder.add_failure_listener(lambda failure: service_metrics.load_failed(failure.at.timestamp()))
    if holder.current is not None:
        swapped(None, holder.current)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        log.start()
        holder.start_polling()
        shadow.start()
        heap.freeze()  # what lives as long as the process leaves the collector's full passes
        switching.share_finely()  # the loop waits 0.5 ms at most for a busy thread's lock
        try:
            yield
        finally:
            shadow.close()
            holder.stop_polling()
            log.close()

    app = ServiceApp(title=family.title, version=__version__,
                     description=family.description + COMMON, lifespan=lifespan)
    app.state.service = service
    app.use_lanes(service, family.lanes)  # the hot routes, ahead of the framework
    errors.install(app)
    for router in (health.router, model.router, *family.routers, invocations.router,
                   admin.router, metrics.router):
        app.include_router(router)
    app.add_middleware(ServiceMiddleware, metrics=service_metrics, holder=holder,
                       max_body_bytes=settings.max_body_bytes)
    return app


def build_app(uri: str, family: ServedFamily, settings: Settings | None = None) -> FastAPI:
    """Load ``uri`` now (errors raise here, as mlworkbench errors) and build the app."""
    settings = settings or get_settings()
    holder = ModelHolder(uri, settings, family)
    holder.load()
    return create_app(holder, settings)


def app_factory(family: ServedFamily) -> FastAPI:
    """What uvicorn's worker processes build: the reference is ``MLWB_SERVE_MODEL``."""
    settings = get_settings()
    if not settings.serve_model:
        raise ConfigError("MLWB_SERVE_MODEL is not set: start the service with `mlwb serve MODEL`")
    return build_app(settings.serve_model, family, settings)
