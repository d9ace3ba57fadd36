"""The classifier family: Titanic survival, logged as an sklearn pipeline."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlworkbench.families.family import Family

if TYPE_CHECKING:
    from mlworkbench.monitoring.service import Monitor
    from mlworkbench.serving.family import ServedFamily
    from mlworkbench.training.family import Trainer


def _trainer() -> Trainer:
    from mlworkbench.training.classifier import CLASSIFIER as TRAINER

    return TRAINER


def _served() -> ServedFamily:
    from mlworkbench.serving.classifier import SERVED

    return SERVED


def _monitor() -> Monitor:
    from mlworkbench.monitoring.run_classifier import monitor_classifier

    return monitor_classifier


# no shadow evidence: nothing online says later whether a passenger survived
CLASSIFIER = Family(
    name="classifier", flavor="sklearn",
    port=lambda settings: settings.classifier_port, port_setting="MLWB_CLASSIFIER_PORT",
    data_kind="passengers",
    load_trainer=_trainer, load_served=_served, load_monitor=_monitor)
