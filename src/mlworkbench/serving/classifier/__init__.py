"""The classifier family's service: GET/POST /predict, per-version pieces and log table."""

from __future__ import annotations

from typing import Any

from mlworkbench.models.pyfunc_classifier import classifier_of
from mlworkbench.serving.classifier import routes
from mlworkbench.serving.classifier.scorer import Scorer
from mlworkbench.serving.family import ServedFamily


def _features(model: Any) -> list[str]:
    """The columns the pipeline was fitted on (embarked only if its data had it)."""
    return list(model.steps[0][1].columns_)


def _scorer(model: Any, _name: str = "", _version: int | None = None) -> Scorer:
    return Scorer(model)


def _describe(model: Any) -> dict[str, object]:
    return {"estimator": type(model.steps[-1][1]).__name__, "features": _features(model)}


SERVED = ServedFamily(
    name="classifier", title="mlworkbench classifier",
    description=("Titanic survival as a service: `GET /predict?pclass=1&sex=female&age=29` "
                 "(the seed's parameters, `class` included) or a batch by `POST /predict`."),
    log_table="classifier_predictions", routers=(routes.router,), unwrap=classifier_of,
    prepare=_scorer, describe=_describe, lanes=routes.LANES,
)
