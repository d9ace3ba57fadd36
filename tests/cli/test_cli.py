"""The CLI as users meet it: tables on success, one `Error:` line and exit != 0 on bad input."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mlworkbench.cli.main import run


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "code", "expected"),
    [
        (["train", "recommender", "--model", "svd"], 1,
         "'model' of the recommender must be one of"),
        (["train", "recommender", "--k", "0"], 1, "'k' of a recommendation request"),
        (["train", "recommender", "--factors", "many"], 2, "Invalid value for '--factors'"),
        (["train", "recommender", "--model", "bpr", "--alpha", "3"], 1, "received 'alpha'"),
        (["train", "recommender", "--split", "future"], 1, "'split' of training"),
        (["recommend", "--user", "1", "--k", "-5"], 1, "'k' of a recommendation request"),
        (["recommend", "--user", "1", "--model", "models:/nothing@champion"], 1,
         "cannot load model 'models:/nothing@champion'"),
        (["recommend"], 2, "Missing option '--user'"),
        (["no-such-command"], 2, "No such command"),
    ],
)
def test_bad_input_is_one_line_and_nonzero(workspace, capsys, argv, code, expected) -> None:
    assert run(argv) == code
    assert expected in _one_error_line(capsys.readouterr().err)


def test_unreachable_tracking_server_is_one_line(workspace, capsys, monkeypatch) -> None:
    monkeypatch.setenv("MLWB_TRACKING_URI", "http://127.0.0.1:9")
    from mlworkbench.config import get_settings

    get_settings.cache_clear()
    assert run(["models", "list"]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert "cannot reach the MLflow tracking server at http://127.0.0.1:9" in line


def test_train_list_recommend_end_to_end(workspace, capsys) -> None:
    assert run(["train", "recommender", "--iterations", "5"]) == 0
    out = capsys.readouterr().out
    assert "precision_at_10" in out and "popularity" in out
    assert "movielens-recommender version 1 (champion)" in out

    assert run(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert "movielens-recommender" in out and "champion" in out and "precision_at_10=" in out
    assert (workspace.home / "artifacts").as_uri() in out

    assert run(["recommend", "--user", "42", "--user", "99999", "--k", "3"]) == 0
    out = capsys.readouterr().out
    assert "user 42" in out
    assert "user 99999: unknown user, popular items (fallback)" in out
    assert "Forrest Gump" in out  # the most-rated movie heads the fallback list


def test_installed_entry_point_exits_nonzero_without_traceback(tmp_path) -> None:
    env = {**os.environ, "MLWB_HOME": str(tmp_path)}
    mlwb = os.path.join(os.path.dirname(sys.executable), "mlwb")
    done = subprocess.run([mlwb, "train", "recommender", "--model", "svd"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stdout == ""
    _one_error_line(done.stderr)


def test_train_on_a_named_snapshot(workspace, capsys) -> None:
    from mlworkbench.tracking.client import configure

    assert run(["data", "ingest", "--dataset", "movielens"]) == 0
    assert run(["data", "snapshot", "frozen"]) == 0
    capsys.readouterr()
    assert run(["train", "recommender", "--snapshot", "frozen", "--iterations", "2",
                "--no-register"]) == 0
    run_id = capsys.readouterr().out.split("run      ")[1].split()[0]
    assert configure(workspace).get_run(run_id).data.tags["data.snapshot"] == "frozen"
    assert run(["train", "recommender", "--snapshot", "missing"]) == 1
    assert "no snapshot named 'missing'" in capsys.readouterr().err


def test_one_snapshot_freezes_ratings_and_passengers_and_the_classifier_trains_on_it(
        workspace, capsys) -> None:
    from mlworkbench.data.ingest import conform_passengers, open_store
    from mlworkbench.tracking.client import configure

    assert run(["data", "ingest", "--dataset", "movielens"]) == 0
    assert run(["data", "ingest", "--dataset", "titanic"]) == 0
    capsys.readouterr()
    assert run(["data", "snapshot", "both"]) == 0
    printed = capsys.readouterr().out
    assert "ratings" in printed and "1,309 labelled passengers" in printed
    with open_store(workspace) as store:
        later = conform_passengers(store.passenger_snapshot().passengers.head(50))
        store.ingest("passengers", later, source="later", stage="production", force=True)
        assert len(store.passenger_snapshot().passengers) == 1359
        assert len(store.passenger_snapshot("both").passengers) == 1309
        assert store.snapshot("both").batch_ids == store.snapshot().batch_ids
    assert run(["train", "classifier", "--snapshot", "both", "--no-register"]) == 0
    run_id = capsys.readouterr().out.split("run      ")[1].split()[0]
    tags = configure(workspace).get_run(run_id).data.tags
    assert tags["data.snapshot"] == "both"
