"""The recommender family: implicit ALS/BPR (or popularity) on MovieLens interactions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlworkbench.families.family import Family

if TYPE_CHECKING:
    from mlworkbench.families.family import ShadowEvidenceReader
    from mlworkbench.monitoring.service import Monitor
    from mlworkbench.serving.family import ServedFamily
    from mlworkbench.training.family import Trainer


def _trainer() -> Trainer:
    from mlworkbench.training.recommender import RECOMMENDER as TRAINER

    return TRAINER


def _served() -> ServedFamily:
    from mlworkbench.serving.recommender import SERVED

    return SERVED


def _monitor() -> Monitor:
    from mlworkbench.monitoring.run_recommender import monitor_recommender

    return monitor_recommender


def _shadow_evidence() -> ShadowEvidenceReader:
    from mlworkbench.monitoring.shadow_evidence import read_shadow_evidence

    return read_shadow_evidence


RECOMMENDER = Family(
    name="recommender", flavor="python_function",
    port=lambda settings: settings.serve_port, port_setting="MLWB_SERVE_PORT",
    data_kind="interactions",
    load_trainer=_trainer, load_served=_served, load_monitor=_monitor,
    load_shadow_evidence=_shadow_evidence)
