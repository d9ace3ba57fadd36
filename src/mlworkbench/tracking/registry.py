"""Registry reads and alias moves, in terms the CLI and the API can print."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlflow.tracking import MlflowClient

from mlworkbench.errors import ModelNotFoundError
from mlworkbench.tracking.client import translated

KEY_METRIC = "precision_at_10"


@dataclass(frozen=True)
class VersionInfo:
    name: str
    version: int
    aliases: tuple[str, ...]
    run_id: str
    key_metric: str
    key_value: float | None
    source: str
    created_ms: int


def list_versions(client: MlflowClient, name: str | None = None) -> list[VersionInfo]:
    """Every version of ``name`` (or of every registered model), newest first per model."""
    rows: list[VersionInfo] = []
    with translated("list registered models"):
        names = [name] if name else [m.name for m in client.search_registered_models()]
        for model_name in names:
            versions = client.search_model_versions(f"name = '{model_name}'")
            aliases = _aliases_by_version(client, model_name)
            for mv in sorted(versions, key=lambda v: int(v.version), reverse=True):
                run = client.get_run(mv.run_id) if mv.run_id else None
                rows.append(_version_info(client, model_name, mv, aliases, run))
    return rows


def _version_info(client: MlflowClient, name: str, mv: Any, aliases: dict[int, list[str]],
                  run: Any) -> VersionInfo:
    metric = mv.tags.get("key_metric", KEY_METRIC)
    return VersionInfo(
        name=name,
        version=int(mv.version),
        aliases=tuple(sorted(aliases.get(int(mv.version), ()))),
        run_id=mv.run_id or "",
        key_metric=metric,
        key_value=run.data.metrics.get(metric) if run else None,
        source=_storage_location(client, mv.source),
        created_ms=int(mv.creation_timestamp or 0),
    )


def _aliases_by_version(client: MlflowClient, name: str) -> dict[int, list[str]]:
    by_version: dict[int, list[str]] = {}
    for alias, version in (client.get_registered_model(name).aliases or {}).items():
        by_version.setdefault(int(version), []).append(alias)
    return by_version


def _storage_location(client: MlflowClient, source: str) -> str:
    """Where the model's files really are (``models:/m-...`` sources name a logged model)."""
    if source.startswith("models:/m-"):
        try:
            return client.get_logged_model(source.removeprefix("models:/")).artifact_location
        except Exception:  # an older server without logged models: keep MLflow's source
            return source
    return source


def alias_version(client: MlflowClient, name: str, alias: str) -> int | None:
    """The version ``alias`` points at, or None when the alias is not set."""
    with translated(f"read alias {alias!r} of {name!r}"):
        model = client.get_registered_model(name)
        aliases = getattr(model, "aliases", {}) or {}
        version = aliases.get(alias)
        return int(version) if version is not None else None


def set_alias(client: MlflowClient, name: str, alias: str, version: int) -> None:
    with translated(f"set alias {alias!r} of {name!r}"):
        client.set_registered_model_alias(name, alias, str(version))


@dataclass(frozen=True)
class VersionDetails:
    info: VersionInfo
    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]  # the version's tags (data digest, promotion.*)
    run_tags: dict[str, str]  # the training run's tags (data.schema_version, data.snapshot, ...)


def describe(client: MlflowClient, name: str, version: int | None = None) -> VersionDetails:
    """One version in full (the newest when ``version`` is None)."""
    with translated(f"describe {name!r}"):
        versions = client.search_model_versions(f"name = '{name}'")
        if not versions:
            raise ModelNotFoundError(f"model {name!r} has no versions")
        wanted = max(int(v.version) for v in versions) if version is None else version
        mv = next((v for v in versions if int(v.version) == wanted), None)
        if mv is None:
            raise ModelNotFoundError(f"model {name!r} has no version {version}")
        run = client.get_run(mv.run_id) if mv.run_id else None
        chosen = _version_info(client, name, mv, _aliases_by_version(client, name), run)
    params = dict(run.data.params) if run else {}
    metrics = {k: v for k, v in (run.data.metrics if run else {}).items()
               if not k.endswith("_at_k")}  # curves are histories; their last step misleads
    run_tags = {k: v for k, v in (run.data.tags if run else {}).items()
                if not k.startswith("mlflow.")}
    return VersionDetails(chosen, params, metrics, dict(mv.tags or {}), run_tags)


def promotion_history(client: MlflowClient, name: str) -> list[dict[str, str]]:
    """Every recorded gate decision on ``name``, oldest first."""
    history = []
    with translated(f"read the promotion history of {name!r}"):
        for mv in client.search_model_versions(f"name = '{name}'"):
            tags = {k.removeprefix("promotion."): v for k, v in (mv.tags or {}).items()
                    if k.startswith("promotion.")}
            if tags:
                history.append({"version": str(mv.version), **tags})
    return sorted(history, key=lambda row: row.get("decided_at", ""))
