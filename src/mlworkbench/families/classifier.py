"""The classifier family: Titanic survival, logged as an sklearn pipeline."""

from __future__ import annotations

from mlworkbench.families.family import Family, part

# no shadow evidence: nothing online says later whether a passenger survived
CLASSIFIER = Family(
    name="classifier", flavor="sklearn",
    port=lambda settings: settings.classifier_port, port_setting="MLWB_CLASSIFIER_PORT",
    data_kind="passengers",
    load_trainer=part("mlworkbench.training.classifier", "CLASSIFIER"),
    load_served=part("mlworkbench.serving.classifier", "SERVED"),
    load_monitor=part("mlworkbench.monitoring.run_classifier", "monitor_classifier"))
