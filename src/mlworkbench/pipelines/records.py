"""Step 6, record: every pipeline run is an MLflow run in experiment ``continuous-training`` —
trigger and evidence, each step's outcome and seconds, versions before and after, outcome —
and :func:`list_runs` reads them back for ``mlwb pipeline list``."""

from __future__ import annotations

import json
import time
from typing import Any

from mlflow.entities import Metric, Param, RunTag

from mlworkbench.config import Settings
from mlworkbench.pipelines.steps import STEPS
from mlworkbench.tracking import client as tracking

EXPERIMENT = "continuous-training"


def _experiment_id(client: Any, settings: Settings) -> str:
    with tracking.translated(f"open the experiment {EXPERIMENT!r}"):
        experiment = client.get_experiment_by_name(EXPERIMENT)
        if experiment is not None:
            return str(experiment.experiment_id)
        return str(client.create_experiment(EXPERIMENT,
                                            artifact_location=_artifacts(settings)))


def _artifacts(settings: Settings) -> str | None:
    location = settings.artifact_location
    return None if location is None else location.rstrip("/") + "/continuous-training"


def _text(value: Any, limit: int = 5000) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text[:limit]


def record(settings: Settings, result: dict[str, Any]) -> str:
    """Write one pipeline run (``PipelineResult.to_dict()``) as an MLflow run; its id."""
    client = tracking.configure(settings)
    experiment_id = _experiment_id(client, settings)
    steps: dict[str, dict[str, Any]] = result.get("steps", {})
    started_ms = int(result.get("started_at", time.time()) * 1000)
    tags = {"family": result["family"], "model_name": result["model_name"],
            "trigger": result["trigger"], "outcome": result["outcome"],
            "reason": _text(result.get("reason", "")),
            "failed_step": result.get("failed_step") or "",
            "version_before": str(result.get("version_before") or ""),
            "version_after": str(result.get("version_after") or "")}
    check = steps.get("check", {}).get("output", {})
    tags["evidence"] = _text({key: check.get(key) for key in
                              ("reason", "new_rows", "new_production_batches", "monitoring",
                               "schedule_due", "shadowing") if key in check})
    shadow = steps.get("shadow", {}).get("output", {})
    if shadow:
        tags["shadow_evidence"] = _text({key: shadow.get(key) for key in
                                         ("version", "requests", "judged_lists", "gain",
                                          "passed", "reason")})
    for step, done in steps.items():
        tags[f"step.{step}"] = done.get("outcome", "")
    now_ms = int(time.time() * 1000)
    metrics = [Metric(f"{step}_seconds", float(done.get("seconds", 0.0)), now_ms, 0)
               for step, done in steps.items()]
    metrics.append(Metric("total_seconds", float(result.get("seconds", 0.0)), now_ms, 0))
    for key in ("version_before", "version_after"):
        if result.get(key) is not None:
            metrics.append(Metric(key, float(result[key]), now_ms, 0))
    if shadow:
        metrics.append(Metric("shadow_judged_lists", float(shadow.get("judged_lists", 0)),
                              now_ms, 0))
    with tracking.translated("record the pipeline run"):
        run = client.create_run(experiment_id, start_time=started_ms,
                                run_name=f"{result['family']}-{result['outcome']}",
                                tags={f"pipeline.{k}": v for k, v in tags.items()})
        run_id = run.info.run_id
        client.log_batch(run_id, metrics=metrics,
                         params=[Param(k, _text(v, 500)) for k, v in
                                 result.get("policy", {}).items()],
                         tags=[RunTag("mlflow.note.content", _text(result.get("reason", "")))])
        client.log_dict(run_id, result, "pipeline.json")
        client.set_terminated(run_id, "FAILED" if result["outcome"] == "failed" else "FINISHED")
    return str(run_id)


def list_runs(settings: Settings, model_name: str | None = None,
              limit: int = 20) -> list[dict[str, Any]]:
    """The newest pipeline runs (of ``model_name``, or all), newest first."""
    client = tracking.configure(settings)
    with tracking.translated(f"read the experiment {EXPERIMENT!r}"):
        experiment = client.get_experiment_by_name(EXPERIMENT)
        if experiment is None:
            return []
        query = f"tags.`pipeline.model_name` = '{model_name}'" if model_name else ""
        runs = client.search_runs([experiment.experiment_id], query, max_results=limit,
                                  order_by=["attributes.start_time DESC"])
    rows = []
    for run in runs:
        tags = run.data.tags
        rows.append({
            "run_id": run.info.run_id, "started_ms": run.info.start_time,
            **{key.removeprefix("pipeline."): value for key, value in tags.items()
               if key.startswith("pipeline.")},
            "seconds": run.data.metrics.get("total_seconds"),
            "steps": {step: {"outcome": tags.get(f"pipeline.step.{step}", ""),
                             "seconds": run.data.metrics.get(f"{step}_seconds")}
                      for step in STEPS if f"pipeline.step.{step}" in tags}})
    return rows
