"""What the challenger would have served, for shadow scoring: the same inputs as the
champion's answer, scored by the challenger, as the rows the champion's answer logs."""

from __future__ import annotations

import datetime as dt

import numpy as np

from mlworkbench.models.recommender import Recommendations
from mlworkbench.serving.model_holder import LoadedModel
from mlworkbench.serving.recommender.logged import Served

FALLBACK_POPULAR = "popular"
FALLBACK_ITEM_MEAN = "item-mean"


def live(challenger: LoadedModel, request_id: str, source: str, users: list[int], k: int,
         exclude_seen: bool) -> Served:
    """Top-k for known users (unknown ones: popular items), as the challenger ranks them."""
    recs = challenger.model.recommend(np.asarray(users, dtype=np.int64), k, exclude_seen)
    return Served(request_id, dt.datetime.now(dt.UTC), challenger.name, challenger.version,
                  source, recs.user_ids.tolist(), recs.item_ids, recs.scores,
                  [FALLBACK_POPULAR if f else None for f in recs.fallback.tolist()])


def history(challenger: LoadedModel, request_id: str, items: list[int], k: int) -> Served:
    """A visitor's list from their history, folded into the challenger."""
    recommender = challenger.model
    given = np.asarray(items, dtype=np.int64)
    known = given[recommender.item_rows(given, strict=False) >= 0]
    if len(known):
        recs = recommender.recommend_for_history(known, k)
        fallback = None if recommender.engine.kind == "als" else FALLBACK_ITEM_MEAN
    else:
        ids, values = recommender.popular(k)
        recs = Recommendations(np.array([-1]), ids[None, :], values[None, :], np.array([True]))
        fallback = FALLBACK_POPULAR
    return Served(request_id, dt.datetime.now(dt.UTC), challenger.name, challenger.version,
                  "history", [None], recs.item_ids, recs.scores, [fallback])
