"""The Titanic survival classifier: passenger features, two model kinds and the sex-only rule.

The model input is one frame per passenger, :data:`FEATURES` plus ``embarked`` where the
data has it. A model is a scikit-learn Pipeline: :class:`PassengerEncoder` (imputation with
missing-value indicators and scaling for the counts, one-hot for the categories, built at
fit time from the columns it sees) then logistic regression or histogram gradient boosting.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import ThreadpoolController

from mlworkbench.errors import DataError, InvalidParameterError, NotFittedError
from mlworkbench.models.hyperparameters import Param

FEATURES = ("pclass", "sex", "age", "sibsp", "parch")
OPTIONAL_FEATURES = ("embarked",)
NUMERIC = ("age", "sibsp", "parch")
KINDS = ("logreg", "gbm")
BASELINE = "sex-rule"
_PCLASS = {"1st": 1, "2nd": 2, "3rd": 3, "1": 1, "2": 2, "3": 3}
_LABELS = {"survived": 1, "died": 0}

CLASSIFIER_SPECS: dict[str, dict[str, Param]] = {
    "logreg": {
        "C": Param(float, 1.0, 1e-6, 1e6, "inverse L2 penalty"),
        "max_iter": Param(int, 1000, 10, 100_000, "solver iterations"),
    },
    "gbm": {
        "learning_rate": Param(float, 0.05, 1e-4, 1.0, "shrinkage per boosting step"),
        "max_iter": Param(int, 100, 1, 5000, "boosting steps (trees)"),
        "max_depth": Param(int, 3, 1, 64, "depth of each tree"),
        "min_samples_leaf": Param(int, 20, 1, 1000, "passengers per leaf at least"),
        "l2_regularization": Param(float, 0.0, 0.0, 100.0, "L2 penalty on leaf values"),
    },
}


def validate_params(kind: str, params: Mapping[str, Any]) -> dict[str, int | float]:
    """Typed hyperparameters of classifier ``kind``: defaults filled in, unknown names refused."""
    if kind not in CLASSIFIER_SPECS:
        raise InvalidParameterError("model", "the classifier", f"one of {list(KINDS)}", kind)
    specs, owner = CLASSIFIER_SPECS[kind], f"the {kind} classifier"
    for name in sorted(params):
        if name not in specs:
            raise InvalidParameterError("name", f"a hyperparameter of {owner}",
                                        f"one of {sorted(specs)}", name)
    given = {name: value for name, value in params.items() if value is not None}
    return {name: spec.coerce(name, owner, given[name]) if name in given else spec.default
            for name, spec in specs.items()}


def features_frame(passengers: pd.DataFrame) -> pd.DataFrame:
    """The model input: pclass 1/2/3, sex, age (NaN allowed), sibsp, parch[, embarked].

    Takes the data store's form (pclass "1st"/"2nd"/"3rd", ``survived`` dropped) or the
    model's own form. ``embarked`` is kept only when some passenger has one.
    """
    missing = [column for column in FEATURES if column not in passengers.columns]
    if missing:
        raise DataError(f"passengers have no column(s) {', '.join(missing)}; "
                        f"expected {', '.join(FEATURES)} (and optionally embarked)")
    frame = pd.DataFrame(index=passengers.index)
    frame["pclass"] = _pclass(passengers["pclass"])
    if passengers["sex"].isna().any():
        raise DataError("sex is missing for some passengers; give female or male")
    frame["sex"] = passengers["sex"].astype(str).to_numpy(dtype=object)
    frame["age"] = _numbers(passengers["age"], "age", allow_missing=True)
    for column in ("sibsp", "parch"):
        frame[column] = _numbers(passengers[column], column, allow_missing=False)
    if "embarked" in passengers.columns and passengers["embarked"].notna().any():
        embarked = passengers["embarked"]
        frame["embarked"] = [None if pd.isna(port) else str(port) for port in embarked]
    return frame


def _pclass(values: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values) and not values.isna().any():
        codes = values.astype("int64")
    else:
        codes = values.map(lambda value: _PCLASS.get(str(value)))
    bad = codes.isna() | ~codes.isin([1, 2, 3])
    if bad.any():
        raise DataError(f"pclass must be 1st/2nd/3rd or 1/2/3; received {values[bad].iloc[0]!r}")
    return codes.astype("int64")


def _numbers(values: pd.Series, name: str, allow_missing: bool) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    unreadable = numbers.isna() & values.notna()
    if unreadable.any():
        raise DataError(f"{name} must be a number; received {values[unreadable].iloc[0]!r}")
    if allow_missing:
        return numbers
    if numbers.isna().any():
        raise DataError(f"{name} is missing for some passengers; give a count (0 if none)")
    fractional = numbers != numbers.round()
    if fractional.any():
        raise DataError(f"{name} must be a whole count; received {numbers[fractional].iloc[0]}")
    return numbers.astype("int64")


def labels(passengers: pd.DataFrame) -> np.ndarray:
    """survived -> 1, died -> 0; a passenger without a known outcome is an error."""
    if "survived" not in passengers.columns:
        raise DataError("passengers have no survived column: labels need survived/died")
    codes = passengers["survived"].map(_LABELS)
    if codes.isna().any():
        unlabelled = int(codes.isna().sum())
        raise DataError(f"{unlabelled} passenger(s) have no survived/died label (first: "
                        f"{passengers['survived'][codes.isna()].iloc[0]!r}); drop them first")
    return codes.to_numpy(dtype=np.int64)


class PassengerEncoder(TransformerMixin, BaseEstimator):
    """Counts imputed (with missing indicators) and scaled, categories one-hot encoded.

    Which categorical columns exist is decided by the frame given to ``fit``:
    ``embarked`` is encoded only if the training data had it. ``fit`` fits a plain
    scikit-learn ColumnTransformer; ``transform`` applies its fitted statistics with a
    few array operations (same numbers, tested), because the ColumnTransformer's own
    checks cost milliseconds per call, which a served prediction of one passenger pays.
    """

    def fit(self, X: pd.DataFrame, y: Any = None) -> PassengerEncoder:
        self.columns_ = [c for c in (*FEATURES, *OPTIONAL_FEATURES) if c in X.columns]
        categorical = [c for c in self.columns_ if c not in NUMERIC]
        self.transformer_ = ColumnTransformer([
            ("counts", make_pipeline(SimpleImputer(add_indicator=True, keep_empty_features=True),
                                     StandardScaler()), list(NUMERIC)),
            ("categories", OneHotEncoder(handle_unknown="ignore", sparse_output=False),
             categorical),
        ]).fit(self._select(X))
        imputer, scaler = self.transformer_.named_transformers_["counts"]
        self.fill_ = imputer.statistics_
        self.indicated_ = (imputer.indicator_.features_ if imputer.indicator_ is not None
                           else np.array([], dtype=np.int64))
        self.mean_, self.scale_ = scaler.mean_, scaler.scale_
        encoder = self.transformer_.named_transformers_["categories"]
        self.categories_ = {column: _missing_as_none(levels)
                            for column, levels in zip(categorical, encoder.categories_,
                                                      strict=True)}
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        if not hasattr(self, "transformer_"):
            raise NotFittedError("the passenger encoder is used before fit")
        self._check_columns(X)
        return self.encode({c: X[c] for c in X.columns}, len(X))

    def encode(self, columns: Mapping[str, Any], rows: int) -> np.ndarray:
        """The model matrix of ``rows`` passengers given as columns (arrays, lists or Series):
        what :meth:`transform` returns, without a DataFrame (the served path builds none)."""
        try:
            numbers = np.column_stack([np.asarray(columns[c], dtype=np.float64)
                                       for c in NUMERIC])
        except (TypeError, ValueError) as exc:
            raise DataError(f"age, sibsp and parch must be numbers: {exc}") from exc
        missing = np.isnan(numbers)
        filled = np.hstack([np.where(missing, self.fill_, numbers), missing[:, self.indicated_]])
        blocks = [(filled - self.mean_) / self.scale_]
        for column, levels in self.categories_.items():  # absent optional column: unknown
            values = (np.asarray(columns[column], dtype=object) if column in columns
                      else np.full(rows, None))
            blocks.append((_missing_as_none(values)[:, None] == levels[None, :]).astype(float))
        return np.hstack(blocks)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return self.transformer_.get_feature_names_out()

    def _select(self, X: pd.DataFrame) -> pd.DataFrame:
        """The fitted columns; an optional one the input lacks counts as unknown."""
        self._check_columns(X)
        frame = X.reindex(columns=self.columns_)
        for column in OPTIONAL_FEATURES:
            if column in self.columns_ and column not in X.columns:
                frame[column] = None
        return frame

    @staticmethod
    def _check_columns(X: pd.DataFrame) -> None:
        missing = [c for c in FEATURES if c not in X.columns]
        if missing:
            raise DataError(f"passengers have no column(s) {', '.join(missing)}")


def _missing_as_none(values: np.ndarray) -> np.ndarray:
    """Object array with every missing marker (None, NaN) as None, so they compare equal."""
    values = np.asarray(values, dtype=object).copy()
    values[pd.isna(values)] = None
    return values


@cache
def _threads() -> ThreadpoolController:
    return ThreadpoolController()


class SerialBoostingClassifier(HistGradientBoostingClassifier):
    """Histogram gradient boosting on one OpenMP thread.

    A thousand passengers are too few to share out: on a busy two-core machine the
    default thread team made one fit take seconds instead of a fraction of one, and a
    single-passenger prediction pays for waking the team.
    """

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> SerialBoostingClassifier:
        with _threads().limit(limits=1, user_api="openmp"):
            return super().fit(X, y, sample_weight)

    def predict(self, X: Any) -> np.ndarray:
        with _threads().limit(limits=1, user_api="openmp"):
            return super().predict(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        with _threads().limit(limits=1, user_api="openmp"):
            return super().predict_proba(X)

    def decision_function(self, X: Any) -> np.ndarray:
        with _threads().limit(limits=1, user_api="openmp"):
            return super().decision_function(X)


def make_classifier(kind: str, seed: int = 42, **params: Any) -> Pipeline:
    """An unfitted Pipeline of kind ``logreg`` or ``gbm`` with validated hyperparameters."""
    typed = validate_params(kind, params)
    model: BaseEstimator
    if kind == "logreg":
        model = LogisticRegression(C=typed["C"], max_iter=int(typed["max_iter"]),
                                   random_state=seed)
    else:
        model = SerialBoostingClassifier(**typed, random_state=seed)
    return Pipeline([("features", PassengerEncoder()), ("model", model)])


class SexRule(ClassifierMixin, BaseEstimator):
    """The baseline: P(survived) is the survival rate of the passenger's sex in training."""

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> SexRule:
        outcome = pd.Series(np.asarray(y, dtype=np.float64), index=X.index)
        self.rates_ = outcome.groupby(X["sex"].astype(str)).mean().to_dict()
        self.prior_ = float(outcome.mean())
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        if not hasattr(self, "rates_"):
            raise NotFittedError("the sex rule is used before fit")
        survived = X["sex"].astype(str).map(self.rates_).fillna(self.prior_).to_numpy(float)
        return np.column_stack([1.0 - survived, survived])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(np.int64)


def make_baseline() -> SexRule:
    return SexRule()
