"""Pre-serialised JSON: each item's ``{"id": .., "title": ..`` is built once per model, so a
response is byte joins plus one orjson call, never a walk over nested dicts."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import orjson

from mlworkbench.models.recommender import Recommendations, Recommender
from mlworkbench.serving.encoding import Fragment

_LAID_OUT_USERS = 8  # from here on numpy's layout beats the per-item loop (measured)


class Renderer:
    """JSON pieces for one loaded model."""

    def __init__(self, recommender: Recommender, name: str, version: int | None) -> None:
        self.model = Fragment(orjson.dumps({"name": name, "version": version}))
        ids = recommender.item_ids.tolist()
        titles = recommender.titles.tolist()
        self._prefix = {
            item: b'{"id":%d,"title":%s,"score":' % (item, orjson.dumps(title))
            for item, title in zip(ids, titles, strict=True)
        }
        self._titles = dict(zip(ids, titles, strict=True))
        self._order = np.argsort(recommender.item_ids, kind="stable")  # id -> position
        self._sorted_ids = recommender.item_ids[self._order]
        self._prefixes = np.empty(len(ids), dtype=object)  # by position, for whole batches
        self._prefixes[:] = [self._prefix[item] for item in ids]

    def title(self, item_id: int) -> str:
        return self._titles.get(item_id, "")

    def items(self, item_ids: Sequence[int], scores: Sequence[float]) -> Fragment:
        """``[{"id", "title", "score"}, ...]``; padding (id -1) left out."""
        prefix = self._prefix
        body = b",".join(
            [prefix[item] + orjson.dumps(score) + b"}"
             for item, score in zip(item_ids, scores, strict=True) if item >= 0]
        )
        return Fragment(b"[" + body + b"]")

    def recommendations(self, recs: Recommendations, fallback_label: str = "popular") -> Fragment:
        """The whole ``[{"user", "fallback", "items"}, ...]`` array as one pre-serialised piece.

        Scores are formatted by one orjson call for the batch. For a batch the pieces are
        laid out by numpy (an object array) and joined once, with no Python step per item;
        a few users (or padding: fewer items than k) take a plain loop, cheaper
        below ``_LAID_OUT_USERS``.
        """
        n, width = recs.item_ids.shape
        if n < _LAID_OUT_USERS or n * width == 0 or (recs.item_ids < 0).any():
            return self._recommendations_loop(recs, fallback_label)
        flat = np.round(recs.scores.astype(np.float64), 6).ravel().tolist()
        label = b'"' + fallback_label.encode() + b'"'
        # a user's row: its head, then (item prefix, score, "},") per item, the last "}]},"
        pieces = np.empty((n, 1 + 3 * width), dtype=object)
        pieces[:, 0] = [b'{"user":%d,"fallback":%s,"items":[' % (user, label if fallback
                                                                 else b"null")
                        for user, fallback in zip(recs.user_ids.tolist(),
                                                  recs.fallback.tolist(), strict=True)]
        at = np.searchsorted(self._sorted_ids, recs.item_ids)
        pieces[:, 1::3] = self._prefixes[self._order[at]]
        pieces[:, 2::3] = np.array(orjson.dumps(flat)[1:-1].split(b","),
                                   dtype=object).reshape(n, width)
        pieces[:, 3::3] = b"},"
        pieces[:, -1] = b"}]},"
        pieces[-1, -1] = b"}]}"
        return Fragment(b"[" + b"".join(pieces.ravel().tolist()) + b"]")

    def _recommendations_loop(self, recs: Recommendations,
                                fallback_label: str) -> Fragment:
        n, width = recs.item_ids.shape
        flat = np.round(recs.scores.astype(np.float64), 6).ravel().tolist()
        scores = orjson.dumps(flat)[1:-1].split(b",") if n * width else []
        label = b'"' + fallback_label.encode() + b'"'
        prefix = self._prefix
        out = []
        for index, (user, items, fallback) in enumerate(zip(
                recs.user_ids.tolist(), recs.item_ids.tolist(), recs.fallback.tolist(),
                strict=True)):
            at = index * width
            body = b",".join([prefix[item] + scores[at + j] + b"}"
                              for j, item in enumerate(items) if item >= 0])
            out.append(b'{"user":%d,"fallback":%s,"items":[%s]}'
                       % (user, label if fallback else b"null", body))
        return Fragment(b"[" + b",".join(out) + b"]")

    def per_user(self, recs: Recommendations, fallback_label: str = "popular") -> list[dict]:
        """One ``{"user", "fallback", "items"}`` entry per row of ``recs``."""
        scores = np.round(recs.scores.astype(np.float64), 6).tolist()
        return [
            {"user": user, "fallback": fallback_label if fallback else None,
             "items": self.items(items, row)}
            for user, items, row, fallback in zip(
                recs.user_ids.tolist(), recs.item_ids.tolist(), scores, recs.fallback.tolist(),
                strict=True,
            )
        ]
