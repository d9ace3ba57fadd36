"""What the serving core asks of a model family: how to unwrap and prepare a loaded version,
its routes, what ``/model`` adds, and which prediction-log table its rows go to.

The core (holder, reference, errors, metrics, prediction log, admin, the MLflow scoring
protocol) is written once; each family's package (``serving/recommender``,
``serving/classifier``) builds one :class:`ServedFamily` and nothing else of the core.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter

from mlworkbench.models.pyfunc import load_pyfunc
from mlworkbench.serving.fast_lane import Lane


@dataclass(frozen=True)
class ServedFamily:
    name: str  # the family: recommender | classifier
    title: str  # the OpenAPI title
    description: str  # the OpenAPI description (markdown)
    log_table: str  # the store table its prediction-log rows go to
    routers: tuple[APIRouter, ...]  # its own routes, added beside the core's
    unwrap: Callable[[Any, str], Any]  # (pyfunc, uri) -> its model; DataError if not its own
    prepare: Callable[[Any, str, int | None], Any]  # per-version pieces answers reuse
    describe: Callable[[Any], dict[str, Any]]  # what /model says besides name and metrics
    lanes: tuple[Lane, ...] = ()  # hot routes answered ahead of FastAPI (serving.fast_lane)

    def load(self, uri: str) -> tuple[Any, Any]:
        """The family's model object behind ``uri`` and the MLflow pyfunc it came from."""
        pyfunc = load_pyfunc(uri)
        return self.unwrap(pyfunc, uri), pyfunc
