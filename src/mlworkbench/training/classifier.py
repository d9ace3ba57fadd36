"""The classifier family as training sees it: a scikit-learn Pipeline on the store's labelled
passengers, framed by the sex-only rule on the same stratified holdout, with 5-fold CV."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlworkbench.config import Settings
from mlworkbench.data.datasets import Passengers
from mlworkbench.data.ingest import passenger_snapshot
from mlworkbench.data.schema import schema_document
from mlworkbench.errors import InvalidParameterError
from mlworkbench.models import classifier as clf
from mlworkbench.models.pyfunc_classifier import load_classifier, log_classifier
from mlworkbench.training import classification, classifier_plots
from mlworkbench.training.family import Fitted, Named, Params, Progress, TrainRequest, Trial, Tuning

CV_FOLDS = 5


@dataclass(frozen=True)
class Parts:
    """Rows to fit on and rows to score on (picklable, for tuning workers)."""

    x_fit: pd.DataFrame
    y_fit: np.ndarray
    x_eval: pd.DataFrame
    y_eval: np.ndarray
    seed: int


def _parts(x: pd.DataFrame, y: np.ndarray, fit: np.ndarray, score: np.ndarray,
           seed: int) -> Parts:
    return Parts(x.iloc[fit].reset_index(drop=True), y[fit],
                 x.iloc[score].reset_index(drop=True), y[score], seed)


def _holdout(data: Passengers, test_fraction: float, seed: int) -> tuple[pd.DataFrame,
                                                                          np.ndarray, Parts]:
    x, y = clf.features_frame(data.passengers), clf.labels(data.passengers)
    train, test = classification.holdout(y, test_fraction, seed)
    return x, y, _parts(x, y, train, test, seed)


def run_trial(parts: Parts, model: str, params: Params, threads: int) -> Trial:
    started = time.perf_counter()
    fitted = clf.make_classifier(model, parts.seed, **params).fit(parts.x_fit, parts.y_fit)
    seconds = time.perf_counter() - started
    return Trial(params, classification.evaluate(fitted, parts.x_eval, parts.y_eval), seconds,
                 fitted)


def _baseline(parts: Parts) -> Any:
    return clf.make_baseline().fit(parts.x_fit, parts.y_fit)


class ClassifierTrainer(Named):
    """Survival of Titanic passengers (the store's passengers; Titanic by default)."""

    name, default_model, baseline, default_metric, key_metric, unit = (
        "classifier", "logreg", "sex_rule", "roc_auc", "roc_auc", "passengers")

    def validate_params(self, model: str, params: Params) -> Params:
        return clf.validate_params(model, params)

    def check(self, request: TrainRequest) -> None:
        if request.split != "random":
            raise InvalidParameterError("split", "classifier training",
                                        "random (a stratified holdout)", request.split)

    def metric_names(self, k: int) -> list[str]:
        return list(classification.METRICS)

    def load_data(self, settings: Settings, snapshot: str | None = None) -> Passengers:
        return passenger_snapshot(settings, snapshot)

    def fit_evaluate(self, request: TrainRequest, data: Passengers, settings: Settings,
                     progress: Progress) -> Fitted:
        kind = request.model or self.default_model
        _, _, parts = _holdout(data, request.test_fraction, settings.seed)
        progress("fit", 0, 1)
        trial = run_trial(parts, kind, request.params, settings.fit_threads)
        progress("fit", 1, 1)
        started = time.perf_counter()
        progress("evaluate", 0, 2)
        cv = classification.cross_validate(kind, request.params, parts.x_fit, parts.y_fit,
                                           CV_FOLDS, settings.seed)
        baseline = _baseline(parts)
        progress("evaluate", 2, 2)
        proba = trial.model.predict_proba(parts.x_eval)[:, 1]
        baseline_proba = baseline.predict_proba(parts.x_eval)[:, 1]
        seconds = {"fit_seconds": trial.fit_seconds,
                   "evaluate_seconds": time.perf_counter() - started}
        figures = {
            "plots/confusion_matrix.png": classifier_plots.confusion_matrix(parts.y_eval, proba),
            "plots/roc.png": classifier_plots.roc_curve(
                {kind: (parts.y_eval, proba), self.baseline: (parts.y_eval, baseline_proba)}),
            "plots/calibration.png": classifier_plots.calibration(parts.y_eval, proba),
        }
        params = {"n_train": len(parts.y_fit), "n_test": len(parts.y_eval),
                  "features": ",".join(parts.x_fit.columns), "cv_folds": CV_FOLDS,
                  **clf.validate_params(kind, request.params)}
        return Fitted(trial.model, {**trial.metrics, **cv},
                      classification.scores(parts.y_eval, baseline_proba), params, seconds,
                      len(parts.y_eval), figures=figures)

    def log_model(self, model: Any, data: Passengers, registered_model_name: str | None) -> Any:
        features = clf.features_frame(data.passengers)
        return log_classifier(model, features, registered_model_name, schema_document())

    def load_model(self, uri: str) -> Any:
        return load_classifier(uri)[0]

    def gate_scores(self, models: dict[int, Any], data: Passengers, settings: Settings,
                    split: str, k: int) -> dict[int, dict[str, float]]:
        _, _, parts = _holdout(data, 0.2, settings.seed)
        return {version: classification.evaluate(model, parts.x_eval, parts.y_eval)
                for version, model in models.items()}

    def tuning(self, request: TrainRequest, data: Passengers, settings: Settings,
               parallel: int) -> Tuning:
        x, y, outer = _holdout(data, request.test_fraction, settings.seed)
        fit, validate = classification.validation_split(outer.y_fit, request.test_fraction,
                                                        settings.seed)
        inner = _parts(outer.x_fit, outer.y_fit, fit, validate, settings.seed)
        baseline = classification.evaluate(_baseline(outer), outer.x_eval, outer.y_eval)
        return Tuning(inner, outer, baseline, run_trial)


CLASSIFIER = ClassifierTrainer()
