"""One contract every recommender engine honours, run against ALS, BPR and popularity."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from mlworkbench.errors import DataError, InvalidParameterError, NotFittedError
from mlworkbench.models.engines import ENGINES, make_engine

# Two clear taste groups: users 0-3 like items 0-3, users 4-7 like items 4-7.
GROUPS = sp.csr_matrix(
    np.kron(np.eye(2), np.ones((4, 4))) * np.where(np.eye(8) > 0, 0, 1), dtype=np.float32
)
FAST = {"als": {"factors": 4, "iterations": 10}, "bpr": {"factors": 4, "iterations": 200,
                                                          "learning_rate": 0.05},
        "popularity": {}}


@pytest.fixture(params=sorted(ENGINES))
def kind(request) -> str:
    return request.param


def test_fit_returns_self_and_factor_shapes(kind) -> None:
    engine = make_engine(kind, **FAST[kind])
    assert engine.fit(GROUPS) is engine
    users, items = engine.check_fitted()
    assert users.shape[0] == 8 and items.shape[0] == 8
    assert users.shape[1] == items.shape[1]
    assert users.dtype == np.float32 and items.dtype == np.float32


def test_unfitted_engine_raises_not_fitted(kind) -> None:
    with pytest.raises(NotFittedError, match="fit"):
        make_engine(kind).check_fitted()


def test_progress_reports_every_iteration(kind) -> None:
    seen: list[int] = []
    engine = make_engine(kind, **FAST[kind]).fit(GROUPS, progress=seen.append)
    assert seen[-1] == engine.iterations
    assert seen == sorted(seen)


def test_empty_or_dense_input_is_refused(kind) -> None:
    with pytest.raises(DataError, match="no interactions"):
        make_engine(kind).fit(sp.csr_matrix((3, 3), dtype=np.float32))
    with pytest.raises(DataError, match="sparse"):
        make_engine(kind).fit(np.ones((3, 3)))


def test_same_seed_same_factors(kind) -> None:
    # one thread: BPR's parallel SGD is order-dependent, so only a single thread reproduces
    first = make_engine(kind, seed=7, threads=1, **FAST[kind]).fit(GROUPS).check_fitted()[1]
    second = make_engine(kind, seed=7, threads=1, **FAST[kind]).fit(GROUPS).check_fitted()[1]
    np.testing.assert_allclose(first, second, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["als", "bpr"])
def test_factor_models_learn_the_groups(kind) -> None:
    users, items = make_engine(kind, **FAST[kind]).fit(GROUPS).check_fitted()
    scores = users @ items.T
    # user 0's unseen in-group item (0 is its own diagonal) beats every out-of-group item
    assert scores[0, 0] > scores[0, 4:].max()
    assert scores[5, 5] > scores[5, :4].max()


def test_popularity_scores_by_user_count() -> None:
    matrix = sp.csr_matrix(np.array([[1, 1, 0], [1, 0, 0], [5, 0, 1]], dtype=np.float32))
    users, items = make_engine("popularity").fit(matrix).check_fitted()
    np.testing.assert_allclose((users @ items.T)[0], [1.0, 1 / 3, 1 / 3])


def test_unknown_kind_and_bad_hyperparameters_are_refused() -> None:
    with pytest.raises(InvalidParameterError, match="'model' .* one of .*received 'svd'"):
        make_engine("svd")
    with pytest.raises(InvalidParameterError, match="'factors' of the als recommender must be an "
                                                    r"integer in \[1, 1024\]; received 0"):
        make_engine("als", factors=0)
    with pytest.raises(InvalidParameterError, match="received 'alpha'"):
        make_engine("bpr", alpha=2.0)


def test_als_fold_in_matches_a_trained_user() -> None:
    engine = make_engine("als", factors=4, iterations=10).fit(GROUPS)
    users, items = engine.check_fitted()
    row = GROUPS[1]
    folded = engine.fold_in(row.indices, row.data)
    np.testing.assert_allclose(folded @ items.T, users[1] @ items.T, atol=0.05)
