"""Per-user holdouts: every user keeps most of their history for training and
hides a fraction of it for evaluation, so each evaluated user is also a known user.

- random: a seeded random ``fraction`` of each user's interactions is held out;
- temporal: the last ``fraction`` of each user's interactions by timestamp is held out
  (ties broken by item id), which is what "predict what they watch next" means.

A user with n interactions holds out floor(n * fraction) of them, so users with
very short histories stay whole in the training set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlworkbench.errors import InvalidParameterError

SPLIT_METHODS = ("random", "temporal")


@dataclass(frozen=True)
class Split:
    train: pd.DataFrame
    test: pd.DataFrame
    method: str
    fraction: float
    seed: int | None


def check_split(method: str, fraction: float) -> None:
    if method not in SPLIT_METHODS:
        raise InvalidParameterError("split", "training", f"one of {list(SPLIT_METHODS)}", method)
    if not 0.0 < fraction < 1.0:
        raise InvalidParameterError("test_fraction", "the split", "a number in (0, 1)", fraction)


def _holdout_mask(users: np.ndarray, order: np.ndarray, fraction: float) -> np.ndarray:
    """True for the last floor(n_u * fraction) rows of each user in ``order``."""
    sorted_users = users[order]
    _, starts, counts = np.unique(sorted_users, return_index=True, return_counts=True)
    position = np.arange(len(order)) - np.repeat(starts, counts)
    from_end = np.repeat(counts, counts) - position  # 1 for a user's last row
    held = from_end <= np.repeat(np.floor(counts * fraction).astype(np.int64), counts)
    mask = np.zeros(len(order), dtype=bool)
    mask[order] = held
    return mask


def split(
    ratings: pd.DataFrame, method: str = "random", fraction: float = 0.2, seed: int = 42
) -> Split:
    """Hold out ``fraction`` of every user's interactions, by ``method``."""
    check_split(method, fraction)
    users = ratings["user_id"].to_numpy()
    if method == "random":
        noise = np.random.default_rng(seed).random(len(ratings))
        order = np.lexsort((noise, users))
    else:
        order = np.lexsort(
            (ratings["item_id"].to_numpy(), ratings["timestamp"].to_numpy(), users)
        )
    mask = _holdout_mask(users, order, fraction)
    return Split(
        train=ratings[~mask].reset_index(drop=True),
        test=ratings[mask].reset_index(drop=True),
        method=method,
        fraction=fraction,
        seed=seed if method == "random" else None,
    )
