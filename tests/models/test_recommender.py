"""The Recommender bundle on tiny data with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlworkbench.errors import InvalidParameterError, UnknownItemError
from mlworkbench.models.engines import make_engine
from mlworkbench.models.recommender import Recommender, top_k

# users 10..13 like movies 100..103, users 20..23 like movies 200..203 (each misses one)
GROUP_A, GROUP_B = [10, 11, 12, 13], [20, 21, 22, 23]
ITEMS_A, ITEMS_B = [100, 101, 102, 103], [200, 201, 202, 203]
RATINGS = pd.DataFrame(
    [(u, i, 4.0, 0) for g_users, g_items in ((GROUP_A, ITEMS_A), (GROUP_B, ITEMS_B))
     for n, u in enumerate(g_users) for m, i in enumerate(g_items) if n != m]
    + [(10, 999, 1.0, 0), (11, 999, 1.0, 0), (20, 999, 1.0, 0), (21, 999, 1.0, 0)],
    columns=["user_id", "item_id", "rating", "timestamp"],
)
CATALOGUE = pd.DataFrame({
    "item_id": ITEMS_A + ITEMS_B + [999],
    "title": [f"A{i}" for i in range(4)] + [f"B{i}" for i in range(4)] + ["Blockbuster"],
    "year": 2000, "genres": "Drama",
})


@pytest.fixture(scope="module")
def als() -> Recommender:
    engine = make_engine("als", factors=2, iterations=15, regularization=0.1)
    return Recommender.fit(engine, RATINGS, CATALOGUE)


def test_top_k_orders_best_first_and_caps_k() -> None:
    scores = np.array([[0.1, 0.9, 0.5, 0.7], [3.0, 1.0, 2.0, 0.0]])
    rows, values = top_k(scores, 2)
    np.testing.assert_array_equal(rows, [[1, 3], [0, 2]])
    np.testing.assert_allclose(values, [[0.9, 0.7], [3.0, 2.0]])
    assert top_k(scores, 10)[0].shape == (2, 4)


def test_recommends_the_missing_in_group_item_first(als) -> None:
    recs = als.recommend(np.array([10, 23]), k=1)
    np.testing.assert_array_equal(recs.item_ids[:, 0], [100, 203])
    assert not recs.fallback.any()


def test_seen_items_are_excluded_unless_asked(als) -> None:
    recs = als.recommend(np.array([10]), k=9)
    seen = set(RATINGS.loc[RATINGS.user_id == 10, "item_id"])
    listed = set(recs.item_ids[0][recs.item_ids[0] >= 0])
    assert not listed & seen
    # 9 items, 4 seen by user 10: only 5 exist to recommend; the rest is padding
    assert (recs.item_ids[0] == -1).sum() == 4 and np.isnan(recs.scores[0][-4:]).all()
    with_seen = als.recommend(np.array([10]), k=9, exclude_seen=False)
    assert (with_seen.item_ids[0] >= 0).all()


def test_unknown_user_gets_popular_items_flagged(als) -> None:
    recs = als.recommend(np.array([10, 777]), k=2)
    assert recs.fallback.tolist() == [False, True]
    assert recs.item_ids[1, 0] == 999  # rated by four users, more than any other item
    assert recs.scores[1, 0] == pytest.approx(1.0)


def test_similar_items_stay_in_group_and_exclude_the_item(als) -> None:
    items, scores = als.similar_items(101, k=3)
    assert 101 not in items
    assert set(items) <= set(ITEMS_A) | {999}
    assert list(scores) == sorted(scores, reverse=True)
    with pytest.raises(UnknownItemError, match="item 4242 is not in the model's catalogue"):
        als.similar_items(4242)


def test_history_of_a_new_visitor_points_to_their_group(als) -> None:
    recs = als.recommend_for_history(np.array([200, 201]), k=2)
    assert set(recs.item_ids[0]) <= set(ITEMS_B)
    assert not {200, 201} & set(recs.item_ids[0])
    with pytest.raises(UnknownItemError):
        als.recommend_for_history(np.array([5]))


@pytest.mark.parametrize("k", [0, -1, 1001, 2.5, True])
def test_k_outside_bounds_is_refused(als, k) -> None:
    with pytest.raises(InvalidParameterError, match="'k'"):
        als.recommend(np.array([10]), k=k)


def test_save_load_round_trip_answers_the_same(als, tmp_path) -> None:
    als.save(tmp_path)
    loaded = Recommender.load(tmp_path)
    users = np.array([10, 13, 21, 777])
    before, after = als.recommend(users, k=5), loaded.recommend(users, k=5)
    np.testing.assert_array_equal(before.item_ids, after.item_ids)
    np.testing.assert_allclose(before.scores, after.scores)
    assert loaded.titles.tolist() == als.titles.tolist()
    assert loaded.engine.params == als.engine.params


def test_load_from_a_directory_without_a_model_is_a_data_error(tmp_path) -> None:
    from mlworkbench.errors import DataError

    with pytest.raises(DataError, match="cannot read a recommender"):
        Recommender.load(tmp_path)
