"""A recommender response's prediction-log rows: each user's items and scores as the JSON
arrays that were served (rounded to 6 places, padding left out), one row per user."""

from __future__ import annotations

import datetime as dt

import numpy as np
import orjson

from mlworkbench.serving.recommender.logged import Served


def _served(items: np.ndarray, scores: np.ndarray) -> Served:
    users = list(range(len(items)))
    return Served("r", dt.datetime.now(dt.UTC), "m", 2, "live", users, items, scores,
                  ["popular" if user % 2 else None for user in users])


def _expected(items: np.ndarray, scores: np.ndarray) -> list[tuple[str, str]]:
    out = []
    for item_row, score_row in zip(items.tolist(), np.round(scores.astype(np.float64), 6)
                                   .tolist(), strict=True):
        kept = [at for at, item in enumerate(item_row) if item >= 0]
        out.append((orjson.dumps([item_row[at] for at in kept]).decode(),
                    orjson.dumps([score_row[at] for at in kept]).decode()))
    return out


def test_rows_hold_each_users_items_and_scores_as_served() -> None:
    rng = np.random.default_rng(7)
    items = rng.integers(0, 200_000, size=(300, 10))
    scores = (rng.standard_normal((300, 10)) * 3).astype(np.float32)
    scores[0, :3] = [0.0000004, -0.0000004, 1e-5]  # rounding to 0, -0, and a small number
    rows = _served(items, scores).rows()
    assert [(row["items"], row["scores"]) for row in rows] == _expected(items, scores)
    assert [row["user_id"] for row in rows] == list(range(300))
    assert rows[1]["fallback"] == "popular" and rows[0]["fallback"] is None
    assert {row["role"] for row in rows} == {"champion"}


def test_padding_is_left_out_of_a_short_list() -> None:
    items = np.array([[5, 6, -1], [7, -1, -1]])
    scores = np.array([[0.5, 0.25, np.nan], [0.125, np.nan, np.nan]], dtype=np.float32)
    rows = _served(items, scores).rows()
    assert [(row["items"], row["scores"]) for row in rows] == [("[5,6]", "[0.5,0.25]"),
                                                               ("[7]", "[0.125]")]
