"""The recommender family: implicit ALS/BPR (or popularity) on MovieLens interactions."""

from __future__ import annotations

from mlworkbench.families.family import Family, part

RECOMMENDER = Family(
    name="recommender", flavor="python_function",
    port=lambda settings: settings.serve_port, port_setting="MLWB_SERVE_PORT",
    data_kind="interactions",
    load_trainer=part("mlworkbench.training.recommender", "RECOMMENDER"),
    load_served=part("mlworkbench.serving.recommender", "SERVED"),
    load_monitor=part("mlworkbench.monitoring.run_recommender", "monitor_recommender"),
    load_shadow_evidence=part("mlworkbench.monitoring.shadow_evidence", "read_shadow_evidence"))
