"""What the serving core asks of a model family: how to load and prepare a version, its
routes, what ``/model`` adds, and which prediction-log table its rows go to.

The core (holder, reference, errors, metrics, prediction log, admin, the MLflow scoring
protocol) is written once; each family's package (``serving/recommender``,
``serving/classifier``) implements :class:`ServedFamily` and nothing else of the core.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from fastapi import APIRouter


class ServedFamily(Protocol):
    name: str  # the family: recommender | classifier
    title: str  # the OpenAPI title
    description: str  # the OpenAPI description (markdown)
    log_table: str  # the store table its prediction-log rows go to

    @property
    def routers(self) -> Sequence[APIRouter]:
        """The family's own routes, added beside the core's."""

    def load(self, uri: str) -> tuple[Any, Any]:
        """The family's model object and the MLflow pyfunc it came from; DataError when the
        reference holds a model of another family."""

    def prepare(self, model: Any, name: str, version: int | None) -> Any:
        """Per-version pieces answers reuse (pre-serialised JSON, lookups); None if none."""

    def describe(self, model: Any) -> dict[str, Any]:
        """What ``/model`` says of this family's model besides name, version and metrics."""
