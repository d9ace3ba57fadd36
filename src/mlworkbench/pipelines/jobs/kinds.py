"""The kinds of job the jobs service runs, each one call of the function the CLI calls too.

``train`` → :func:`mlworkbench.training.train.train` (``mlwb train``), ``tune`` →
:func:`mlworkbench.training.tune.tune` (``mlwb tune``), ``promote`` →
:func:`mlworkbench.training.gate.promote` (``mlwb models promote``), ``pipeline`` →
:func:`mlworkbench.pipelines.continuous.run_pipeline` (``mlwb pipeline run``).

A job's parameters are checked whole when it is submitted (:func:`prepare`), so a typo is
a 422 at once, never a failed job an hour later; :func:`execute` then does the work and
answers a JSON-able result and the MLflow run ids it made.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mlworkbench.config import Settings
from mlworkbench.errors import InvalidParameterError
from mlworkbench.families import Family
from mlworkbench.training.family import Progress

Kind = Literal["train", "tune", "pipeline", "promote"]
KINDS: tuple[str, ...] = ("train", "tune", "pipeline", "promote")


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class TrainParams(_Params):
    """``mlwb train <family>``'s options."""

    model: str | None = Field(None, description="engine (als, bpr, popularity; logreg, gbm)")
    params: dict[str, Any] = Field(default_factory=dict, description="hyperparameters")
    split: str = "random"
    test_fraction: float = 0.2
    k: int = Field(10, ge=1, le=1000)
    registered: bool = Field(True, alias="register", description="register the model")
    snapshot: str | None = Field(None, description="a named data snapshot")


class TuneParams(_Params):
    """``mlwb tune <family>``'s options; ``grid`` maps a hyperparameter to its values."""

    grid: dict[str, list[Any]] = Field(..., min_length=1)
    model: str | None = None
    metric: str | None = None
    parallel: int = Field(1, ge=1)
    split: str = "random"
    k: int = Field(10, ge=1, le=1000)
    registered: bool = Field(True, alias="register", description="register the model")
    snapshot: str | None = None


class PromoteParams(_Params):
    """``mlwb models promote``'s options."""

    metric: str | None = None
    min_gain: float = Field(0.0, ge=0)
    dry_run: bool = False
    split: str = "random"
    k: int = Field(10, ge=1, le=1000)


class PipelineParams(_Params):
    """``mlwb pipeline run``'s options."""

    force: bool = Field(False, description="retrain even when the check finds no reason")
    trigger: str = Field("jobs", max_length=64, description="recorded as the run's trigger")
    grid: dict[str, list[Any]] | None = Field(None, description="tune over this grid instead")
    params: dict[str, Any] | None = Field(None, description="override champion parameters")


PARAMS: dict[str, type[_Params]] = {"train": TrainParams, "tune": TuneParams,
                                    "promote": PromoteParams, "pipeline": PipelineParams}


@dataclasses.dataclass(frozen=True)
class Prepared:
    """A checked job: call ``work(progress)`` to run it."""

    params: dict[str, Any]  # as stored with the job (defaults filled in)
    work: Callable[[Progress], tuple[dict[str, Any], list[str]]]


def _checked(kind: str, raw: dict[str, Any]) -> _Params:
    try:
        return PARAMS[kind].model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(part) for part in first["loc"]) or "params"
        raise InvalidParameterError(f"params.{name}", f"a {kind} job", first["msg"].lower(),
                                    first.get("input")) from None


def prepare(settings: Settings, family: Family, kind: str, raw: dict[str, Any]) -> Prepared:
    """Check a job's parameters (every value, before any work) and bind its work."""
    if kind not in PARAMS:
        raise InvalidParameterError("kind", "a job", f"one of {list(KINDS)}", kind)
    params = _checked(kind, raw)
    builder = {"train": _train, "tune": _tune, "promote": _promote, "pipeline": _pipeline}[kind]
    return Prepared(params.model_dump(by_alias=True), builder(settings, family, params))


def _data(settings: Settings, family: Family, snapshot: str | None) -> Any:
    return family.trainer.load_data(settings, snapshot) if snapshot else None


def _train(settings: Settings, family: Family, params: Any):
    from mlworkbench.training.train import TrainRequest, train

    request = TrainRequest(params.model, params.params, params.split, params.test_fraction,
                           params.k, params.registered).validated(family.trainer)

    def work(progress: Progress) -> tuple[dict[str, Any], list[str]]:
        result = train(family.trainer, request, settings=settings, progress=progress,
                       data=_data(settings, family, params.snapshot))
        return ({"run_id": result.run_id, "model": request.model, "metrics": result.metrics,
                 "baseline": result.baseline, "registered_name": result.registered_name,
                 "version": result.version, "champion_version": result.champion_version,
                 "dataset_digest": result.dataset_digest}, [result.run_id])
    return work


def _tune(settings: Settings, family: Family, params: Any):
    from mlworkbench.training.grid import build_grid
    from mlworkbench.training.tune import TuneRequest, tune

    trainer = family.trainer
    model = params.model or trainer.default_model
    request = TuneRequest(
        grid=build_grid(lambda p: trainer.validate_params(model, p), given=params.grid),
        model=model, metric=params.metric, split=params.split, k=params.k,
        parallel=params.parallel, register=params.registered).validated(trainer)

    def work(progress: Progress) -> tuple[dict[str, Any], list[str]]:
        result = tune(trainer, request, settings=settings, progress=progress,
                      data=_data(settings, family, params.snapshot))
        return ({"parent_run_id": result.parent_run_id, "metric": result.metric,
                 "best_params": result.best.params, "best_run_id": result.best.run_id,
                 "trials": len(result.trials), "test_metrics": result.test_metrics,
                 "baseline": result.baseline, "version": result.version},
                [result.parent_run_id, *(t.run_id for t in result.trials if t.run_id)])
    return work


def _promote(settings: Settings, family: Family, params: Any):
    from mlworkbench.training.gate import promote

    trainer = family.trainer
    names = trainer.metric_names(params.k)
    if params.metric is not None and params.metric not in names:
        raise InvalidParameterError("params.metric", "a promote job", f"one of {names}",
                                    params.metric)

    def work(progress: Progress) -> tuple[dict[str, Any], list[str]]:
        progress("gate", 0, 1)
        decision = promote(trainer, metric=params.metric, min_gain=params.min_gain,
                           dry_run=params.dry_run, settings=settings, split=params.split,
                           k=params.k)
        progress("gate", 1, 1)
        return jsonable(decision), []
    return work


PIPELINE_STEPS = 6  # check, snapshot, retrain, shadow, gate, verify, at most (then the record)


def _pipeline(settings: Settings, family: Family, params: Any):
    from mlworkbench.pipelines.continuous import run_pipeline

    def work(progress: Progress) -> tuple[dict[str, Any], list[str]]:
        done: list[str] = []

        def step_done(step: str, _output: dict[str, Any]) -> None:
            done.append(step)
            progress(step, len(done), PIPELINE_STEPS)

        result = run_pipeline(settings, family.name, trigger=params.trigger, force=params.force,
                              progress=step_done, grid=params.grid, params=params.params)
        return jsonable(result.to_dict()), [result.run_id] if result.run_id else []
    return work


def jsonable(value: Any) -> Any:
    """A result object (dataclasses, paths, times) as plain JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)
