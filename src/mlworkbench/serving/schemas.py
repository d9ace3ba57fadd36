"""Response shapes every family's service shares (for the OpenAPI text; answers are
pre-serialised bytes, see :mod:`mlworkbench.serving.encoding`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class ModelRef(BaseModel):
    name: str
    version: int | None


class ModelInfo(BaseModel):
    """The served version; each family adds its own fields (the recommender: engine, users,
    items; the classifier: estimator, features)."""

    model_config = ConfigDict(extra="allow")

    name: str
    version: int | None
    alias: str | None
    run_id: str | None
    reference: str
    source: str
    family: str
    metrics: dict[str, float]
    dataset_digest: str | None
    loaded_at: str
    last_error: dict[str, Any] | None = None
    shadow: dict[str, Any] | None = None  # the challenger scoring in shadow and its counters


class ErrorResponse(BaseModel):
    detail: str
    field: str | None


class ReloadResponse(BaseModel):
    previous: ModelRef | None
    current: ModelRef
    version_changed: bool
