"""The recommender family as training sees it: implicit ALS/BPR (or popularity) on
interactions, ranked against the popularity baseline on a per-user holdout."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from mlworkbench.config import Settings
from mlworkbench.data.datasets import Interactions
from mlworkbench.data.ingest import training_snapshot
from mlworkbench.models import hyperparameters
from mlworkbench.models.engines import make_engine
from mlworkbench.models.pyfunc import load_recommender, log_recommender
from mlworkbench.models.recommender import Recommender, check_k
from mlworkbench.training import plots
from mlworkbench.training.evaluate import Evaluation, evaluate, metric_names, sample_users
from mlworkbench.training.family import Fitted, Named, Params, Progress, TrainRequest, Trial, Tuning
from mlworkbench.training.splits import Split
from mlworkbench.training.splits import split as make_split

BASELINE = "popularity"
# Run options carried with the hyperparameters: who fits the model (implicit here, or spark on
# MLWB_SPARK_MASTER) and how many test users are scored (None: all of them).
ENGINE, EVAL_USERS = "engine", "eval_users"


def id_maps(data: Interactions) -> tuple[np.ndarray, np.ndarray]:
    """Every user (sorted) and every catalogue item: the rows all models of one run share."""
    return np.sort(data.ratings["user_id"].unique()), data.items["item_id"].to_numpy()


@dataclass(frozen=True)
class Parts:
    """A split with what every model fitted on it shares (picklable, for tuning workers)."""

    holdout: Split
    items: Any
    user_ids: np.ndarray
    item_ids: np.ndarray
    seed: int
    k: int


def _parts(holdout: Split, data: Interactions, seed: int, k: int) -> Parts:
    return Parts(holdout, data.items, *id_maps(data), seed, k)


def _fit(parts: Parts, model: str, params: Params, threads: int,
         progress: Progress | None = None) -> Recommender:
    hyper = {key: value for key, value in params.items() if key != EVAL_USERS}
    engine = make_engine(model, seed=parts.seed, threads=threads, **hyper)
    report = (lambda done: progress("fit", done, engine.iterations)) if progress else None
    return Recommender.fit(engine, parts.holdout.train, parts.items, parts.user_ids,
                           parts.item_ids, progress=report)


def _baseline(parts: Parts) -> Evaluation:
    """The popularity baseline, fitted and scored on the same split as the model it frames."""
    return evaluate(_fit(parts, BASELINE, {}, 1), parts.holdout.test, parts.k)


def run_trial(parts: Parts, model: str, params: Params, threads: int) -> Trial:
    started = time.perf_counter()
    fitted = _fit(parts, model, params, threads)
    seconds = time.perf_counter() - started
    return Trial(params, evaluate(fitted, parts.holdout.test, parts.k).metrics, seconds, fitted)


class RecommenderTrainer(Named):
    """Collaborative filtering on the store's interactions (MovieLens by default)."""

    name, default_model, baseline, default_metric, key_metric, unit = (
        "recommender", "als", BASELINE, "ndcg_at_10", "precision_at_10", "users")

    def validate_params(self, model: str, params: Params) -> Params:
        options = {key: params[key] for key in (ENGINE, EVAL_USERS) if params.get(key) is not None}
        typed = hyperparameters.validate(model, {key: value for key, value in params.items()
                                                 if key not in (ENGINE, EVAL_USERS)})
        if ENGINE in options:
            typed[ENGINE] = hyperparameters.check_engine(str(options[ENGINE]), model)
        if EVAL_USERS in options:
            typed[EVAL_USERS] = hyperparameters.check_eval_users(options[EVAL_USERS])
        return typed

    def check(self, request: TrainRequest) -> None:
        check_k(request.k)

    def metric_names(self, k: int) -> list[str]:
        return metric_names(k)

    def load_data(self, settings: Settings, snapshot: str | None = None) -> Interactions:
        return training_snapshot(settings, snapshot)

    def fit_evaluate(self, request: TrainRequest, data: Interactions, settings: Settings,
                     progress: Progress) -> Fitted:
        holdout = make_split(data.ratings, request.split, request.test_fraction, settings.seed)
        parts = _parts(holdout, data, settings.seed, request.k)
        started = time.perf_counter()
        model = _fit(parts, request.model or self.default_model, request.params,
                     settings.fit_threads, progress)
        seconds = {"fit_seconds": time.perf_counter() - started}
        started = time.perf_counter()
        progress("evaluate", 0, 2)
        test = sample_users(holdout.test, request.params.get(EVAL_USERS), settings.seed)
        parts = replace(parts, holdout=replace(holdout, test=test))  # the baseline's users too
        evaluation = evaluate(model, test, request.k)
        baseline = _baseline(parts)
        progress("evaluate", 2, 2)
        seconds["evaluate_seconds"] = time.perf_counter() - started
        label = request.model or self.default_model
        curves = {label: evaluation.curve, BASELINE: baseline.curve}
        figure = plots.metric_curves(
            curves, f"{data.name}: {label} vs {BASELINE} ({request.split} holdout)")
        return Fitted(model, evaluation.metrics, baseline.metrics,
                      {"n_users": len(model.user_ids), "n_items": model.n_items,
                       ENGINE: model.engine.engine,
                       EVAL_USERS: request.params.get(EVAL_USERS) or "all",
                       **model.engine.params},
                      seconds, evaluation.users, curves, {"plots/metrics_at_k.png": figure})

    def log_model(self, model: Recommender, data: Interactions,
                  registered_model_name: str | None) -> Any:
        return log_recommender(model, registered_model_name=registered_model_name)

    def load_model(self, uri: str) -> Recommender:
        return load_recommender(uri)[0]

    def gate_scores(self, models: dict[int, Any], data: Interactions, settings: Settings,
                    split: str, k: int) -> dict[int, dict[str, float]]:
        check_k(k)
        holdout = make_split(data.ratings, split, 0.2, settings.seed)
        return {version: evaluate(model, holdout.test, k).metrics
                for version, model in models.items()}

    def tuning(self, request: TrainRequest, data: Interactions, settings: Settings,
               parallel: int) -> Tuning:
        holdout = make_split(data.ratings, request.split, request.test_fraction, settings.seed)
        inner = make_split(holdout.train, request.split, request.test_fraction,
                           settings.seed + 1)
        outer = _parts(holdout, data, settings.seed, request.k)
        return Tuning(_parts(inner, data, settings.seed, request.k), outer,
                      _baseline(outer).metrics, run_trial)


RECOMMENDER = RecommenderTrainer()
