"""Ranking metrics as pure functions over recommended lists and held-out items.

Inputs: ``recommended`` is an (n_users, K) int array of item indices, best first,
-1 where a list is shorter; ``relevant`` is an (n_users, n_items) sparse matrix
whose non-zeros are each user's held-out items. Users with no held-out item are
left out of every average. With hit_i = 1 when the item at rank i (1-based) is
relevant and R = the user's number of relevant items:

- precision@k = (sum_{i<=k} hit_i) / k
- recall@k    = (sum_{i<=k} hit_i) / R
- AP@k        = (sum_{i<=k} hit_i * precision@i) / min(k, R); MAP@k is its mean
- NDCG@k      = (sum_{i<=k} hit_i / log2(i + 1)) / (sum_{i<=min(k, R)} 1 / log2(i + 1))
- coverage@k  = |distinct items recommended in any top-k| / n_items (over all users given)

MAP@k and NDCG@k are exactly implicit.evaluation's definitions; implicit's
"precision" is sum(hits) / sum(min(k, R)) over users, which :func:`hit_ratio_at_k` gives.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

CURVE_METRICS = ("precision", "recall", "map", "ndcg")


def hits(recommended: np.ndarray, relevant: sp.csr_matrix) -> np.ndarray:
    """Boolean (n_users, K): is the item at each rank among the user's relevant items?"""
    recommended = np.asarray(recommended)
    valid = recommended >= 0
    rows = np.broadcast_to(np.arange(recommended.shape[0])[:, None], recommended.shape)
    found = np.zeros(recommended.shape, dtype=bool)
    if valid.any():
        values = np.asarray(relevant[rows[valid], recommended[valid]]).ravel()
        found[valid] = values != 0
    return found


def _prepare(recommended, relevant, k):
    relevant = sp.csr_matrix(relevant)
    counts = np.diff(relevant.indptr)
    keep = counts > 0
    hit = hits(np.asarray(recommended)[keep][:, :k], relevant[keep])
    return hit, counts[keep]


# Each formula takes the hit matrix cut at k (users with R > 0 only) and every user's R.
def _precision(hit: np.ndarray, counts: np.ndarray, k: int) -> float:
    return float(hit.sum(axis=1).mean() / k)


def _recall(hit: np.ndarray, counts: np.ndarray, k: int) -> float:
    return float((hit.sum(axis=1) / counts).mean())


def _map(hit: np.ndarray, counts: np.ndarray, k: int) -> float:
    precision_at_i = np.cumsum(hit, axis=1) / np.arange(1, hit.shape[1] + 1)
    return float(((precision_at_i * hit).sum(axis=1) / np.minimum(k, counts)).mean())


def _ndcg(hit: np.ndarray, counts: np.ndarray, k: int) -> float:
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (hit * discount[: hit.shape[1]]).sum(axis=1)
    idcg = np.cumsum(discount)[np.minimum(k, counts) - 1]
    return float((dcg / idcg).mean())


FORMULAS = {"precision": _precision, "recall": _recall, "map": _map, "ndcg": _ndcg}


def _at_k(name: str, recommended, relevant, k: int) -> float:
    hit, counts = _prepare(recommended, relevant, k)
    return FORMULAS[name](hit, counts, k) if len(hit) else 0.0


def precision_at_k(recommended, relevant, k: int) -> float:
    return _at_k("precision", recommended, relevant, k)


def recall_at_k(recommended, relevant, k: int) -> float:
    return _at_k("recall", recommended, relevant, k)


def map_at_k(recommended, relevant, k: int) -> float:
    return _at_k("map", recommended, relevant, k)


def ndcg_at_k(recommended, relevant, k: int) -> float:
    return _at_k("ndcg", recommended, relevant, k)


def hit_ratio_at_k(recommended, relevant, k: int) -> float:
    """sum(hits) / sum(min(k, R)): implicit.evaluation's "precision"."""
    hit, counts = _prepare(recommended, relevant, k)
    return float(hit.sum() / np.minimum(k, counts).sum()) if len(hit) else 0.0


def coverage_at_k(recommended, n_items: int, k: int) -> float:
    top = np.asarray(recommended)[:, :k]
    return float(len(np.unique(top[top >= 0])) / n_items) if n_items else 0.0


def ranking_report(recommended, relevant, n_items: int, k: int) -> dict[str, float]:
    """Every metric at ``k``, named ``<metric>_at_<k>``."""
    return {
        f"precision_at_{k}": precision_at_k(recommended, relevant, k),
        f"recall_at_{k}": recall_at_k(recommended, relevant, k),
        f"map_at_{k}": map_at_k(recommended, relevant, k),
        f"ndcg_at_{k}": ndcg_at_k(recommended, relevant, k),
        f"coverage_at_{k}": coverage_at_k(recommended, n_items, k),
    }


def metric_curve(recommended, relevant, max_k: int) -> dict[str, list[float]]:
    """precision/recall/MAP/NDCG for k = 1..max_k (lists indexed by k - 1).

    The hit matrix is built once at ``max_k`` and cut for each k.
    """
    hit, counts = _prepare(recommended, relevant, max_k)
    return {
        name: [FORMULAS[name](hit[:, :k], counts, k) if len(hit) else 0.0
               for k in range(1, max_k + 1)]
        for name in CURVE_METRICS
    }
