"""What the challenger would have served, for shadow scoring: the same inputs as the
champion's answer, scored by the challenger, as the rows the champion's answer logs."""

from __future__ import annotations

import datetime as dt

import numpy as np

from mlworkbench.serving.model_holder import LoadedModel
from mlworkbench.serving.recommender.history import FALLBACK_POPULAR, for_history
from mlworkbench.serving.recommender.logged import Served


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
    recs, fallback = for_history(recommender, known, k)
    return Served(request_id, dt.datetime.now(dt.UTC), challenger.name, challenger.version,
                  "history", [None], recs.item_ids, recs.scores, [fallback])
