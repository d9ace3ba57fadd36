"""What a list is when it is not the model's own ranking of a known user, and how a visitor
known only by their history is scored: one home for the champion's answer and the shadow."""

from __future__ import annotations

import numpy as np

from mlworkbench.models.recommender import Recommendations, Recommender

FALLBACK_POPULAR = "popular"
FALLBACK_ITEM_MEAN = "item-mean"  # engines without an exact fold-in (BPR, popularity)


def for_history(recommender: Recommender, known: np.ndarray, k: int
                ) -> tuple[Recommendations, str | None]:
    """Top-k folded in from the ``known`` item ids (none known: the popular items), and the
    fallback that names how the list was made (None: the exact ALS fold-in)."""
    if len(known):
        recs = recommender.recommend_for_history(known, k)
        return recs, None if recommender.engine.kind == "als" else FALLBACK_ITEM_MEAN
    ids, values = recommender.popular(k)
    return (Recommendations(np.array([-1]), ids[None, :], values[None, :], np.array([True])),
            FALLBACK_POPULAR)
