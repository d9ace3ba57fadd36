"""Ranking metrics: hand-computed cases, then a cross-check against implicit.evaluation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from mlworkbench.training import metrics

# user 0: relevant {1, 3}; list [1, 2, 3] -> hits at ranks 1 and 3
# user 1: relevant {5};    list [4, 5, -1] -> hit at rank 2, list one short
# user 2: relevant {};     left out of every average
RECOMMENDED = np.array([[1, 2, 3], [4, 5, -1], [0, 1, 2]])
RELEVANT = sp.csr_matrix(
    ([1, 1, 1], ([0, 0, 1], [1, 3, 5])), shape=(3, 6), dtype=np.float32
)


def test_precision_counts_hits_over_k() -> None:
    assert metrics.precision_at_k(RECOMMENDED, RELEVANT, 3) == pytest.approx((2 / 3 + 1 / 3) / 2)
    assert metrics.precision_at_k(RECOMMENDED, RELEVANT, 1) == pytest.approx((1 + 0) / 2)


def test_recall_counts_hits_over_relevant() -> None:
    assert metrics.recall_at_k(RECOMMENDED, RELEVANT, 3) == pytest.approx((2 / 2 + 1 / 1) / 2)
    assert metrics.recall_at_k(RECOMMENDED, RELEVANT, 1) == pytest.approx((1 / 2 + 0) / 2)


def test_map_averages_precision_at_each_hit() -> None:
    ap_user0 = (1 / 1 + 2 / 3) / 2
    ap_user1 = (1 / 2) / 1
    assert metrics.map_at_k(RECOMMENDED, RELEVANT, 3) == pytest.approx((ap_user0 + ap_user1) / 2)


def test_ndcg_discounts_by_log_rank() -> None:
    user0 = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    user1 = (1 / math.log2(3)) / 1
    assert metrics.ndcg_at_k(RECOMMENDED, RELEVANT, 3) == pytest.approx((user0 + user1) / 2)


def test_perfect_and_empty_lists() -> None:
    perfect = np.array([[1, 3, 0], [5, 0, 1], [0, 1, 2]])
    assert metrics.ndcg_at_k(perfect, RELEVANT, 3) == pytest.approx(1.0)
    assert metrics.map_at_k(perfect, RELEVANT, 3) == pytest.approx(1.0)
    nothing = np.full((3, 3), -1)
    assert metrics.precision_at_k(nothing, RELEVANT, 3) == 0.0
    assert metrics.ndcg_at_k(nothing, RELEVANT, 3) == 0.0


def test_hit_ratio_is_implicits_precision() -> None:
    assert metrics.hit_ratio_at_k(RECOMMENDED, RELEVANT, 3) == pytest.approx(3 / (2 + 1))


def test_coverage_counts_distinct_items_in_any_list() -> None:
    assert metrics.coverage_at_k(RECOMMENDED, 6, 2) == pytest.approx(len({1, 2, 4, 5, 0}) / 6)
    assert metrics.coverage_at_k(RECOMMENDED, 6, 3) == pytest.approx(6 / 6)


def test_report_names_every_metric_with_k() -> None:
    report = metrics.ranking_report(RECOMMENDED, RELEVANT, 6, 3)
    assert set(report) == {f"{m}_at_3" for m in ("precision", "recall", "map", "ndcg", "coverage")}


def test_curve_agrees_with_single_k_calls() -> None:
    curve = metrics.metric_curve(RECOMMENDED, RELEVANT, 3)
    assert curve["ndcg"][2] == pytest.approx(metrics.ndcg_at_k(RECOMMENDED, RELEVANT, 3))
    assert curve["precision"][0] == pytest.approx(metrics.precision_at_k(RECOMMENDED, RELEVANT, 1))


def test_same_numbers_as_implicit_evaluation_on_movielens(movielens) -> None:
    """Where definitions coincide (MAP, NDCG, implicit's precision), the numbers agree."""
    from implicit.cpu.als import AlternatingLeastSquares
    from implicit.evaluation import ranking_metrics_at_k

    from mlworkbench.models.engines import make_engine
    from mlworkbench.models.recommender import Recommender, interaction_matrix
    from mlworkbench.training.splits import split

    holdout = split(movielens.ratings, "random", 0.2, seed=3)
    engine = make_engine("als", factors=32, iterations=5)
    model = Recommender.fit(engine, holdout.train, movielens.items,
                            np.unique(movielens.ratings.user_id), movielens.items.item_id)
    train = model.seen
    test = interaction_matrix(holdout.test, model.user_ids, model.item_ids)

    twin = AlternatingLeastSquares(factors=32)
    twin.user_factors, twin.item_factors = engine.check_fitted()
    theirs = ranking_metrics_at_k(twin, train, test, K=10, show_progress=False)

    users = np.flatnonzero(np.diff(test.indptr))
    recommended, _ = model.recommend_rows(users, 10)
    relevant = test[users]
    assert metrics.map_at_k(recommended, relevant, 10) == pytest.approx(theirs["map"], abs=1e-3)
    assert metrics.ndcg_at_k(recommended, relevant, 10) == pytest.approx(theirs["ndcg"], abs=1e-3)
    assert metrics.hit_ratio_at_k(recommended, relevant, 10) == pytest.approx(
        theirs["precision"], abs=1e-3)
