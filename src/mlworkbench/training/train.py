"""One tracked training run of any model family: load -> fit + evaluate (model and baseline)
-> log -> register. The family does the machine learning; this module does the MLflow."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import mlflow
import pandas as pd
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient
from mlflow.types import ColSpec, Schema

from mlworkbench.config import Settings, get_settings
from mlworkbench.data.datasets import Dataset
from mlworkbench.data.schema import schema_document
from mlworkbench.models.pyfunc import ids_are_integers
from mlworkbench.tracking import client as tracking
from mlworkbench.training import gate, plots
from mlworkbench.training.family import Fitted, Progress, Trainer, TrainRequest

__all__ = ["TrainRequest", "TrainResult", "train"]
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainResult:
    run_id: str
    model_uri: str
    registered_name: str | None
    version: int | None
    champion_version: int | None
    fitted: Fitted
    dataset_digest: str

    @property
    def metrics(self) -> dict[str, float]:
        return self.fitted.metrics

    @property
    def baseline(self) -> dict[str, float]:
        return self.fitted.baseline

    @property
    def seconds(self) -> dict[str, float]:
        return self.fitted.seconds

    @property
    def model(self) -> Any:
        return self.fitted.model


def curve_metrics(prefix: str, curve: dict[str, list[float]], now_ms: int) -> list[Metric]:
    """A curve (metric -> values for steps 1..n) as MLflow metric steps ``<metric>_at_k``."""
    return [
        Metric(f"{prefix}{name}_at_k", value, now_ms, step)
        for name, values in curve.items()
        for step, value in enumerate(values, start=1)
    ]


def log_dataset_input(data: Dataset) -> None:
    """Log the data set as the active run's MLflow dataset input, named by its content digest."""
    with ids_are_integers():
        dataset = mlflow.data.from_pandas(data.frame, name=data.name, digest=data.digest)
        dataset.__dict__["schema"] = frame_schema(data.frame)  # fills its cached_property
        tags = data.tags()
        mlflow.log_input(dataset, context="training", tags=tags)
        mlflow.set_tags({f"data.{key}": value for key, value in tags.items()})
        mlflow.log_dict(schema_document(), "data/schema.json")


def frame_schema(frame: pd.DataFrame) -> Schema:
    """The schema MLflow infers for a logged pandas data set, with one vectorised null check per
    column: MLflow's own looks at every value in Python (9 s per million ratings)."""
    types = mlflow.data.from_pandas(frame.head(1000)).schema  # the types, from a sample
    return Schema([ColSpec(column.type, column.name, required=not frame[column.name].isna().any())
                   for column in types.inputs])


def tag_version(client: MlflowClient, trainer: Trainer, name: str, info: Any,
                digest: str) -> int:
    """The registered version of a just-logged model, tagged with key metric and data digest."""
    version = int(info.registered_model_version)
    with tracking.translated(f"tag version {version} of {name!r}"):
        client.set_model_version_tag(name, str(version), "key_metric", trainer.key_metric)
        client.set_model_version_tag(name, str(version), "dataset_digest", digest)
        client.set_model_version_tag(name, str(version), "family", trainer.name)
    return version


def _log_run(client: MlflowClient, run_id: str, trainer: Trainer, request: TrainRequest,
             settings: Settings, fitted: Fitted, data: Dataset) -> None:
    params = {"model": request.model, "split": request.split,
              "test_fraction": request.test_fraction, "k": request.k, "seed": settings.seed,
              **fitted.params}
    now_ms = int(time.time() * 1000)
    baseline = trainer.baseline
    values = {**fitted.metrics, **fitted.seconds, f"evaluated_{trainer.unit}": fitted.evaluated,
              **{f"{baseline}_{key}": value for key, value in fitted.baseline.items()}}
    curves = [metric for label, curve in fitted.curves.items()
              for metric in curve_metrics("" if label == request.model else f"{label}_",
                                          curve, now_ms)]
    client.log_batch(
        run_id,
        metrics=[Metric(key, float(value), now_ms, 0) for key, value in values.items()] + curves,
        params=[Param(key, str(value)) for key, value in params.items()],
        tags=[RunTag("dataset_digest", data.digest), RunTag("family", trainer.name)],
    )
    log_dataset_input(data)
    for path, figure in fitted.figures.items():
        mlflow.log_figure(figure, path)
        plots.close(figure)


def train(
    trainer: Trainer,
    request: TrainRequest | None = None,
    settings: Settings | None = None,
    progress: Progress | None = None,
    data: Dataset | None = None,
) -> TrainResult:
    """Run one tracked training run of ``trainer``'s family and (by default) register it."""
    request = (request or TrainRequest()).validated(trainer)
    settings = settings or get_settings()
    progress = progress or (lambda *_: None)
    client = tracking.configure(settings)
    experiment_id = tracking.ensure_experiment(client, settings)
    data = data or trainer.load_data(settings)
    fitted = trainer.fit_evaluate(request, data, settings, progress)
    name = trainer.model_name(settings) if request.register else None

    started = time.perf_counter()
    progress("log", 0, 1)
    with tracking.translated("log the training run"), mlflow.start_run(
        experiment_id=experiment_id, run_name=f"{request.model}-{request.split}"
    ) as run:
        run_id = run.info.run_id
        _log_run(client, run_id, trainer, request, settings, fitted, data)
        info = trainer.log_model(fitted.model, data, name)
    fitted.seconds["log_seconds"] = time.perf_counter() - started
    progress("log", 1, 1)

    version = champion = None
    if name is not None:
        version = tag_version(client, trainer, name, info, data.digest)
        champion = gate.first_champion(client, name, version)
    logger.info("run %s: %s", run_id, fitted.metrics)
    return TrainResult(run_id=run_id, model_uri=f"runs:/{run_id}/model", registered_name=name,
                       version=version, champion_version=champion, fitted=fitted,
                       dataset_digest=data.digest)
