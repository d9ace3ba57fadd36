"""Grid search for any model family: one parent run, a nested child run per combination,
the best registered as ``challenger``.

Selection never sees the test holdout. The data is split as ``mlwb train`` splits it
(train | test); the train part is split again (fit | validation). Every combination fits
on the same fit part and is ranked on validation (children log ``val_*`` metrics); the
winner is refitted on the whole train part and scored once on test, the numbers its
registered version carries, comparable with any ``mlwb train`` run. Trials run in-process
or in ``parallel`` worker processes whose implicit threads share the cores (workers x
threads <= cores); all MLflow writes happen in this process.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from multiprocessing import get_context
from typing import Any

import mlflow
import pandas as pd
from mlflow.entities import Metric, Param, RunTag

from mlworkbench.config import CHALLENGER_ALIAS, Settings, get_settings
from mlworkbench.data.datasets import Dataset
from mlworkbench.errors import InvalidParameterError
from mlworkbench.tracking import client as tracking
from mlworkbench.tracking import registry
from mlworkbench.training import plots
from mlworkbench.training.family import Params, Progress, Trainer, TrainRequest, Trial, Tuning
from mlworkbench.training.grid import Grid, combinations, describe
from mlworkbench.training.train import log_dataset_input, tag_version


@dataclass(frozen=True)
class TuneRequest:
    grid: Grid
    model: str | None = None
    metric: str | None = None
    split: str = "random"
    test_fraction: float = 0.2
    k: int = 10
    parallel: int = 1
    register: bool = True

    def validated(self, trainer: Trainer) -> TuneRequest:
        base = self.train_request().validated(trainer)
        metric = self.metric or trainer.default_metric
        names = trainer.metric_names(self.k)
        if metric not in names:
            raise InvalidParameterError("metric", "tune", f"one of {names}", metric)
        cores = os.cpu_count() or 1
        if not 1 <= self.parallel <= cores:
            raise InvalidParameterError("parallel", "tune", f"an integer in [1, {cores}]",
                                        self.parallel)
        for params in combinations(self.grid):  # every combination, before any training
            trainer.validate_params(base.model or "", params)
        return replace(self, model=base.model, metric=metric)

    def train_request(self, params: Params | None = None) -> TrainRequest:
        return TrainRequest(self.model, params or {}, self.split, self.test_fraction, self.k,
                            self.register)


@dataclass(frozen=True)
class TuneResult:
    parent_run_id: str
    metric: str
    trials: list[Trial]  # best first
    version: int | None
    baseline: dict[str, float]  # the baseline on the test holdout
    test_metrics: dict[str, float]  # the refitted best on the test holdout

    @property
    def best(self) -> Trial:
        return self.trials[0]

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([{**t.params, **t.metrics, "fit_seconds": t.fit_seconds,
                              "run_id": t.run_id} for t in self.trials])


# -- trials (run in workers: module-level state set once per process) -------------------------
_WORK: dict[str, Any] = {}


def _init_worker(work: dict[str, Any]) -> None:
    _WORK.update(work)


def _trial_scores(params: Params) -> Trial:
    """A trial as workers return it: the fitted model stays behind."""
    w = _WORK
    trial = w["tuning"].run_trial(w["parts"], w["model"], params, w["threads"])
    return replace(trial, model=None)


def _trials(request: TuneRequest, work: dict[str, Any], progress: Progress):
    points = combinations(request.grid)
    progress("trials", 0, len(points))
    if request.parallel == 1:
        _init_worker(work)
        for done, params in enumerate(points, start=1):
            yield _trial_scores(params)
            progress("trials", done, len(points))
        return
    with ProcessPoolExecutor(request.parallel, mp_context=get_context("spawn"),
                             initializer=_init_worker, initargs=(work,)) as pool:
        futures = [pool.submit(_trial_scores, params) for params in points]
        for done, future in enumerate(as_completed(futures), start=1):
            yield future.result()
            progress("trials", done, len(points))


def tune(
    trainer: Trainer,
    request: TuneRequest,
    settings: Settings | None = None,
    progress: Progress | None = None,
    data: Dataset | None = None,
) -> TuneResult:
    """Run the grid, log parent + children, register the best as ``challenger``."""
    request = request.validated(trainer)
    settings = settings or get_settings()
    progress = progress or (lambda *_: None)
    client = tracking.configure(settings)
    experiment_id = tracking.ensure_experiment(client, settings)
    data = data or trainer.load_data(settings)
    tuning: Tuning = trainer.tuning(request.train_request(), data, settings, request.parallel)
    threads = (settings.fit_threads if request.parallel == 1
               else max(1, (os.cpu_count() or 1) // request.parallel))
    work = {"tuning": tuning, "parts": tuning.inner, "model": request.model, "threads": threads}
    metric = request.metric or ""

    with tracking.translated("log the tuning runs"), mlflow.start_run(
        experiment_id=experiment_id, run_name=f"tune-{request.model}"
    ) as parent:
        mlflow.log_params({"model": request.model, "metric": metric,
                           "split": request.split, "test_fraction": request.test_fraction,
                           "k": request.k, "seed": settings.seed, "parallel": request.parallel,
                           "grid": describe(request.grid), "family": trainer.name})
        mlflow.log_metrics({f"{trainer.baseline}_{key}": value
                            for key, value in tuning.baseline.items()})
        log_dataset_input(data)
        data_tags = {**data.tags(), "digest": data.digest}
        trials = [replace(trial, run_id=_log_child(client, experiment_id, parent.info.run_id,
                                                   trainer, request, trial, data_tags))
                  for trial in _trials(request, work, progress)]
        trials.sort(key=lambda trial: trial.metrics[metric], reverse=True)
        best = trials[0]
        best_run_id = best.run_id
        progress("refit", 0, 1)
        refit = tuning.run_trial(tuning.outer, request.model or "", best.params,
                                 settings.fit_threads)
        progress("refit", 1, 1)
        mlflow.log_metrics({f"best_val_{metric}": best.metrics[metric],
                            **{f"best_test_{k}": v for k, v in refit.metrics.items()}})
        mlflow.set_tag("best_run_id", best_run_id)
        result = TuneResult(parent.info.run_id, metric, trials, None, tuning.baseline,
                            refit.metrics)
        mlflow.log_text(result.table().to_csv(index=False), "tuning/results.csv")
        figure = plots.metric_by_parameter(result.table(), list(request.grid), metric)
        mlflow.log_figure(figure, "tuning/metric_by_parameter.png")
        plots.close(figure)
        client.log_batch(best_run_id, metrics=[
            Metric(key, float(value), int(time.time() * 1000), 0)
            for key, value in refit.metrics.items()])
        version = None
        if request.register:
            version = _register_best(client, settings, trainer, refit.model, best_run_id, data)
    return replace(result, version=version)


def _log_child(client, experiment_id: str, parent_id: str, trainer: Trainer,
               request: TuneRequest, trial: Trial, data_tags: dict[str, str]) -> str:
    name = "-".join(f"{key}={value}" for key, value in trial.params.items())
    child = client.create_run(experiment_id, run_name=name,
                              tags={"mlflow.parentRunId": parent_id})
    now = int(time.time() * 1000)
    all_params = {"model": request.model, "split": request.split, "k": request.k,
                  **trainer.validate_params(request.model or "", trial.params)}
    client.log_batch(
        child.info.run_id,
        metrics=[Metric(f"val_{key}", float(value), now, 0)
                 for key, value in trial.metrics.items()]
        + [Metric("fit_seconds", trial.fit_seconds, now, 0)],
        params=[Param(key, str(value)) for key, value in all_params.items()],
        tags=[RunTag("trial", "grid"), RunTag("family", trainer.name)]
        + [RunTag(f"data.{key}", str(value)) for key, value in data_tags.items()],
    )
    client.set_terminated(child.info.run_id)
    return child.info.run_id


def _register_best(client, settings: Settings, trainer: Trainer, model: Any, run_id: str,
                   data: Dataset) -> int:
    name = trainer.model_name(settings)
    with mlflow.start_run(run_id=run_id, nested=True):
        info = trainer.log_model(model, data, name)
    version = tag_version(client, trainer, name, info, data.digest)
    registry.set_alias(client, name, CHALLENGER_ALIAS, version)
    return version
