"""Grid search: one parent run, one nested child run per combination, best -> ``challenger``.

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
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any

import mlflow
import pandas as pd
from mlflow.entities import Metric, Param, RunTag

from mlworkbench.config import CHALLENGER_ALIAS, Settings, get_settings
from mlworkbench.data.datasets import Interactions
from mlworkbench.errors import InvalidParameterError
from mlworkbench.models.engines import make_engine
from mlworkbench.models.pyfunc import log_recommender
from mlworkbench.models.recommender import Recommender, check_k
from mlworkbench.tracking import client as tracking
from mlworkbench.tracking import registry
from mlworkbench.training import plots
from mlworkbench.training.evaluate import evaluate, metric_names
from mlworkbench.training.grid import Grid, combinations, describe
from mlworkbench.training.splits import Split, check_split
from mlworkbench.training.splits import split as make_split
from mlworkbench.training.train import (
    BASELINE,
    Progress,
    dataset_tags,
    default_data,
    evaluate_baseline,
    id_maps,
    log_dataset_input,
    tag_version,
)


@dataclass(frozen=True)
class TuneRequest:
    grid: Grid
    model: str = "als"
    metric: str = "ndcg_at_10"
    split: str = "random"
    test_fraction: float = 0.2
    k: int = 10
    parallel: int = 1
    register: bool = True

    def validated(self) -> TuneRequest:
        check_k(self.k)
        check_split(self.split, self.test_fraction)
        if self.metric not in metric_names(self.k):
            raise InvalidParameterError("metric", "tune", f"one of {metric_names(self.k)}",
                                        self.metric)
        cores = os.cpu_count() or 1
        if not 1 <= self.parallel <= cores:
            raise InvalidParameterError("parallel", "tune", f"an integer in [1, {cores}]",
                                        self.parallel)
        for params in combinations(self.grid):
            make_engine(self.model, **params)  # every combination, before any training
        return self


@dataclass(frozen=True)
class Trial:
    params: dict[str, int | float]
    metrics: dict[str, float]
    fit_seconds: float
    run_id: str = ""


@dataclass(frozen=True)
class TuneResult:
    parent_run_id: str
    metric: str
    trials: list[Trial]  # best first
    version: int | None
    baseline: dict[str, float]  # popularity on the test holdout
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


def _run_trial(params: dict[str, int | float]) -> tuple[dict, dict, float, Recommender]:
    w = _WORK
    engine = make_engine(w["kind"], seed=w["seed"], threads=w["threads"], **params)
    started = time.perf_counter()
    model = Recommender.fit(engine, w["train"], w["items"], w["user_ids"], w["item_ids"])
    fit_seconds = time.perf_counter() - started
    return params, evaluate(model, w["test"], w["k"]).metrics, fit_seconds, model


def _trial_scores(params: dict[str, int | float]) -> tuple[dict, dict, float]:
    """A trial as workers return it: the fitted model stays behind."""
    return _run_trial(params)[:3]


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


def tune_recommender(
    request: TuneRequest,
    settings: Settings | None = None,
    progress: Progress | None = None,
    data: Interactions | None = None,
) -> TuneResult:
    """Run the grid, log parent + children, register the best as ``challenger``."""
    request = request.validated()
    settings = settings or get_settings()
    progress = progress or (lambda *_: None)
    client = tracking.configure(settings)
    experiment_id = tracking.ensure_experiment(client, settings)
    data = data or default_data(settings)
    holdout: Split = make_split(data.ratings, request.split, request.test_fraction, settings.seed)
    inner: Split = make_split(holdout.train, request.split, request.test_fraction,
                              settings.seed + 1)
    user_ids, item_ids = id_maps(data)
    work = {"kind": request.model, "seed": settings.seed, "k": request.k,
            "threads": (settings.fit_threads if request.parallel == 1
                        else max(1, (os.cpu_count() or 1) // request.parallel)),
            "train": inner.train, "test": inner.test, "items": data.items,
            "user_ids": user_ids, "item_ids": item_ids}
    baseline = evaluate_baseline(holdout, data, request.k).metrics

    with tracking.translated("log the tuning runs"), mlflow.start_run(
        experiment_id=experiment_id, run_name=f"tune-{request.model}"
    ) as parent:
        mlflow.log_params({"model": request.model, "metric": request.metric,
                           "split": request.split, "test_fraction": request.test_fraction,
                           "k": request.k, "seed": settings.seed, "parallel": request.parallel,
                           "grid": describe(request.grid)})
        mlflow.log_metrics({f"{BASELINE}_{key}": value for key, value in baseline.items()})
        log_dataset_input(data)
        trials = []
        for params, scores, fit_seconds in _trials(request, work, progress):
            run_id = _log_child(client, experiment_id, parent.info.run_id, request, params,
                                scores, fit_seconds, {**dataset_tags(data), "digest": data.digest})
            trials.append(Trial(params, scores, fit_seconds, run_id))
        trials.sort(key=lambda t: t.metrics[request.metric], reverse=True)
        best = trials[0]
        progress("refit", 0, 1)
        _init_worker({**work, "train": holdout.train, "test": holdout.test,
                      "threads": settings.fit_threads})
        _, test_metrics, _, model = _run_trial(best.params)
        progress("refit", 1, 1)
        mlflow.log_metrics({f"best_val_{request.metric}": best.metrics[request.metric],
                            **{f"best_test_{k}": v for k, v in test_metrics.items()}})
        mlflow.set_tag("best_run_id", best.run_id)
        result = TuneResult(parent.info.run_id, request.metric, trials, None, baseline,
                            test_metrics)
        mlflow.log_text(result.table().to_csv(index=False), "tuning/results.csv")
        figure = plots.metric_by_parameter(result.table(), list(request.grid), request.metric)
        mlflow.log_figure(figure, "tuning/metric_by_parameter.png")
        plots.close(figure)
        client.log_batch(best.run_id, metrics=[
            Metric(key, float(value), int(time.time() * 1000), 0)
            for key, value in test_metrics.items()])
        version = None
        if request.register:
            version = _register_best(client, settings, model, best, data.digest)
    return TuneResult(parent.info.run_id, request.metric, trials, version, baseline,
                      test_metrics)


def _log_child(client, experiment_id, parent_id, request, params, scores, fit_seconds,
               data_tags: dict[str, str]) -> str:
    name = "-".join(f"{key}={value}" for key, value in params.items())
    child = client.create_run(experiment_id, run_name=name,
                              tags={"mlflow.parentRunId": parent_id})
    now = int(time.time() * 1000)
    all_params = {"model": request.model, "split": request.split, "k": request.k,
                  **make_engine(request.model, **params).params}
    client.log_batch(
        child.info.run_id,
        metrics=[Metric(f"val_{key}", float(value), now, 0) for key, value in scores.items()]
        + [Metric("fit_seconds", fit_seconds, now, 0)],
        params=[Param(key, str(value)) for key, value in all_params.items()],
        tags=[RunTag("trial", "grid")]
        + [RunTag(f"data.{key}", str(value)) for key, value in data_tags.items()],
    )
    client.set_terminated(child.info.run_id)
    return child.info.run_id


def _register_best(client, settings: Settings, model: Recommender, best: Trial,
                   digest: str) -> int:
    name = settings.recommender_model_name
    with mlflow.start_run(run_id=best.run_id, nested=True):
        info = log_recommender(model, registered_model_name=name)
    version = tag_version(client, name, info, digest)
    registry.set_alias(client, name, CHALLENGER_ALIAS, version)
    return version
