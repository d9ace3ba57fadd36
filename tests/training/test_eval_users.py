"""`--eval-users N`: a run scores a seeded sample of N test users, model and baseline alike,
and says so in its parameters; bad engines and counts are refused before any work."""

from __future__ import annotations

import pytest

from mlworkbench.cli.main import run
from mlworkbench.errors import InvalidParameterError
from mlworkbench.tracking.client import configure
from mlworkbench.training.evaluate import sample_users
from mlworkbench.training.recommender import RECOMMENDER
from mlworkbench.training.splits import split
from mlworkbench.training.train import TrainRequest, train


def test_a_sample_of_users_is_seeded_and_whole(movielens) -> None:
    test = split(movielens.ratings, "random", 0.2, 42).test
    sample = sample_users(test, 50, seed=1)
    assert sample["user_id"].nunique() == 50
    assert sample.equals(sample_users(test, 50, seed=1))
    for user in sample["user_id"].unique()[:5]:  # every held-out row of a chosen user
        assert (sample["user_id"] == user).sum() == (test["user_id"] == user).sum()
    assert sample_users(test, 10_000, seed=1) is test and sample_users(test, None, 1) is test


def test_the_run_evaluates_the_sample_and_logs_it(workspace, movielens) -> None:
    request = TrainRequest(model="als", params={"factors": 8, "iterations": 2,
                                                "eval_users": 60}, register=False)
    result = train(RECOMMENDER, request, settings=workspace, data=movielens)
    assert result.fitted.evaluated == 60
    params = configure(workspace).get_run(result.run_id).data.params
    assert params["eval_users"] == "60" and params["engine"] == "implicit"
    assert configure(workspace).get_run(result.run_id).data.metrics["evaluated_users"] == 60


@pytest.mark.parametrize("params, name", [({"eval_users": 0}, "eval_users"),
                                          ({"engine": "spark", "eval_users": 5}, None)])
def test_bad_counts_are_refused_and_good_ones_typed(params, name) -> None:
    if name:
        with pytest.raises(InvalidParameterError, match=f"'{name}'"):
            RECOMMENDER.validate_params("als", params)
    else:
        typed = RECOMMENDER.validate_params("als", params)
        assert typed["engine"] == "spark" and typed["eval_users"] == 5


def test_an_engine_that_cannot_train_the_model_is_one_cli_line(workspace, capsys) -> None:
    assert run(["train", "recommender", "--model", "bpr", "--engine", "spark"]) == 1
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert err == ["Error: parameter 'engine' of the bpr recommender must be one of "
                   "['implicit']; received 'spark'"]
