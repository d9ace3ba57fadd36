"""The pruned top-k and the single-user fast path give the exact answer."""

from __future__ import annotations

import numpy as np
import pytest

from mlworkbench.models.recommender import _top_k_exact, top_k


@pytest.mark.parametrize(("n", "m", "k"), [(1, 9066, 10), (37, 5000, 10), (5, 1000, 100),
                                           (3, 300, 10), (4, 64 * 40, 1), (2, 50, 10)])
def test_pruned_top_k_equals_a_full_sort(n, m, k) -> None:
    rng = np.random.default_rng(n * m + k)
    scores = rng.standard_normal((n, m)).astype(np.float32)
    scores[:, rng.integers(0, m, size=m // 3)] = -np.inf  # seen items
    columns, values = top_k(scores, k)
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    np.testing.assert_array_equal(values, np.take_along_axis(scores, order, axis=1))
    np.testing.assert_array_equal(np.take_along_axis(scores, columns, axis=1), values)


def test_rows_with_fewer_than_k_finite_scores_keep_the_padding_contract() -> None:
    scores = np.full((2, 2000), -np.inf, dtype=np.float32)
    scores[0, [3, 1500]] = [1.0, 2.0]
    columns, values = top_k(scores, 5)
    assert columns[0, :2].tolist() == [1500, 3] and np.isneginf(values[0, 2:]).all()
    assert (columns < 2000).all()
    np.testing.assert_array_equal(values, _top_k_exact(scores, 5)[1])


def test_single_user_fast_path_equals_the_batch_path(recommender) -> None:
    users = recommender.user_ids[:40]
    batch = recommender.recommend(users, k=10)
    for index in (0, 17, 39):
        one = recommender.recommend(users[index : index + 1], k=10)
        np.testing.assert_array_equal(one.item_ids[0], batch.item_ids[index])


@pytest.mark.parametrize(("n", "m", "k"), [(3, 9066, 10), (8, 64 * 40 + 17, 25)])
def test_ties_come_lower_column_first_as_a_stable_full_sort_gives_them(n, m, k) -> None:
    rng = np.random.default_rng(m + k)
    scores = rng.integers(0, 40, size=(n, m)).astype(np.float32)  # hundreds of ties per value
    columns, values = top_k(scores, k)
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    np.testing.assert_array_equal(columns, order)
    np.testing.assert_array_equal(values, np.take_along_axis(scores, order, axis=1))
