"""One model family as every layer sees it: plain facts, and heavy parts loaded on first use.

Its facts (name, flavour, port, data kind, registered model name) are values: a process that
asks only those (an Airflow task with nothing to do, ``mlwb pipeline list``, ``mlwb up``)
imports neither MLflow nor scikit-learn nor Evidently for them. Its parts (the trainer, the
served routes, the monitoring run, the shadow evidence reader) are each imported the first
time something asks for that part (:func:`part`, named in the family's own module,
``families/recommender.py``, ``families/classifier.py``): serving a model never imports its
training or monitoring code. ``tests/test_architecture.py`` reads the modules named in
``part(...)`` as imports, so the layers' direction holds for them too.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlworkbench.config import Settings

if TYPE_CHECKING:
    from mlworkbench.monitoring.service import Monitor
    from mlworkbench.monitoring.shadow_evidence import ShadowEvidence
    from mlworkbench.serving.family import ServedFamily
    from mlworkbench.training.family import Trainer

    ShadowEvidenceReader = Callable[[Settings, str, int], ShadowEvidence]


def part(module: str, name: str) -> Callable[[], Any]:
    """A loader of ``module``'s ``name``: the module is imported when the part is first asked
    for (then Python's module cache answers)."""

    def load() -> Any:
        return getattr(importlib.import_module(module), name)

    return load


@dataclass(frozen=True)
class Family:
    name: str
    flavor: str  # the MLflow flavour its models are logged with
    port: Callable[[Settings], int]  # where `mlwb up` serves its champion
    port_setting: str
    data_kind: str  # the store's kind of rows it trains on (ingest_batches.kind)
    # its parts, each imported by its loader when first asked for
    load_trainer: Callable[[], Trainer] = field(repr=False)
    load_served: Callable[[], ServedFamily] = field(repr=False)
    load_monitor: Callable[[], Monitor] = field(repr=False)
    # how a challenger's shadow answers did online, when anything online says whether an
    # answer was right; None: nothing does
    load_shadow_evidence: Callable[[], ShadowEvidenceReader] | None = field(
        default=None, repr=False)

    def model_name(self, settings: Settings) -> str:
        """The registered model its runs become versions of."""
        return settings.registered_model_name(self.name)

    @property
    def trainer(self) -> Trainer:
        """What training, tuning and the gate ask of it (``training/``)."""
        return self.load_trainer()

    @property
    def served(self) -> ServedFamily:
        """Its routes and schemas as the serving core mounts them (``serving/``)."""
        return self.load_served()

    @property
    def monitor(self) -> Monitor:
        """One recorded monitoring run of its champion, with the report it gets."""
        return self.load_monitor()

    @property
    def shadow_evidence(self) -> ShadowEvidenceReader | None:
        """The reader of a shadowed challenger's online evidence (settings, model name,
        version), or None when nothing online says whether an answer was right."""
        return None if self.load_shadow_evidence is None else self.load_shadow_evidence()
