"""MLflow's credentials come from the environment: the ones configure() sets follow the
server this process talks to now; the user's own always win."""

from __future__ import annotations

import os

from mlworkbench.tracking.client import configure


def _settings(workspace, password: str):
    return workspace.model_copy(update={"tracking_username": "admin",
                                        "tracking_password": password})


def test_credentials_set_for_one_server_are_replaced_for_the_next(workspace, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD", raising=False)
    configure(_settings(workspace, "first-stack"))
    assert os.environ["MLFLOW_TRACKING_PASSWORD"] == "first-stack"
    configure(_settings(workspace, "second-stack"))  # a stack started later in this process
    assert os.environ["MLFLOW_TRACKING_PASSWORD"] == "second-stack"


def test_the_users_own_credentials_win(workspace, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "someone")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "their-own")
    configure(_settings(workspace, "the-stack's"))
    assert os.environ["MLFLOW_TRACKING_PASSWORD"] == "their-own"
    assert os.environ["MLFLOW_TRACKING_USERNAME"] == "someone"
