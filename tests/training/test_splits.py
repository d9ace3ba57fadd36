from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlworkbench.errors import InvalidParameterError
from mlworkbench.training.splits import split

RATINGS = pd.DataFrame({
    "user_id": [1] * 10 + [2] * 5 + [3],
    "item_id": list(range(10)) + list(range(5)) + [0],
    "rating": 4.0,
    "timestamp": list(range(100, 110)) + [50, 40, 30, 20, 10] + [0],
})


def _pairs(frame: pd.DataFrame) -> set[tuple[int, int]]:
    return set(zip(frame.user_id, frame.item_id, strict=True))


@pytest.mark.parametrize("method", ["random", "temporal"])
def test_each_user_holds_out_floor_of_the_fraction(method) -> None:
    result = split(RATINGS, method, 0.2, seed=1)
    assert result.test.groupby("user_id").size().to_dict() == {1: 2, 2: 1}  # user 3: floor(0.2)=0
    assert _pairs(result.train) | _pairs(result.test) == _pairs(RATINGS)
    assert not _pairs(result.train) & _pairs(result.test)


def test_temporal_holds_out_each_users_latest() -> None:
    result = split(RATINGS, "temporal", 0.2)
    assert sorted(result.test.loc[result.test.user_id == 1, "item_id"]) == [8, 9]
    assert result.test.loc[result.test.user_id == 2, "item_id"].tolist() == [0]  # timestamp 50


def test_random_is_seeded() -> None:
    first, again = split(RATINGS, "random", 0.3, seed=5), split(RATINGS, "random", 0.3, seed=5)
    assert _pairs(first.test) == _pairs(again.test)
    others = [_pairs(split(RATINGS, "random", 0.3, seed=s).test) for s in range(6, 12)]
    assert any(other != _pairs(first.test) for other in others)


def test_fraction_is_respected_on_movielens(movielens) -> None:
    result = split(movielens.ratings, "random", 0.2, seed=42)
    share = len(result.test) / len(movielens.ratings)
    assert 0.18 < share <= 0.2
    assert result.train.user_id.nunique() == movielens.ratings.user_id.nunique()
    assert np.isin(result.test.user_id.unique(), result.train.user_id.unique()).all()


@pytest.mark.parametrize(
    ("method", "fraction"), [("random", 0.0), ("random", 1.0), ("future", 0.2)]
)
def test_bad_split_arguments_are_refused(method, fraction) -> None:
    with pytest.raises(InvalidParameterError):
        split(RATINGS, method, fraction)
