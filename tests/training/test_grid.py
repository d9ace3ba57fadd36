from __future__ import annotations

from functools import partial

import pytest

from mlworkbench.errors import InvalidParameterError
from mlworkbench.models.hyperparameters import validate
from mlworkbench.training.grid import build_grid, combinations

ALS = partial(validate, "als")


def test_options_and_file_merge_into_a_typed_grid(tmp_path) -> None:
    path = tmp_path / "grid.yaml"
    path.write_text("regularization: [0.01, 0.1]\n")
    grid = build_grid(ALS, ["factors=32,64", "iterations=10"], path)
    assert grid == {"regularization": [0.01, 0.1], "factors": [32, 64], "iterations": [10]}
    assert len(combinations(grid)) == 4
    assert combinations(grid)[0] == {"regularization": 0.01, "factors": 32, "iterations": 10}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["depth=3,4"], "'name' of a hyperparameter of the als recommender must be one of"),
        (["factors="], "'factors' of the grid must be a comma-separated list"),
        (["factors=32,,64"], "'factors' of the grid must be a comma-separated list"),
        (["factors=thirty"], "'factors' of the als recommender must be an integer"),
        (["factors=0.5"], "'factors' of the als recommender must be an integer"),
        (["factors"], "'--grid' of tune must be of the form name=v1,v2"),
        (["factors=8", "factors=16"], "'factors' of the grid must be given once"),
        ([], "at least one --grid"),
    ],
)
def test_bad_grids_fail_with_one_message(options, message) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        build_grid(ALS, options)


def test_unreadable_grid_file(tmp_path) -> None:
    path = tmp_path / "grid.yaml"
    path.write_text("- just\n- a list\n")
    with pytest.raises(InvalidParameterError, match="mapping"):
        build_grid(ALS, [], path)
    with pytest.raises(InvalidParameterError, match="readable"):
        build_grid(ALS, [], tmp_path / "missing.yaml")
