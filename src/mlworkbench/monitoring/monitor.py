"""Which run a model gets: the classifier's report for the classifier, the recommender's else."""

from __future__ import annotations

from mlworkbench.config import Settings
from mlworkbench.monitoring.run import Outcome, monitor_recommender
from mlworkbench.monitoring.run_classifier import monitor_classifier
from mlworkbench.monitoring.windows import CurrentWindow


def monitor(settings: Settings, model_name: str | None = None,
            window: CurrentWindow | None = None, k: int = 10) -> Outcome:
    """One monitoring run for ``model_name`` (default: the recommender), recorded."""
    if model_name is not None and model_name == settings.classifier_model_name:
        return monitor_classifier(settings, model_name, window)
    return monitor_recommender(settings, model_name, window, k)
