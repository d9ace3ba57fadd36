"""``mlwb data ...`` and ``mlwb simulate`` end to end, in an embedded workspace."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from mlworkbench.cli.main import run
from mlworkbench.config import get_settings
from mlworkbench.data import schema
from mlworkbench.data.ingest import open_store


def _error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("Error: ")
    return lines[0]


def test_ingest_movielens_then_again_is_skipped(workspace, capsys) -> None:
    assert run(["data", "ingest", "--dataset", "movielens"]) == 0
    out = capsys.readouterr().out
    assert "interactions: batch 2 accepted 100,004 rejected 0 of 100,004" in out
    assert run(["data", "ingest", "--dataset", "movielens"]) == 0
    assert "skipped (use --force" in capsys.readouterr().out
    assert run(["data", "ingest", "--dataset", "movielens", "--force"]) == 1
    assert ("all 100004 rows were rejected; they are in quarantine as batch 4"
            in capsys.readouterr().err)  # forced, but every event is stored already


def test_simulated_production_file_goes_to_quarantine_in_part(workspace, capsys,
                                                              tmp_path) -> None:
    assert run(["data", "ingest", "--dataset", "movielens"]) == 0
    out_dir = tmp_path / "sim"
    # new users: MovieLens's own production rows are in the store already (repeats)
    assert run(["simulate", "--out", str(out_dir), "--batches", "1", "--batch-size", "200",
                "--schema-violations", "0.2", "--new-users", "1.0", "--format", "parquet"]) == 0
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "production-0001.parquet", "testing.parquet", "training.parquet"]
    capsys.readouterr()
    code = run(["data", "ingest", str(out_dir / "production-0001.parquet"),
                "--stage", "production"])
    out = capsys.readouterr().out
    assert code == 0 and "rejected rows are in quarantine: `mlwb data quarantine --batch 3`" in out
    with open_store(workspace) as store:
        batch = store.batch(3)
        assert batch is not None and batch.rejected > 0 and batch.stage == "production"
    assert run(["data", "quarantine", "--batch", "3"]) == 0
    assert "quarantine (" in capsys.readouterr().out
    assert run(["data", "snapshot", "before-drift"]) == 0
    assert "snapshot 'before-drift': batches 2-3" in capsys.readouterr().out


@pytest.mark.parametrize(("content", "expected"), [
    ("user_id,item_id,rating,title\n1,31,4.0,x\n", "unknown column(s) title and missing "
                                                     "column(s) timestamp"),
    ("user_id,item_id,rating,timestamp\n1,31,9.0,5\n", "all 1 rows were rejected"),
    ("\"unclosed\n", "EOF inside string"),
])
def test_bad_files_are_one_line_errors(workspace, capsys, tmp_path, content, expected) -> None:
    assert run(["data", "ingest", "--dataset", "movielens"]) == 0
    path = tmp_path / "bad.csv"
    path.write_text(content)
    capsys.readouterr()
    assert run(["data", "ingest", str(path)]) == 1
    assert expected in _error_line(capsys.readouterr().err)


@pytest.mark.parametrize(("argv", "expected"), [
    (["data", "ingest", "nope.csv"], "cannot read nope.csv: no such file"),
    (["data", "ingest", "ratings.json"], "expected a .csv or .parquet file"),
    (["data", "ingest"], "give either a FILE or --dataset"),
    (["data", "ingest", "--dataset", "iris"], "unknown data set 'iris'"),
    (["data", "fill", "--every", "soon"], "parameter 'every' of data fill"),
    (["simulate", "--new-users", "2"], "parameter 'new_users' of the drift"),
])
def test_bad_arguments_are_one_line_errors(workspace, capsys, argv, expected) -> None:
    assert run(argv) != 0
    assert expected in _error_line(capsys.readouterr().err)


def test_schema_command_writes_the_versioned_document(workspace, capsys, tmp_path) -> None:
    assert run(["data", "schema", "--out", str(tmp_path / "s.json")]) == 0
    assert json.loads((tmp_path / "s.json").read_text())["version"] == schema.SCHEMA_VERSION


def test_fill_cli_writes_batches(workspace, capsys) -> None:
    assert run(["data", "fill", "--every", "0", "--batches", "2", "--batch-size", "50"]) == 0
    assert "2 production batch(es) written" in capsys.readouterr().out
    with open_store(workspace) as store:
        counts = pd.Series([b.accepted for b in store.batches("interactions")])
    assert counts.sum() == 100


def test_an_unreachable_store_is_one_line_without_the_password(workspace, capsys,
                                                                monkeypatch) -> None:
    monkeypatch.setenv("MLWB_DATABASE_URL", "postgresql://mlwb:secret@127.0.0.1:1/mlwb")
    get_settings.cache_clear()
    assert run(["data", "batches"]) == 1
    line = _error_line(capsys.readouterr().err)
    assert "cannot open the data store postgresql+psycopg2://mlwb:***@127.0.0.1:1/mlwb" in line
    assert "secret" not in line
