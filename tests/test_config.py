from __future__ import annotations

import pytest

from mlworkbench.config import get_settings
from mlworkbench.errors import ConfigError


def test_embedded_default_uses_sqlite_and_local_artifacts(workspace) -> None:
    assert workspace.resolved_tracking_uri == f"sqlite:///{workspace.home / 'mlflow.db'}"
    assert workspace.artifact_location == (workspace.home / "artifacts").as_uri()
    assert workspace.home.is_absolute()


def test_mlwb_tracking_uri_wins_over_mlflow_variable(workspace, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5999")
    get_settings.cache_clear()
    assert get_settings().resolved_tracking_uri == "http://127.0.0.1:5999"
    assert get_settings().artifact_location is None  # the server decides
    monkeypatch.setenv("MLWB_TRACKING_URI", "http://127.0.0.1:5000")
    get_settings.cache_clear()
    assert get_settings().resolved_tracking_uri == "http://127.0.0.1:5000"


def test_bad_setting_is_one_clear_error(workspace, monkeypatch) -> None:
    monkeypatch.setenv("MLWB_FIT_THREADS", "zero")
    get_settings.cache_clear()
    with pytest.raises(ConfigError, match="MLWB_FIT_THREADS"):
        get_settings()


@pytest.mark.parametrize("share", ["1.5", "-0.1", "half"])
def test_shadow_share_is_a_fraction(workspace, monkeypatch, share) -> None:
    monkeypatch.setenv("MLWB_SHADOW_SHARE", share)
    get_settings.cache_clear()
    with pytest.raises(ConfigError, match="MLWB_SHADOW_SHARE"):
        get_settings()
    monkeypatch.setenv("MLWB_SHADOW_SHARE", "0.25")
    get_settings.cache_clear()
    assert get_settings().shadow_share == 0.25
