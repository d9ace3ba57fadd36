"""Steps 2 and 3: snapshot the data the retrain reads (and name the champion's reference),
then retrain with the champion's choices — or a small grid when one is given — and register
the result as ``challenger``."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from mlworkbench import families
from mlworkbench.config import CHALLENGER_ALIAS, Settings
from mlworkbench.data.ingest import open_store
from mlworkbench.pipelines import champion as champions
from mlworkbench.tracking import client as tracking
from mlworkbench.tracking import registry
from mlworkbench.training.train import TrainRequest, train
from mlworkbench.training.tune import TuneRequest, tune


def _stamp(family: str) -> str:
    return (f"ct-{family}-{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%S')}-"
            f"{uuid.uuid4().hex[:4]}")


def snapshot(settings: Settings, family: str, check_result: dict[str, Any]) -> dict[str, Any]:
    """Freeze the latest validated data as a named snapshot (what the retrain reads and its run
    names), and the champion's training data as another (the gate's reference window)."""
    part = families.get(family)
    latest = part.trainer.load_data(settings)
    name = _stamp(family)
    ids = tuple(latest.batch_ids)  # type: ignore[attr-defined]
    schema = latest.schema_version  # type: ignore[attr-defined]
    reference = None
    best = check_result.get("champion")
    with open_store(settings) as store:
        store.save_batch_ids(name, ids, latest.digest, schema)
        if best is not None:
            if best.get("snapshot") and best["snapshot"] != "latest":
                reference = best["snapshot"]
            else:
                info = champions.current(settings, part)
                if info is not None and info.version == best["version"]:
                    reference = f"{name}-reference"
                    store.save_batch_ids(reference, info.batch_ids,
                                         best.get("dataset_digest") or "", schema)
    return {"snapshot": name, "batches": latest.batch_label,  # type: ignore[attr-defined]
            "rows": len(latest.frame), "digest": latest.digest, "reference": reference}


def retrain(settings: Settings, family: str, snapshot_result: dict[str, Any],
            check_result: dict[str, Any] | None = None,
            grid: dict[str, list[Any]] | None = None,
            params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train on the snapshot with the champion's model kind and hyperparameters (``params``
    overrides some; its ``model`` key another kind), or tune over ``grid``; the new version becomes ``challenger`` (or, for
    a model without versions, its first champion)."""
    part = families.get(family)
    trainer = part.trainer
    best = champions.current(settings, part)
    kind, hyper, split = (champions.training_choices(part, best.params) if best is not None
                          else (trainer.default_model, {}, "random"))
    overrides = dict(params or {})
    if overrides.get("model", kind) != kind:  # another model kind: none of the champion's values
        kind, hyper = str(overrides["model"]), {}
    overrides.pop("model", None)
    hyper = {**hyper, **overrides}
    data = trainer.load_data(settings, snapshot_result["snapshot"])
    name = part.model_name(settings)
    if grid:
        tuned = tune(trainer, TuneRequest(grid=grid, model=kind, split=split), settings,
                     data=data)
        version, run_id, metrics = tuned.version, tuned.parent_run_id, tuned.test_metrics
    else:
        result = train(trainer, TrainRequest(model=kind, params=hyper, split=split), settings,
                       data=data)
        version, run_id, metrics = result.version, result.run_id, result.metrics
        if best is not None and version is not None:
            registry.set_alias(tracking.configure(settings), name, CHALLENGER_ALIAS, version)
    return {"version": version, "run_id": run_id, "model": kind, "params": hyper,
            "split": split, "tuned": bool(grid), "first_version": best is None,
            "metrics": {key: float(value) for key, value in metrics.items()}}
