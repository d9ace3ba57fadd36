"""Evaluate a fitted recommender on a holdout: the one place train, tune and promote agree on."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlworkbench.errors import InvalidParameterError
from mlworkbench.models.recommender import Recommender, interaction_matrix
from mlworkbench.training import metrics

CURVE_MAX_K = 20
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Evaluation:
    metrics: dict[str, float]  # <metric>_at_<k>
    curve: dict[str, list[float]]  # metric -> values for k = 1..CURVE_MAX_K
    users: int  # users with at least one held-out item


def metric_names(k: int) -> list[str]:
    """The metrics every evaluation reports at cut-off ``k``."""
    return [f"{name}_at_{k}" for name in (*metrics.CURVE_METRICS, "coverage")]


def sample_users(test: pd.DataFrame, users: int | None, seed: int) -> pd.DataFrame:
    """The held-out rows of a seeded sample of ``users`` users (all of them when None or more).

    At millions of users, scoring everyone against every item dominates a run; a few
    thousand users give the same metrics to about two decimals.
    """
    if users is None:
        return test
    if isinstance(users, bool) or not isinstance(users, int) or users < 1:
        raise InvalidParameterError("eval_users", "the evaluation", "a positive integer", users)
    logger.info("evaluating a seeded sample of %d test users", users)
    everyone = np.unique(test["user_id"].to_numpy())
    if users >= len(everyone):
        return test
    chosen = np.random.default_rng(seed).choice(everyone, size=users, replace=False)
    return test[test["user_id"].isin(chosen)].reset_index(drop=True)


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
