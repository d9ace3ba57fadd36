"""The monitoring service (``mlwb monitor serve``, port 5003).

``POST /runs`` computes a run now for a model and window; ``GET /runs`` lists verdicts;
``GET /runs/{id}/report`` returns a part's HTML report; ``GET /status`` the last verdict
per model; ``GET /metrics`` Prometheus gauges (drift share, online hit rate per version and
role, last run time); ``/`` the page. Errors answer ``{"detail", "field"}`` with a 4xx status.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from mlworkbench.config import Settings
from mlworkbench.errors import DataError, InvalidParameterError
from mlworkbench.monitoring import page, records
from mlworkbench.monitoring.run import Outcome
from mlworkbench.monitoring.windows import CurrentWindow
from mlworkbench.web import errors

# One monitoring run of a model's champion: (settings, model name, window, k); the model
# families' registry picks the family's report (see ``mlwb monitor serve``).
Monitor = Callable[[Settings, str | None, CurrentWindow | None, int], Outcome]

PARTS = ("input", "output", "diversity", "quality", "drift")
ONLINE_HIT_RATE = re.compile(r"online_hit_rate_at_k_(?P<role>[a-z]+)_v(?P<version>\d+)")


class RunRequest(BaseModel):
    model: str | None = Field(None, description="registered model; default the recommender")
    batches: list[int] | None = Field(None, description="production batch ids")
    last: int | None = Field(None, ge=1, description="the newest N production batches")
    since: datetime | None = None
    until: datetime | None = None
    k: int = Field(10, ge=1, le=1000)


def online_hit_rates(record: records.RunRecord) -> dict[tuple[str, str], float]:
    """A run's online hit rates by (version, role); a run recorded before roles were logged
    has the champion's only."""
    found = {(match["version"], match["role"]): value for key, value in record.metrics.items()
             if (match := ONLINE_HIT_RATE.fullmatch(key))}
    if not found and "online_hit_rate_at_k" in record.metrics:
        found[(record.model_version, "champion")] = record.metrics["online_hit_rate_at_k"]
    return found


async def _window_refused(_: Request, exc: DataError) -> Response:
    """A window the store cannot give (empty, unknown batches) is the caller's to fix."""
    return errors.json_error(422, str(exc), "window")


def build_app(settings: Settings, monitor: Monitor) -> FastAPI:
    app = FastAPI(title="mlworkbench monitoring", version="1")
    errors.install(app)
    app.add_exception_handler(DataError, _window_refused)  # type: ignore[arg-type]

    @app.post("/runs")
    def create_run(request: RunRequest) -> dict:
        """Compute a monitoring run now for a model's champion and a current window."""
        window = CurrentWindow(batch_ids=tuple(request.batches) if request.batches else None,
                               last=request.last, since=request.since, until=request.until)
        outcome = monitor(settings, request.model, window, request.k)
        return {"run_id": outcome.run_id, "model": outcome.model_name,
                "version": outcome.model_version, "verdict": outcome.result.verdict,
                "failed_tests": outcome.result.failed_names,
                "metrics": outcome.result.metrics}

    @app.get("/runs")
    def list_runs(model: str | None = None, limit: int = Query(50, ge=1, le=1000)) -> list:
        """Monitoring runs with their verdicts, newest first."""
        return [vars(r) for r in records.list_runs(settings, model, limit)]

    @app.get("/runs/{run_id}/report", response_class=HTMLResponse)
    def report(run_id: str, part: str | None = None) -> Response:
        """One part's HTML report of a run (default: its first part)."""
        if part is not None and part not in PARTS:
            raise InvalidParameterError("part", "the report", f"one of {', '.join(PARTS)}",
                                        part)
        with tempfile.TemporaryDirectory() as out:
            path = records.report_path(settings, run_id, part, Path(out))
            return HTMLResponse(path.read_text())

    @app.get("/status")
    def status() -> dict:
        """The last verdict per model."""
        latest: dict[str, dict] = {}
        for r in records.list_runs(settings, None, 500):
            latest.setdefault(r.model_name, {"version": r.model_version, "verdict": r.verdict,
                                             "failed_tests": r.failed_tests,
                                             "run_id": r.run_id, "started": r.started})
        return latest

    @app.get("/metrics")
    def metrics() -> Response:
        """Prometheus gauges from the recorded runs."""
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest

        registry = CollectorRegistry()
        drift = Gauge("mlwb_monitoring_drift_share", "share of drift tests failed, last run",
                      ["model"], registry=registry)
        hit = Gauge("mlwb_monitoring_online_hit_rate", "online hit rate@k per role "
                    "(champion, shadow) and version, newest run that measured it",
                    ["model", "version", "role"], registry=registry)
        last = Gauge("mlwb_monitoring_last_run_timestamp_seconds", "start of the last run",
                     ["model"], registry=registry)
        models: set[str] = set()
        measured: set[tuple[str, str, str]] = set()
        for r in records.list_runs(settings, None, 500):  # newest first
            if r.model_name not in models:
                models.add(r.model_name)
                last.labels(r.model_name).set(r.started / 1000)
                if (share := page.drift_share(r)) is not None:
                    drift.labels(r.model_name).set(share)
            for (version, role), value in online_hit_rates(r).items():
                if (r.model_name, version, role) not in measured:
                    measured.add((r.model_name, version, role))
                    hit.labels(r.model_name, version, role).set(value)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        """The page: each model's runs with verdicts, drift share and online quality plots."""
        return page.render(records.list_runs(settings, None, 500))

    return app
