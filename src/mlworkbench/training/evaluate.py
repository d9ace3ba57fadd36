"""Evaluate a fitted recommender on a holdout: the one place train, tune and promote agree on."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlworkbench.models.recommender import Recommender, interaction_matrix
from mlworkbench.training import metrics

CURVE_MAX_K = 20


@dataclass(frozen=True)
class Evaluation:
    metrics: dict[str, float]  # <metric>_at_<k>
    curve: dict[str, list[float]]  # metric -> values for k = 1..CURVE_MAX_K
    users: int  # users with at least one held-out item


def evaluate(recommender: Recommender, test: pd.DataFrame, k: int) -> Evaluation:
    """Recommend for every test user (seen training items excluded) and score the lists.

    Held-out items the model has never seen still count as relevant (they widen R,
    they can never be hit), so a model is not flattered by what it cannot know.
    """
    known_test = test[test["user_id"].isin(recommender.user_ids)]
    unseen_items = np.setdiff1d(known_test["item_id"].unique(), recommender.item_ids)
    item_ids = np.concatenate([recommender.item_ids, unseen_items])
    relevant = interaction_matrix(known_test, recommender.user_ids, item_ids)
    users = np.flatnonzero(np.diff(relevant.indptr))
    depth = max(k, CURVE_MAX_K)
    recommended, _ = recommender.recommend_rows(users, depth, exclude_seen=True)
    relevant = relevant[users]
    return Evaluation(
        metrics=metrics.ranking_report(recommended, relevant, recommender.n_items, k),
        curve=metrics.metric_curve(recommended, relevant, CURVE_MAX_K),
        users=len(users),
    )
