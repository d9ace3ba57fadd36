"""Evidently 0.7.23's ranking metrics against training/metrics.py on the same MovieLens lists,
and the traps of that version, each forced."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlworkbench.models.engines import make_engine
from mlworkbench.models.recommender import Recommender, interaction_matrix
from mlworkbench.monitoring import evidence
from mlworkbench.monitoring.recommender_report import RecommenderReport, RecommenderWindow
from mlworkbench.monitoring.recsys_frames import quality_frame
from mlworkbench.training import metrics
from mlworkbench.training.splits import split

K = 10


@pytest.fixture(scope="module")
def holdout_lists(movielens):
    """Popularity model on a random holdout: served lists, later items, and ours."""
    holdout = split(movielens.ratings, "random", 0.2, 42)
    model = Recommender.fit(make_engine("popularity"), holdout.train, movielens.items,
                            np.sort(movielens.ratings["user_id"].unique()),
                            movielens.items["item_id"].to_numpy())
    users = np.unique(holdout.test["user_id"].to_numpy())[:200]
    test = holdout.test[holdout.test["user_id"].isin(users)]
    answer = model.recommend(users, k=K, exclude_seen=True)
    served = pd.DataFrame({"user_id": np.repeat(users, K), "rank": np.tile(np.arange(1, K + 1),
                                                                           len(users)),
                           "item_id": answer.item_ids.ravel()})
    relevant = interaction_matrix(test, users, model.item_ids)
    recommended = pd.Index(model.item_ids).get_indexer(answer.item_ids.ravel()).reshape(
        answer.item_ids.shape)
    return served, test, recommended, relevant, model


def test_evidently_quality_matches_training_metrics(holdout_lists, movielens) -> None:
    served, test, recommended, relevant, _ = holdout_lists
    report = RecommenderReport(movielens.items, k=K)
    _, ours_by_evidently = report.quality(RecommenderWindow(test, served, later=test))
    hit = metrics.hits(recommended, relevant)[:, :K]
    with_items = np.diff(relevant.indptr) > 0
    assert ours_by_evidently["precision_at_10"] == pytest.approx(
        metrics.precision_at_k(recommended, relevant, K))
    assert ours_by_evidently["recall_at_10"] == pytest.approx(
        metrics.recall_at_k(recommended, relevant, K))
    assert ours_by_evidently["ndcg_at_10"] == pytest.approx(
        metrics.ndcg_at_k(recommended, relevant, K))
    assert ours_by_evidently["hit_rate_at_10"] == pytest.approx(
        hit[with_items].any(axis=1).mean())


def test_ndcg_table_is_labelled_one_rank_off(holdout_lists, movielens) -> None:
    from evidently import DataDefinition, Recsys
    from evidently.metrics import NDCG

    served, test, recommended, relevant, _ = holdout_lists
    frame = quality_frame(served, test, K)
    definition = DataDefinition(ranking=[Recsys(recommendations_type="rank")],
                                numerical_columns=["prediction", "target"])
    snapshot, _ = evidence.run_report([NDCG(k=K)], frame, None, definition, "quality")
    table = next(iter(evidence.values(snapshot).values()))
    labelled = dict(zip(table["rank"].values(), table["value"].values(), strict=True))
    assert min(labelled) == 2  # the first entry (NDCG@1) is labelled rank 2
    assert labelled[2] == pytest.approx(metrics.ndcg_at_k(recommended, relevant, 1))
    assert evidence.table_at(table, K) == pytest.approx(metrics.ndcg_at_k(recommended,
                                                                          relevant, K))


def test_recsys_preset_refuses_rank_predictions(holdout_lists) -> None:
    from evidently import DataDefinition, Dataset, Recsys, Report
    from evidently.presets import RecsysPreset

    served, test, *_ = holdout_lists
    frame = quality_frame(served, test, K)
    data = Dataset.from_pandas(frame, data_definition=DataDefinition(
        ranking=[Recsys(recommendations_type="rank")], numerical_columns=["prediction",
                                                                           "target"]))
    with pytest.raises(ValueError, match="recommendations_type"):
        Report([RecsysPreset(k=K)]).run(data, None)
