"""The model families the workbench knows, registered here and nowhere else.

A :class:`Family` is one object every layer asks: training, tuning and the gate use its
:attr:`trainer` (``training/``), the service its :attr:`served` part (``serving/``), the
stack its port. ``train``, ``tune``, ``promote``, ``serve``, ``models`` and ``mlwb up``
look a family up here (by name, by registered model, or by what a model reference holds)
instead of branching on a kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import mlflow

from mlworkbench.config import Settings
from mlworkbench.errors import InvalidParameterError, ModelNotFoundError
from mlworkbench.monitoring.run import Outcome
from mlworkbench.monitoring.run_classifier import monitor_classifier
from mlworkbench.monitoring.run_recommender import monitor_recommender
from mlworkbench.monitoring.service import Monitor
from mlworkbench.monitoring.shadow_evidence import ShadowEvidence, read_shadow_evidence
from mlworkbench.monitoring.windows import CurrentWindow
from mlworkbench.serving.classifier import SERVED as SERVED_CLASSIFIER
from mlworkbench.serving.family import ServedFamily
from mlworkbench.serving.recommender import SERVED as SERVED_RECOMMENDER
from mlworkbench.tracking.client import translated
from mlworkbench.training.classifier import CLASSIFIER
from mlworkbench.training.family import Trainer
from mlworkbench.training.recommender import RECOMMENDER


@dataclass(frozen=True)
class Family:
    name: str
    trainer: Trainer
    served: ServedFamily
    flavor: str  # the MLflow flavour its models are logged with
    port: Callable[[Settings], int]  # where `mlwb up` serves its champion
    port_setting: str
    monitor: Monitor  # one recorded monitoring run of its champion (the report it gets)
    data_kind: str  # the store's kind of rows it trains on (ingest_batches.kind)
    # how a challenger's shadow answers did online (settings, model name, version), when
    # anything online says whether an answer was right; None: nothing does
    shadow_evidence: Callable[[Settings, str, int], ShadowEvidence] | None = None

    def model_name(self, settings: Settings) -> str:
        return self.trainer.model_name(settings)


FAMILIES: dict[str, Family] = {
    family.name: family for family in (
        Family("recommender", RECOMMENDER, SERVED_RECOMMENDER, "python_function",
               lambda s: s.serve_port, "MLWB_SERVE_PORT", monitor_recommender,
               "interactions", read_shadow_evidence),
        Family("classifier", CLASSIFIER, SERVED_CLASSIFIER, "sklearn",
               lambda s: s.classifier_port, "MLWB_CLASSIFIER_PORT", monitor_classifier,
               "passengers"),
    )
}


def get(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise InvalidParameterError("family", "mlworkbench", f"one of {sorted(FAMILIES)}",
                                    name) from None


def for_model(settings: Settings, model_name: str) -> Family:
    """The family whose runs register ``model_name``."""
    for family in FAMILIES.values():
        if family.model_name(settings) == model_name:
            return family
    known = ", ".join(f"{f.model_name(settings)} ({f.name})" for f in FAMILIES.values())
    raise ModelNotFoundError(f"no model family registers {model_name!r}; known: {known}")


def of_reference(settings: Settings, uri: str) -> Family:
    """The family of the model ``uri`` names: by its registered name, else by its flavours."""
    if uri.startswith("models:/"):
        name = uri.removeprefix("models:/").split("@")[0].split("/")[0]
        for family in FAMILIES.values():
            if family.model_name(settings) == name:
                return family
    with translated(f"read the model {uri!r}"):
        flavors = mlflow.models.get_model_info(uri).flavors
    # the most specific flavour wins: every model also has the generic python_function one
    matches = sorted((f for f in FAMILIES.values() if f.flavor in flavors),
                     key=lambda f: f.flavor == "python_function")
    if not matches:
        raise ModelNotFoundError(f"model {uri!r} belongs to no model family (flavours: "
                                 f"{', '.join(flavors)})")
    return matches[0]


def monitor(settings: Settings, model_name: str | None = None,
            window: CurrentWindow | None = None, k: int = 10) -> Outcome:
    """One monitoring run for ``model_name``'s champion (default: the recommender), recorded,
    with the report its family defines."""
    family = for_model(settings, model_name) if model_name else get("recommender")
    return family.monitor(settings, model_name, window, k)
