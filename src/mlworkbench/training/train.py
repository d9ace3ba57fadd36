"""One training run: load -> split -> fit -> evaluate (model and popularity) -> log -> register."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import mlflow
import numpy as np
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

from mlworkbench.config import CHAMPION_ALIAS, Settings, get_settings
from mlworkbench.data.datasets import Interactions
from mlworkbench.data.ingest import training_snapshot
from mlworkbench.data.schema import SCHEMA_VERSION, schema_document
from mlworkbench.data.store import Snapshot
from mlworkbench.models import hyperparameters
from mlworkbench.models.engines import make_engine
from mlworkbench.models.pyfunc import ids_are_integers, log_recommender
from mlworkbench.models.recommender import Recommender, check_k
from mlworkbench.tracking import client as tracking
from mlworkbench.tracking import registry
from mlworkbench.training import plots
from mlworkbench.training.evaluate import Evaluation, evaluate
from mlworkbench.training.splits import Split, check_split
from mlworkbench.training.splits import split as make_split

logger = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # (stage, done, total)
BASELINE = "popularity"


@dataclass(frozen=True)
class TrainRequest:
    model: str = "als"
    params: dict[str, Any] = field(default_factory=dict)
    split: str = "random"
    test_fraction: float = 0.2
    k: int = 10
    register: bool = True

    def validated(self) -> TrainRequest:
        """Check every field before any work starts; typed hyperparameters filled in."""
        check_k(self.k)
        check_split(self.split, self.test_fraction)
        params = hyperparameters.validate(self.model, self.params)
        return TrainRequest(self.model, params, self.split, self.test_fraction, self.k,
                            self.register)


@dataclass(frozen=True)
class TrainResult:
    run_id: str
    model_uri: str
    registered_name: str | None
    version: int | None
    champion_version: int | None
    evaluation: Evaluation
    baseline: Evaluation
    dataset_digest: str
    seconds: dict[str, float]
    model: Recommender

    @property
    def metrics(self) -> dict[str, float]:
        return self.evaluation.metrics


def id_maps(data: Interactions) -> tuple[np.ndarray, np.ndarray]:
    """Every user (sorted) and every catalogue item: the rows all models of one run share."""
    return np.sort(data.ratings["user_id"].unique()), data.items["item_id"].to_numpy()


def evaluate_baseline(holdout: Split, data: Interactions, k: int) -> Evaluation:
    """The popularity baseline, fitted and scored on the same split as the model it frames."""
    user_ids, item_ids = id_maps(data)
    model = Recommender.fit(make_engine(BASELINE), holdout.train, data.items, user_ids, item_ids)
    return evaluate(model, holdout.test, k)


def fit_and_evaluate(
    request: TrainRequest, data: Interactions, settings: Settings, progress: Progress
) -> tuple[Recommender, Evaluation, Evaluation, dict[str, float]]:
    """The pure-ML part of a run (no MLflow): what a bare implicit script would do."""
    engine = make_engine(request.model, seed=settings.seed, threads=settings.fit_threads,
                         **request.params)
    holdout = make_split(data.ratings, request.split, request.test_fraction, settings.seed)
    user_ids, item_ids = id_maps(data)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    model = Recommender.fit(
        engine, holdout.train, data.items, user_ids, item_ids,
        progress=lambda done: progress("fit", done, engine.iterations),
    )
    seconds["fit_seconds"] = time.perf_counter() - started
    started = time.perf_counter()
    progress("evaluate", 0, 2)
    evaluation = evaluate(model, holdout.test, request.k)
    baseline = evaluate_baseline(holdout, data, request.k)
    progress("evaluate", 2, 2)
    seconds["evaluate_seconds"] = time.perf_counter() - started
    return model, evaluation, baseline, seconds


def _curve_metrics(prefix: str, curve: dict[str, list[float]], now_ms: int) -> list[Metric]:
    return [
        Metric(f"{prefix}{name}_at_k", value, now_ms, step)
        for name, values in curve.items()
        for step, value in enumerate(values, start=1)
    ]


def default_data(settings: Settings) -> Interactions:
    """The data a run trains on when none is given: the store's latest validated data."""
    return training_snapshot(settings)


def dataset_tags(data: Interactions) -> dict[str, str]:
    """What names the data a run saw: schema version, snapshot and batches (run tags data.*)."""
    if isinstance(data, Snapshot):
        return {"schema_version": data.schema_version, "snapshot": data.snapshot or "latest",
                "batches": data.batch_label}
    return {"schema_version": SCHEMA_VERSION}


def log_dataset_input(data: Interactions) -> None:
    """Log the data set as the active run's MLflow dataset input, named by its content digest."""
    with ids_are_integers():
        dataset = mlflow.data.from_pandas(data.ratings, name=data.name, digest=data.digest)
        tags = dataset_tags(data)
        mlflow.log_input(dataset, context="training", tags=tags)
        mlflow.set_tags({f"data.{key}": value for key, value in tags.items()})
        mlflow.log_dict(schema_document(), "data/schema.json")


def tag_version(client: MlflowClient, name: str, info: Any, digest: str) -> int:
    """The registered version of a just-logged model, tagged with key metric and data digest."""
    version = int(info.registered_model_version)
    with tracking.translated(f"tag version {version} of {name!r}"):
        client.set_model_version_tag(name, str(version), "key_metric", registry.KEY_METRIC)
        client.set_model_version_tag(name, str(version), "dataset_digest", digest)
    return version


def train_recommender(
    request: TrainRequest | None = None,
    settings: Settings | None = None,
    progress: Progress | None = None,
    data: Interactions | None = None,
) -> TrainResult:
    """Run one tracked training run and (by default) register the model."""
    request = (request or TrainRequest()).validated()
    settings = settings or get_settings()
    progress = progress or (lambda *_: None)
    client = tracking.configure(settings)
    experiment_id = tracking.ensure_experiment(client, settings)
    data = data or default_data(settings)
    model, evaluation, baseline, seconds = fit_and_evaluate(request, data, settings, progress)
    digest = data.digest
    name = settings.recommender_model_name if request.register else None

    started = time.perf_counter()
    progress("log", 0, 1)
    with tracking.translated("log the training run"), mlflow.start_run(
        experiment_id=experiment_id, run_name=f"{request.model}-{request.split}"
    ) as run:
        run_id = run.info.run_id
        params = {"model": request.model, "split": request.split,
                  "test_fraction": request.test_fraction, "k": request.k, "seed": settings.seed,
                  "n_users": len(model.user_ids), "n_items": model.n_items,
                  **model.engine.params}
        now_ms = int(time.time() * 1000)
        metric_values = {**evaluation.metrics, **seconds, "evaluated_users": evaluation.users,
                         **{f"{BASELINE}_{key}": value for key, value in baseline.metrics.items()}}
        client.log_batch(
            run_id,
            metrics=[Metric(key, float(value), now_ms, 0) for key, value in metric_values.items()]
            + _curve_metrics("", evaluation.curve, now_ms)
            + _curve_metrics(f"{BASELINE}_", baseline.curve, now_ms),
            params=[mlflow.entities.Param(key, str(value)) for key, value in params.items()],
            tags=[mlflow.entities.RunTag("dataset_digest", digest)],
        )
        log_dataset_input(data)
        figure = plots.metric_curves(
            {request.model: evaluation.curve, BASELINE: baseline.curve},
            f"{data.name}: {request.model} vs {BASELINE} ({request.split} holdout)",
        )
        mlflow.log_figure(figure, "plots/metrics_at_k.png")
        plots.close(figure)
        info = log_recommender(model, registered_model_name=name)
    seconds["log_seconds"] = time.perf_counter() - started
    progress("log", 1, 1)

    version = champion = None
    if name is not None:
        version = tag_version(client, name, info, digest)
        champion = registry.alias_version(client, name, CHAMPION_ALIAS)
        if champion is None:
            registry.set_alias(client, name, CHAMPION_ALIAS, version)
            champion = version
    logger.info("run %s: %s", run_id, evaluation.metrics)
    return TrainResult(
        run_id=run_id, model_uri=f"runs:/{run_id}/model", registered_name=name,
        version=version, champion_version=champion, evaluation=evaluation, baseline=baseline,
        dataset_digest=digest, seconds=seconds, model=model,
    )
