"""What the pipeline needs to know of a model's champion: version, run, data and params."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlworkbench.config import CHAMPION_ALIAS, Settings
from mlworkbench.data.ingest import open_store
from mlworkbench.families import Family
from mlworkbench.monitoring.windows import reference_batch_ids
from mlworkbench.tracking import client as tracking
from mlworkbench.tracking import registry


@dataclass(frozen=True)
class ChampionInfo:
    version: int
    run_id: str
    tags: dict[str, str]  # the training run's tags (data.snapshot, data.batches, ...)
    params: dict[str, str]
    batch_ids: tuple[int, ...]  # what it was trained on
    created_ms: int


def current(settings: Settings, family: Family) -> ChampionInfo | None:
    """The champion of ``family``'s model, or None when it has none yet."""
    client = tracking.configure(settings)
    name = family.model_name(settings)
    try:
        version = registry.alias_version(client, name, CHAMPION_ALIAS)
    except Exception:  # no registered model yet
        return None
    if version is None:
        return None
    with tracking.translated(f"read version {version} of {name!r}"):
        model_version = client.get_model_version(name, str(version))
        run = client.get_run(model_version.run_id)
    with open_store(settings) as store:
        batch_ids = reference_batch_ids(client, store.engine, model_version.run_id)
    return ChampionInfo(version, model_version.run_id, dict(run.data.tags),
                        dict(run.data.params), batch_ids,
                        int(model_version.creation_timestamp or 0))


def training_choices(family: Family, params: dict[str, str]) -> tuple[str, dict[str, Any],
                                                                      str]:
    """The model kind, hyperparameters and split a champion was trained with (its run's
    params, as strings), ready for a TrainRequest; anything not a hyperparameter is left."""
    trainer = family.trainer
    kind = params.get("model") or trainer.default_model
    known = trainer.validate_params(kind, {})
    chosen: dict[str, Any] = {key: params[key] for key in known if key in params}
    return kind, trainer.validate_params(kind, chosen), params.get("split", "random")


def as_dict(info: ChampionInfo | None) -> dict[str, Any] | None:
    if info is None:
        return None
    return {"version": info.version, "run_id": info.run_id,
            "snapshot": info.tags.get("data.snapshot"), "batches": info.tags.get("data.batches"),
            "dataset_digest": info.tags.get("dataset_digest")}
