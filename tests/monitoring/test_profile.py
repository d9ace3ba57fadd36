"""`mlwb data profile`: a data-summary report of a snapshot, logged to MLflow (on SQLite and on
PostgreSQL)."""

from __future__ import annotations

import mlflow
import pytest

from mlworkbench.cli.main import run as cli
from mlworkbench.monitoring.records import EXPERIMENT, list_runs


def test_profile_of_the_latest_data_is_logged(store_workspace, capsys, tmp_path) -> None:
    out = tmp_path / "profile.html"
    assert cli(["data", "profile", "--out", str(out)]) == 0  # an empty store gets MovieLens
    printed = capsys.readouterr().out
    run_id = printed.split("profile logged as run ")[1].split(",")[0].strip()
    run = mlflow.get_run(run_id)
    assert run.data.metrics["interactions"] == 100_004
    assert run.data.metrics["users"] == 671
    assert run.data.metrics["mean_rating"] == pytest.approx(3.5437, abs=1e-3)
    assert 0 < run.data.metrics["share_Drama"] < 1
    assert run.data.tags["kind"] == "profile"
    assert mlflow.get_experiment(run.info.experiment_id).name == EXPERIMENT
    assert "user_activity" in out.read_text()
    assert list_runs(store_workspace) == []  # a profile is not a monitoring verdict


def test_profile_of_an_unknown_snapshot_is_one_line(store_workspace, capsys) -> None:
    assert cli(["data", "profile", "--snapshot", "nope"]) == 1
    assert capsys.readouterr().err.startswith("Error: no snapshot named 'nope'")
