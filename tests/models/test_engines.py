"""One contract every recommender engine honours: implicit's ALS, BPR and popularity, and
Spark MLlib's ALS (in local mode)."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import numpy as np
import pytest
import scipy.sparse as sp

from mlworkbench.config import get_settings
from mlworkbench.errors import ConfigError, DataError, InvalidParameterError, NotFittedError
from mlworkbench.models.engines import engine_class, make_engine
from mlworkbench.models.hyperparameters import ENGINE_KINDS

# Two clear taste groups: users 0-3 like items 0-3, users 4-7 like items 4-7.
GROUPS = sp.csr_matrix(
    np.kron(np.eye(2), np.ones((4, 4))) * np.where(np.eye(8) > 0, 0, 1), dtype=np.float32
)
FAST = {("implicit", "als"): {"factors": 4, "iterations": 10},
        ("implicit", "bpr"): {"factors": 4, "iterations": 200, "learning_rate": 0.05},
        ("implicit", "popularity"): {},
        ("spark", "als"): {"factors": 4, "iterations": 5}}  # each Spark iteration is ~30 jobs
ENGINES = [(engine, kind) for engine, kinds in ENGINE_KINDS.items() for kind in kinds]
assert set(FAST) == set(ENGINES), "every engine runs the contract"


@pytest.fixture(scope="module", params=[
    pytest.param(pair, id="-".join(pair), marks=[pytest.mark.spark] if pair[0] == "spark" else [])
    for pair in ENGINES])
def engine_kind(request, tmp_path_factory) -> Iterator[tuple[str, str]]:
    """(engine, kind); Spark's exchange folder lives in a workspace of its own."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("MLWB_HOME", str(tmp_path_factory.mktemp("engines") / "mlwb"))
        get_settings.cache_clear()
        yield request.param
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def kind(engine_kind) -> str:
    return engine_kind[1]


@pytest.fixture(scope="module")
def make(engine_kind):
    """make_engine for the engine under test, with its fast hyperparameters."""
    return lambda **params: make_engine(engine_kind[1], engine=engine_kind[0],
                                        **{**FAST[engine_kind], **params})


@pytest.fixture(scope="module")
def fitted(make):
    """One fit per engine (seed 7, one thread): the engine, what fit returned, the progress."""
    seen: list[int] = []
    engine = make(seed=7, threads=1)
    return engine, engine.fit(GROUPS, progress=seen.append), seen


def test_fit_returns_self_and_factor_shapes(fitted) -> None:
    engine, returned, _ = fitted
    assert returned is engine
    users, items = engine.check_fitted()
    assert users.shape[0] == 8 and items.shape[0] == 8
    assert users.shape[1] == items.shape[1]
    assert users.dtype == np.float32 and items.dtype == np.float32


def test_unfitted_engine_raises_not_fitted(make) -> None:
    with pytest.raises(NotFittedError, match="fit"):
        make().check_fitted()


def test_progress_reports_every_iteration(fitted) -> None:
    engine, _, seen = fitted
    assert seen[-1] == engine.iterations
    assert seen == sorted(seen)


def test_empty_or_dense_input_is_refused(make) -> None:
    with pytest.raises(DataError, match="no interactions"):
        make().fit(sp.csr_matrix((3, 3), dtype=np.float32))
    with pytest.raises(DataError, match="sparse"):
        make().fit(np.ones((3, 3)))


def test_same_seed_same_factors(fitted, make) -> None:
    # one thread: BPR's parallel SGD is order-dependent, so only a single thread reproduces
    second = make(seed=7, threads=1).fit(GROUPS).check_fitted()[1]
    np.testing.assert_allclose(fitted[0].check_fitted()[1], second, rtol=1e-5, atol=1e-6)


def test_factor_models_learn_the_groups(fitted, kind) -> None:
    if kind == "popularity":
        pytest.skip("popularity has no factors to learn groups with")
    users, items = fitted[0].check_fitted()
    scores = users @ items.T
    # user 0's unseen in-group item (0 is its own diagonal) beats every out-of-group item
    assert scores[0, 0] > scores[0, 4:].max()
    assert scores[5, 5] > scores[5, :4].max()


def test_als_fold_in_matches_a_trained_user(fitted, kind) -> None:
    if kind != "als":
        pytest.skip("only ALS folds a new user in by its own least squares")
    engine = fitted[0]
    users, items = engine.check_fitted()
    row = GROUPS[1]
    folded = engine.fold_in(row.indices, row.data)
    np.testing.assert_allclose(folded @ items.T, users[1] @ items.T, atol=0.05)


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


def test_unknown_or_unable_engine_is_refused() -> None:
    with pytest.raises(InvalidParameterError, match="'engine' .* one of .*received 'dask'"):
        make_engine("als", engine="dask")
    with pytest.raises(InvalidParameterError,
                       match=r"'engine' of the bpr recommender must be one of \['implicit'\]"):
        make_engine("bpr", engine="spark")


def test_spark_engine_without_pyspark_names_the_extra(workspace, monkeypatch) -> None:
    engine = make_engine("als", engine="spark", factors=2, iterations=1)  # builds without it
    for name in [m for m in sys.modules if m == "pyspark" or m.startswith("pyspark.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "pyspark", None)  # what an install without it looks like
    with pytest.raises(ConfigError, match=r"needs pyspark.*\.\[spark\]"):
        engine.fit(GROUPS)


def test_engine_names_itself_in_the_saved_kind() -> None:
    assert engine_class("als", "spark").engine == "spark"
    assert engine_class("als").engine == "implicit"
