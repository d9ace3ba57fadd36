"""The jobs service (``mlwb jobs serve``, port 5002): train, tune, promote and pipeline runs
over HTTP.

``POST /jobs`` (admin bearer token) checks a job and runs it in the background, one at a
time per model (a second one for the same model: 409); ``GET /jobs`` and ``GET /jobs/{id}``
answer state, progress, MLflow run ids and error; ``GET /metrics`` Prometheus counters;
``GET /health``; OpenAPI at ``/docs``. Jobs live in the data store: a restarted service
lists the old ones and marks those it was running when it was stopped as failed. Errors
answer ``{"detail", "field"}`` (``web/errors.py``, shared with the other services).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from mlworkbench.config import Settings, get_settings
from mlworkbench.data.jobs import Job, JobConflictError
from mlworkbench.pipelines.jobs.metrics import JobMetrics
from mlworkbench.pipelines.jobs.runner import JobRunner
from mlworkbench.web import errors
from mlworkbench.web.auth import check_admin


class JobRequest(BaseModel):
    kind: Literal["train", "tune", "pipeline", "promote"]
    family: str | None = Field(None, description="recommender or classifier")
    model: str | None = Field(None, description="a registered model (instead of the family)")
    params: dict[str, Any] = Field(default_factory=dict,
                                   description="the options of the matching mlwb command")


class JobAnswer(BaseModel):
    id: int
    kind: str
    model_name: str
    family: str
    params: dict[str, Any]
    state: Literal["queued", "running", "succeeded", "failed"]
    progress: dict[str, Any] | None
    run_ids: list[str]
    result: dict[str, Any] | None
    error: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None

    @classmethod
    def of(cls, job: Job) -> JobAnswer:
        return cls(**job.as_dict())


def require_admin(request: Request) -> None:
    """Submitting needs ``Authorization: Bearer $MLWB_ADMIN_TOKEN`` (every service's check)."""
    check_admin(request, request.app.state.settings.admin_token, "job submissions")


def build_app(settings: Settings | None = None) -> FastAPI:
    """The jobs app; the store opens, and jobs a killed service left are failed, at start."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings or get_settings()
        app.state.metrics = JobMetrics()
        app.state.runner = JobRunner(app.state.settings, app.state.metrics.finished)
        app.state.runner.recover()
        yield

    app = FastAPI(title="mlworkbench jobs", version="1", lifespan=lifespan,
                  description="Train, tune, promote and continuous-training runs, in the "
                  "background, one at a time per model.")
    errors.install(app)

    @app.get("/health")
    def health() -> dict[str, str]:
        """Alive, with the store open."""
        return {"status": "ok"}

    @app.post("/jobs", status_code=202, dependencies=[Depends(require_admin)])
    def submit(body: JobRequest, request: Request) -> JobAnswer:
        """Check a job and start it in the background; 409 while the model has one active."""
        runner: JobRunner = request.app.state.runner
        try:
            job = runner.submit(body.kind, body.family, body.model, body.params)
        except JobConflictError as exc:
            raise errors.ConflictError(str(exc), "model") from exc
        request.app.state.metrics.submitted.labels(body.kind).inc()
        return JobAnswer.of(job)

    @app.get("/jobs")
    def list_jobs(request: Request, model: str | None = None,
                  state: Literal["queued", "running", "succeeded", "failed"] | None = None,
                  limit: int = Query(50, ge=1, le=1000)) -> list[JobAnswer]:
        """Jobs, newest first (optionally one model's, or one state's)."""
        return [JobAnswer.of(job) for job in
                request.app.state.runner.store.list(model, state, limit)]

    @app.get("/jobs/{job_id}")
    def read_job(job_id: int, request: Request) -> JobAnswer:
        """One job: state, progress, MLflow run ids, result or error."""
        job = request.app.state.runner.store.get(job_id)
        if job is None:
            raise errors.ServiceError(f"no job {job_id}; list them with GET /jobs", "job_id",
                                      status=404)
        return JobAnswer.of(job)

    @app.get("/metrics")
    def metrics(request: Request) -> Response:
        """Prometheus: jobs submitted and finished by kind and state, durations, jobs by state."""
        found: JobMetrics = request.app.state.metrics
        return Response(found.scrape(request.app.state.runner.store.counts()),
                        media_type=found.content_type)

    return app
