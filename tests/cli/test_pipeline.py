"""``mlwb pipeline``: bad input is one line and exit 1, before any work; an empty workspace
has no runs to list. (The runs themselves: tests/pipelines/test_continuous_*.)"""

from __future__ import annotations

from mlworkbench.cli.main import run


def test_a_bad_grid_is_one_line(workspace, capsys) -> None:
    assert run(["pipeline", "run", "--model", "classifier", "--grid", "[1, 2]"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: parameter 'grid' of pipeline run must be a JSON object of "
                          "lists") and err.count("\n") == 1


def test_an_unknown_model_names_the_known_ones(workspace, capsys) -> None:
    assert run(["pipeline", "run", "--model", "no-such-model"]) == 1
    err = capsys.readouterr().err
    assert "no model family registers 'no-such-model'" in err and "(classifier)" in err


def test_an_empty_workspace_lists_no_runs(workspace, capsys) -> None:
    assert run(["pipeline", "list"]) == 0
    assert "no pipeline runs yet" in capsys.readouterr().out
