"""`mlwb up` publishes the stack's URIs to the workspace; settings read them unless overridden."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mlworkbench.config import STACK_FILE, get_settings
from mlworkbench.errors import PortInUseError
from mlworkbench.platform.processes import check_ports_free, port_free


def _publish(settings, **values) -> None:
    path = settings.home / STACK_FILE
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(values))


def test_nothing_published_keeps_the_embedded_default(workspace) -> None:
    assert workspace.resolved_tracking_uri.startswith("sqlite:///")


def test_published_uris_become_the_workspace_default(workspace) -> None:
    _publish(workspace, tracking_uri="http://127.0.0.1:5999", mlflow_port=5999)
    get_settings.cache_clear()
    settings = get_settings()
    assert settings.resolved_tracking_uri == "http://127.0.0.1:5999"
    assert settings.mlflow_port == 5999
    assert settings.artifact_location is None  # the server decides


def test_the_environment_beats_the_workspace_file(workspace, monkeypatch) -> None:
    _publish(workspace, tracking_uri="http://127.0.0.1:5999", mlflow_port=5999)
    monkeypatch.setenv("MLWB_MLFLOW_PORT", "6000")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://elsewhere:5000")
    get_settings.cache_clear()
    settings = get_settings()
    assert settings.mlflow_port == 6000
    assert settings.resolved_tracking_uri == "http://elsewhere:5000"


def test_an_unreadable_workspace_file_is_ignored(workspace) -> None:
    (workspace.home / STACK_FILE).parent.mkdir(parents=True)
    (workspace.home / STACK_FILE).write_text("{not json")
    get_settings.cache_clear()
    assert get_settings().resolved_tracking_uri.startswith("sqlite:///")


def test_a_taken_port_names_the_port_and_the_setting() -> None:
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert not port_free("127.0.0.1", port)
        with pytest.raises(PortInUseError) as caught:
            check_ports_free("127.0.0.1", [(port, "MLflow server", "MLWB_MLFLOW_PORT")])
    message = str(caught.value)
    assert f"port {port} for MLflow server is already in use" in message
    assert "set MLWB_MLFLOW_PORT to a free port" in message


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands the server to `postgres`")
def test_a_workspace_the_postgres_user_cannot_enter_is_one_clear_error(tmp_path) -> None:
    from mlworkbench.config import Settings
    from mlworkbench.errors import StackError
    from mlworkbench.platform.stack_postgres import postgres_service

    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    settings = Settings(home=private / "ws")
    with pytest.raises(StackError, match=r"who cannot enter /\S+; set MLWB_HOME") as caught:
        postgres_service(settings, "password").service.before_start()
    blocked = Path(str(caught.value).split("cannot enter ")[1].split(";")[0])
    assert private == blocked or blocked in private.parents
