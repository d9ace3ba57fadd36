"""`mlwb monitor run/list/report` end to end: the store, a trained champion, MLflow records,
the Evidently workspace, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest

from mlworkbench.cli.main import run as cli
from mlworkbench.data.ingest import open_store
from mlworkbench.data.simulator import Drift, Simulator
from mlworkbench.monitoring import records
from mlworkbench.training.recommender import RECOMMENDER
from mlworkbench.training.train import train

pytestmark = pytest.mark.slow


@pytest.fixture
def champion(workspace, movielens):
    """A champion trained on the simulator's training window; then a strongly drifted
    production batch arrives."""
    simulator = Simulator(movielens)
    with open_store(workspace) as store:
        store.ingest("items", movielens.items, source="movielens")
        store.ingest("interactions", simulator.window("training"), source="training")
    result = train(RECOMMENDER, settings=workspace)
    with open_store(workspace) as store:
        batch = store.ingest("interactions", simulator.production_batch(
            0, 1000, Drift(popularity_shift=0.5, new_users=0.3)), source="drifted",
            stage="production")
    return workspace, result, batch


def test_monitor_run_records_a_drift_verdict(champion, capsys, tmp_path) -> None:
    settings, trained, batch = champion
    assert cli(["monitor", "run", "--batch", str(batch.id)]) == 0
    printed = capsys.readouterr().out
    assert "verdict drift" in printed or "verdict quality drop" in printed
    assert "Value Drift for column item_popularity" in printed

    (record,) = records.list_runs(settings)
    assert (record.model_name, record.model_version) == ("movielens-recommender", "1")
    assert "item_popularity" in record.failed_tests
    run = mlflow.get_run(record.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["window.reference"] == f"run {trained.run_id}"
    assert run.data.metrics["input_drift_item_popularity"] > 1.2
    assert (settings.home / "evidently").is_dir()

    assert cli(["monitor", "list"]) == 0
    assert record.run_id in capsys.readouterr().out
    assert cli(["monitor", "report", record.run_id, "--out", str(tmp_path)]) == 0
    saved = Path(capsys.readouterr().out.strip())
    assert saved.parent == tmp_path and saved.name == "input.html"
    html = saved.read_text()
    assert "item_popularity" in html


def test_bad_windows_and_models_are_one_line(champion, capsys) -> None:
    assert cli(["monitor", "run", "--model", "no-such-model"]) == 1
    assert capsys.readouterr().err.startswith("Error: ")
    assert cli(["monitor", "run", "--batch", "9999"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: the current window (batches 9999) holds no production")
    assert len(err.strip().splitlines()) == 1
