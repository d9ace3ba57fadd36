"""Where monitoring runs are kept: MLflow (experiment ``monitoring``) and an Evidently workspace.

Each run is one MLflow run: the model's name and version and the windows as parameters,
the key numbers as metrics, ``verdict`` and ``failed_tests`` as tags, each part's HTML
report as an artifact (``reports/<part>.html``). The run is opened only once the report
is computed, and ends FAILED (never FINISHED) if anything goes wrong while it is written.
Each part's snapshot also goes to an Evidently workspace (``<home>/evidently``, one
project per model) so ``evidently ui --workspace <home>/evidently`` shows them over time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from mlworkbench.config import Settings
from mlworkbench.errors import DataError
from mlworkbench.monitoring.verdict import MonitoringResult
from mlworkbench.tracking import client as tracking

logger = logging.getLogger(__name__)
EXPERIMENT = "monitoring"
MAX_TAG = 5000


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    model_name: str
    model_version: str
    verdict: str
    failed_tests: str
    started: int  # ms since the epoch
    windows: str
    metrics: dict[str, float]
    parts: tuple[str, ...] = ("input",)  # the HTML reports it holds, in order


def workspace_path(settings: Settings) -> Path:
    return settings.home / "evidently"


def record(result: MonitoringResult, settings: Settings, model_name: str,
           model_version: int | None, windows: dict[str, str]) -> str:
    """Log ``result`` as an MLflow run and Evidently snapshots; returns the run id."""
    import mlflow

    client = tracking.configure(settings)
    experiment_id = ensure_experiment(client, settings)
    with tracking.translated("log the monitoring run"), mlflow.start_run(
            experiment_id=experiment_id, run_name=f"{model_name}-v{model_version}") as run:
        mlflow.set_tags({"verdict": result.verdict, "model_name": model_name,
                         "model_version": str(model_version),
                         "failed_tests": "; ".join(result.failed_names)[:MAX_TAG] or "-",
                         "parts": ",".join(result.parts)})
        mlflow.log_params({"model_name": model_name, "model_version": model_version,
                           "family": result.family, **{f"window.{key}": value[:500]
                                                       for key, value in windows.items()}})
        mlflow.log_metrics({key: float(value) for key, value in result.metrics.items()})
        for part in result.parts:
            mlflow.log_text(result.html(part), f"reports/{part}.html")
        _to_workspace(result, settings, model_name)
        return str(run.info.run_id)


def ensure_experiment(client: object, settings: Settings) -> str:
    """The id of experiment ``monitoring``, created (artifacts in the workspace) if missing."""
    with tracking.translated("open the monitoring experiment"):
        experiment = client.get_experiment_by_name(EXPERIMENT)  # type: ignore[attr-defined]
        if experiment is not None:
            return str(experiment.experiment_id)
        return str(client.create_experiment(  # type: ignore[attr-defined]
            EXPERIMENT, artifact_location=_artifacts(settings)))


def _artifacts(settings: Settings) -> str | None:
    location = settings.artifact_location
    return f"{location}/monitoring" if location else None


def _to_workspace(result: MonitoringResult, settings: Settings, model_name: str) -> None:
    from evidently.ui.workspace import Workspace

    workspace = Workspace.create(str(workspace_path(settings)))
    found = workspace.search_project(model_name)
    project = found[0] if found else workspace.create_project(
        model_name, description=f"monitoring of {model_name}")
    for part, snapshot in result.parts.items():
        workspace.add_run(project.id, snapshot, name=f"{result.verdict}: {part}")


def list_runs(settings: Settings, model_name: str | None = None,
              limit: int = 50) -> list[RunRecord]:
    """Monitoring runs, newest first."""
    client = tracking.configure(settings)
    with tracking.translated("list monitoring runs"):
        experiment = client.get_experiment_by_name(EXPERIMENT)
        if experiment is None:
            return []
        query = "tags.verdict != ''"  # profiles share the experiment; they have no verdict
        if model_name:
            query += f" and tags.model_name = '{model_name}'"
        runs = client.search_runs([experiment.experiment_id], query, max_results=limit,
                                  order_by=["attributes.start_time DESC"])
    return [RunRecord(run_id=r.info.run_id, model_name=r.data.tags.get("model_name", "?"),
                      model_version=r.data.tags.get("model_version", "?"),
                      verdict=r.data.tags.get("verdict", "?") if r.info.status == "FINISHED"
                      else r.info.status.lower(),
                      failed_tests=r.data.tags.get("failed_tests", ""),
                      started=int(r.info.start_time),
                      windows=", ".join(f"{k[7:]}={v}" for k, v in sorted(r.data.params.items())
                                        if k.startswith("window.")),
                      metrics=dict(r.data.metrics),
                      parts=tuple(r.data.tags.get("parts", "input").split(",")))
            for r in runs]


def report_path(settings: Settings, run_id: str, part: str | None, out: Path) -> Path:
    """Download one part's HTML report of a run (default: its first) into ``out``."""
    import mlflow

    client = tracking.configure(settings)
    if part is None:
        with tracking.translated(f"read monitoring run {run_id}"):
            part = client.get_run(run_id).data.tags.get("parts", "input").split(",")[0]
    try:
        with tracking.translated(f"download the {part} report of run {run_id}"):
            local = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=f"reports/{part}.html", dst_path=str(out))
    except Exception as exc:  # MLflow raises its own and OSError for a missing artifact
        if isinstance(exc, DataError):
            raise
        raise DataError(f"run {run_id} has no {part} report: {exc}".splitlines()[0]) from exc
    return Path(local)
