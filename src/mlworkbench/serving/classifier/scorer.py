"""P(survived) for served passengers: the pipeline's own encoder and estimator on typed
arrays, with no DataFrame and no per-call input checks in between (the values are checked
when parsed), giving the numbers ``Pipeline.predict_proba`` gives.

A profile of ``GET /predict`` showed scikit-learn's input validation (``validate_data``,
finite checks, feature-name checks) costing more than the arithmetic: for a binary
logistic regression the probability is computed as scikit-learn does it,
``expit(X @ coef.T + intercept)``; any other estimator is asked for ``predict_proba``
with the finite check off.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sklearn
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from mlworkbench.serving.classifier.passengers import Passengers


def _binary_linear(estimator: Any) -> bool:
    return (type(estimator).predict_proba is LogisticRegression.predict_proba
            and getattr(estimator, "coef_", None) is not None
            and len(getattr(estimator, "classes_", ())) == 2)


class Scorer:
    """One loaded pipeline's encoder and estimator, ready for a batch of passengers."""

    def __init__(self, pipeline: Any) -> None:
        self.encoder, self.estimator = pipeline.steps[0][1], pipeline.steps[-1][1]
        self.features: list[str] = list(self.encoder.columns_)  # fitted columns
        if _binary_linear(self.estimator):
            self._coef = self.estimator.coef_.T
            self._intercept = self.estimator.intercept_
            self._proba = self._linear
        else:
            self._proba = self._general

    def probabilities(self, passengers: Passengers) -> np.ndarray:
        """P(survived) per passenger, as float64, in order: one encode, one predict."""
        matrix = self.encoder.encode({column: passengers.array(column)
                                      for column in self.features}, len(passengers))
        return self._proba(matrix)

    def _linear(self, matrix: np.ndarray) -> np.ndarray:
        return expit(matrix @ self._coef + self._intercept).reshape(-1)

    def _general(self, matrix: np.ndarray) -> np.ndarray:
        with sklearn.config_context(assume_finite=True):
            return self.estimator.predict_proba(matrix)[:, 1].astype(np.float64)
