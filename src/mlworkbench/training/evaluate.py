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


def metric_names(k: int) -> list[str]:
    """The metrics every evaluation reports at cut-off ``k``."""
    return [f"{name}_at_{k}" for name in (*metrics.CURVE_METRICS, "coverage")]


def evaluate(recommender: Recommender, test: pd.DataFrame, k: int) -> Evaluation:
    """Recommend for every user in ``test`` exactly as the model would serve them, and score.

    Seen training items are excluded; users the model does not know get its popular
    fallback (and count); held-out items the model has never seen still count as relevant
    (they widen R and can never be hit). So models trained on different data are compared
    on the same users and the same items, and nobody is flattered by what they cannot know.
    """
    users = np.unique(test["user_id"].to_numpy())
    item_space = np.concatenate(
        [recommender.item_ids, np.setdiff1d(test["item_id"].unique(), recommender.item_ids)]
    )
    relevant = interaction_matrix(test, users, item_space)
    recs = recommender.recommend(users, k=max(k, CURVE_MAX_K), exclude_seen=True)
    recommended = pd.Index(item_space).get_indexer(recs.item_ids.ravel()).reshape(
        recs.item_ids.shape
    )
    return Evaluation(
        metrics=metrics.ranking_report(recommended, relevant, recommender.n_items, k),
        curve=metrics.metric_curve(recommended, relevant, CURVE_MAX_K),
        users=int((np.diff(relevant.indptr) > 0).sum()),
    )
