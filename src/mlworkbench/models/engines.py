"""Recommender engines behind one contract: fit on a user x item matrix, expose factors.

Every engine ends up as two factor matrices (``user_factors_``, ``item_factors_``)
whose dot product scores items for users; that keeps scoring, saving and
serving one code path for ALS, BPR and the popularity baseline alike.
``__init__`` only stores hyperparameters; ``fit`` validates and learns.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from mlworkbench.errors import DataError, NotFittedError
from mlworkbench.models import hyperparameters

ProgressCallback = Callable[[int], None]  # called with the number of finished iterations


def _load_implicit() -> None:
    import implicit.cpu.als  # noqa: F401
    import implicit.cpu.bpr  # noqa: F401


class RecommenderEngine(ABC):
    """Learns ``user_factors_`` (n_users x d) and ``item_factors_`` (n_items x d).

    ``engine`` names what trains it (``implicit`` here, ``spark`` on a cluster) and
    ``kind`` the model (``als``, ``bpr``, ``popularity``); a fitted engine of any
    (engine, kind) is scored, saved and served the same way.
    """

    kind: ClassVar[str]
    engine: ClassVar[str] = "implicit"

    def __init__(self, seed: int = 42, threads: int = 0, **params: Any) -> None:
        self.params = hyperparameters.validate(self.kind, params)
        self.seed = seed
        self.threads = threads  # worker threads of the engine; 0 = every core
        self.user_factors_: np.ndarray | None = None
        self.item_factors_: np.ndarray | None = None

    @property
    def iterations(self) -> int:
        return int(self.params.get("iterations", 1))

    def fit(
        self, user_items: sp.csr_matrix, progress: ProgressCallback | None = None
    ) -> RecommenderEngine:
        """Learn factors from a users x items confidence matrix; returns ``self``."""
        if not sp.issparse(user_items) or user_items.ndim != 2:
            raise DataError("user_items must be a 2-D scipy sparse matrix (users x items)")
        if user_items.nnz == 0:
            raise DataError("user_items has no interactions to learn from")
        matrix = user_items if (sp.isspmatrix_csr(user_items)
                                and user_items.dtype == np.float32) else (
            sp.csr_matrix(user_items, dtype=np.float32))  # no copy when it already is one
        users, items = self._fit(matrix, progress or (lambda _: None))
        self.user_factors_ = np.ascontiguousarray(users, dtype=np.float32)
        self.item_factors_ = np.ascontiguousarray(items, dtype=np.float32)
        return self

    @abstractmethod
    def _fit(
        self, matrix: sp.csr_matrix, progress: ProgressCallback
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return (user factors, item factors)."""

    def check_fitted(self) -> tuple[np.ndarray, np.ndarray]:
        if self.user_factors_ is None or self.item_factors_ is None:
            raise NotFittedError(f"this {self.kind} engine is not fitted yet: call fit() first")
        return self.user_factors_, self.item_factors_

    def fold_in(self, item_rows: np.ndarray, confidences: np.ndarray) -> np.ndarray:
        """Factors for a user unseen at training time, from the items they interacted with.

        Default: the confidence-weighted mean of the items' factors. ALS overrides
        it with the exact least-squares solve it would have done during training.
        """
        _, items = self.check_fitted()
        weights = np.asarray(confidences, dtype=np.float32)
        if len(item_rows) == 0 or weights.sum() <= 0:
            return np.zeros(items.shape[1], dtype=np.float32)
        return (weights @ items[item_rows]) / weights.sum()


class ImplicitEngine(RecommenderEngine):
    """An engine that fits with the implicit library on this machine's cores."""

    def fit(
        self, user_items: sp.csr_matrix, progress: ProgressCallback | None = None
    ) -> RecommenderEngine:
        _load_implicit()  # its BLAS must be loaded before the limit is applied to it
        with threadpool_limits(1, user_api="blas"):  # implicit parallelises; BLAS must not
            return super().fit(user_items, progress)


class ALSEngine(ImplicitEngine):
    """implicit's alternating least squares; confidence = alpha x rating."""

    kind = "als"

    def _implicit_model(self) -> Any:
        from implicit.cpu.als import AlternatingLeastSquares

        return AlternatingLeastSquares(
            factors=int(self.params["factors"]),
            regularization=float(self.params["regularization"]),
            alpha=float(self.params["alpha"]),
            iterations=int(self.params["iterations"]),
            random_state=self.seed,
            num_threads=self.threads,
        )

    def _fit(self, matrix, progress):
        model = self._implicit_model()
        model.fit(matrix, show_progress=False, callback=lambda it, *_: progress(it + 1))
        return model.user_factors, model.item_factors

    def fold_in(self, item_rows: np.ndarray, confidences: np.ndarray) -> np.ndarray:
        users, items = self.check_fitted()
        model = self._implicit_model()
        model.user_factors, model.item_factors = users, items
        row = sp.csr_matrix(
            (np.asarray(confidences, dtype=np.float32), (np.zeros(len(item_rows)), item_rows)),
            shape=(1, items.shape[0]),
        )
        _load_implicit()
        with threadpool_limits(1, user_api="blas"):
            return np.asarray(model.recalculate_user(0, row), dtype=np.float32).ravel()


class BPREngine(ImplicitEngine):
    """implicit's Bayesian personalised ranking (the last factor carries the item bias)."""

    kind = "bpr"

    def _fit(self, matrix, progress):
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        model = BayesianPersonalizedRanking(
            factors=int(self.params["factors"]),
            learning_rate=float(self.params["learning_rate"]),
            regularization=float(self.params["regularization"]),
            iterations=int(self.params["iterations"]),
            random_state=self.seed,
            num_threads=self.threads,
        )
        model.fit(matrix, show_progress=False, callback=lambda it, *_: progress(it + 1))
        return model.user_factors, model.item_factors


class PopularityEngine(RecommenderEngine):
    """Scores every item by how many users interacted with it: the baseline to beat."""

    kind = "popularity"

    def _fit(self, matrix, progress):
        counts = np.bincount(matrix.indices, minlength=matrix.shape[1]).astype(np.float32)
        progress(1)
        return np.ones((matrix.shape[0], 1), np.float32), counts[:, None] / max(counts.max(), 1)


IMPLICIT: dict[str, type[RecommenderEngine]] = {
    cls.kind: cls for cls in (ALSEngine, BPREngine, PopularityEngine)}


def engine_class(kind: str, engine: str = "implicit") -> type[RecommenderEngine]:
    """The class that trains ``kind`` with ``engine``; InvalidParameterError if none does."""
    hyperparameters.validate(kind, {})  # unknown kind -> InvalidParameterError
    hyperparameters.check_engine(engine, kind)
    if engine == "spark":  # imported only when asked for: serving implicit models never is
        from mlworkbench.models.spark_engine import SparkALSEngine

        return SparkALSEngine
    return IMPLICIT[kind]


def make_engine(kind: str, seed: int = 42, threads: int = 0, engine: str = "implicit",
                **params: Any) -> RecommenderEngine:
    """An unfitted engine of ``kind``, trained by ``engine``, with validated hyperparameters."""
    cls = engine_class(kind, engine)
    return cls(seed=seed, threads=threads, **params)
