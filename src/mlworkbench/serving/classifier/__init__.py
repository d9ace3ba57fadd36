"""The classifier family's service: GET/POST /predict, its loader and log rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter

from mlworkbench.models.pyfunc import load_pyfunc
from mlworkbench.models.pyfunc_classifier import classifier_of
from mlworkbench.serving.classifier import routes


class ClassifierService:
    """What the serving core asks of the classifier (see :class:`ServedFamily`)."""

    name = "classifier"
    title = "mlworkbench classifier"
    description = ("Titanic survival as a service: `GET /predict?pclass=1&sex=female&age=29` "
                   "(the seed's parameters, `class` included) or a batch by `POST /predict`.")
    log_table = "classifier_predictions"

    @property
    def routers(self) -> Sequence[APIRouter]:
        return (routes.router,)

    def load(self, uri: str) -> tuple[Any, Any]:
        pyfunc = load_pyfunc(uri)
        return classifier_of(pyfunc, uri), pyfunc

    def prepare(self, model: Any, name: str, version: int | None) -> list[str]:
        return list(model.steps[0][1].columns_)  # the features it was fitted on

    def describe(self, model: Any) -> dict[str, Any]:
        return {"estimator": type(model.steps[-1][1]).__name__,
                "features": list(model.steps[0][1].columns_)}


SERVED = ClassifierService()
