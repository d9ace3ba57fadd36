"""Model references (``models:/name@alias``, ``models:/name/3``, ``runs:/id/model``, a path)
resolved against the registry into what the service reports about the model it serves."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from mlflow.tracking import MlflowClient

from mlworkbench.errors import InvalidParameterError, MlwbError
from mlworkbench.tracking.client import translated

logger = logging.getLogger(__name__)

_ALIAS = re.compile(r"^models:/(?P<name>[^/@]+)@(?P<alias>[^/@]+)/?$")
_VERSION = re.compile(r"^models:/(?P<name>[^/@]+)/(?P<version>\d+)/?$")
_RUN = re.compile(r"^runs:/(?P<run_id>[^/]+)/.+$")


@dataclass(frozen=True)
class Reference:
    """What a model reference names, once resolved: load ``load_uri`` to get exactly it."""

    uri: str
    load_uri: str
    name: str
    version: int | None = None
    alias: str | None = None
    run_id: str | None = None

    @property
    def follows_alias(self) -> bool:
        return self.alias is not None


@dataclass(frozen=True)
class Provenance:
    """How the model was made: its run's scalar metrics and the training data's digest."""

    metrics: dict[str, float] = field(default_factory=dict)
    dataset_digest: str | None = None


def resolve(client: MlflowClient, uri: str) -> Reference:
    """Pin ``uri`` to one model version (an alias is read now, so a later move cannot mix)."""
    if not isinstance(uri, str) or not uri.strip():
        raise InvalidParameterError("MODEL", "mlwb serve", "an MLflow model reference", uri)
    if match := _ALIAS.match(uri):
        name, alias = match["name"], match["alias"]
        with translated(f"resolve {uri!r}"):
            mv = client.get_model_version_by_alias(name, alias)
        return Reference(uri, f"models:/{name}/{mv.version}", name, int(mv.version), alias,
                         mv.run_id)
    if match := _VERSION.match(uri):
        name, version = match["name"], int(match["version"])
        with translated(f"resolve {uri!r}"):
            mv = client.get_model_version(name, str(version))
        return Reference(uri, uri, name, version, None, mv.run_id)
    if uri.startswith("models:/"):
        return Reference(uri, uri, uri.removeprefix("models:/"))
    run_id = match["run_id"] if (match := _RUN.match(uri)) else None
    return Reference(uri, uri, uri, run_id=run_id)


def registered_as(client: MlflowClient, reference: Reference, run_id: str | None) -> Reference:
    """A run or path reference named by the registered version made from the same run, if any."""
    if reference.version is not None or not run_id:
        return reference
    try:
        with translated(f"look up the registered versions of run {run_id}"):
            versions = client.search_model_versions(f"run_id = '{run_id}'")
    except MlwbError as exc:
        logger.warning("%s", exc)
        versions = []
    if versions:
        mv = max(versions, key=lambda v: int(v.version))
        return Reference(reference.uri, reference.load_uri, mv.name, int(mv.version), None, run_id)
    return Reference(reference.uri, reference.load_uri, reference.name, None, None, run_id)


def provenance(client: MlflowClient, run_id: str | None) -> Provenance:
    """Scalar metrics (curves left out) and dataset digest of ``run_id``; empty when unknown."""
    if not run_id:
        return Provenance()
    try:
        with translated(f"read run {run_id}"):
            run: Any = client.get_run(run_id)
    except MlwbError as exc:  # a model copied out of its workspace still serves
        logger.warning("%s", exc)
        return Provenance()
    metrics = {key: value for key, value in run.data.metrics.items() if not key.endswith("_at_k")}
    return Provenance(dict(sorted(metrics.items())), run.data.tags.get("dataset_digest"))
