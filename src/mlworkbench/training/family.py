"""What the generic training machinery asks of a model family.

:mod:`run` (one tracked run), :mod:`tune` (grid search) and :mod:`gate` (champion vs
challenger) are written once, against :class:`Trainer`; each family (the recommender,
the classifier) implements it in its own module of this package and never repeats the
MLflow, registry or grid plumbing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from mlworkbench.config import Settings
from mlworkbench.data.datasets import Dataset
from mlworkbench.training.splits import check_split

Progress = Callable[[str, int, int], None]  # (stage, done, total)
Params = dict[str, Any]


@dataclass(frozen=True)
class TrainRequest:
    """One run's choices; ``model`` and ``metric`` default to the family's own."""

    model: str | None = None
    params: Params = field(default_factory=dict)
    split: str = "random"
    test_fraction: float = 0.2
    k: int = 10
    register: bool = True

    def validated(self, trainer: Trainer) -> TrainRequest:
        """Every field checked before any work starts; typed hyperparameters filled in."""
        check_split(self.split, self.test_fraction)
        model = self.model or trainer.default_model
        request = replace(self, model=model, params=trainer.validate_params(model, self.params))
        trainer.check(request)
        return request


@dataclass(frozen=True)
class Fitted:
    """A fitted model and its scores on the test holdout, next to the baseline's."""

    model: Any
    metrics: dict[str, float]
    baseline: dict[str, float]
    params: Params  # what the run logs as parameters (the family adds its own, e.g. sizes)
    seconds: dict[str, float]
    evaluated: int  # test rows scored: users for the recommender, passengers for the classifier
    curves: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # label -> curve
    figures: dict[str, Any] = field(default_factory=dict)  # artifact path -> matplotlib figure


@dataclass(frozen=True)
class Trial:
    """One grid point's validation scores (and the model, when fitted in this process)."""

    params: Params
    metrics: dict[str, float]
    fit_seconds: float
    model: Any = None
    run_id: str = ""  # its child run, once logged


class Trainer(Protocol):
    """A model family as training, tuning and the gate see it."""

    name: str  # "recommender" | "classifier": the CLI's noun
    default_model: str  # the kind trained when none is given (als, logreg)
    baseline: str  # what every run is framed against (popularity, sex-rule)
    default_metric: str  # what tuning and the gate rank by
    key_metric: str  # what `mlwb models list` shows per version
    unit: str  # what one evaluated test row is: users, passengers

    def model_name(self, settings: Settings) -> str:
        """The registered model this family's runs become versions of."""

    def validate_params(self, model: str, params: Params) -> Params:
        """Typed hyperparameters of ``model``, or one InvalidParameterError."""

    def check(self, request: TrainRequest) -> None:
        """Family-specific checks of a request (k, the model kind) before any work."""

    def metric_names(self, k: int) -> list[str]:
        """The metrics an evaluation reports (tuning and the gate accept these)."""

    def load_data(self, settings: Settings, snapshot: str | None = None) -> Dataset:
        """The store's latest validated data of this family, or a named snapshot."""

    def fit_evaluate(self, request: TrainRequest, data: Dataset, settings: Settings,
                     progress: Progress) -> Fitted:
        """Split, fit, score model and baseline on the same holdout (no MLflow)."""

    def log_model(self, model: Any, data: Dataset, registered_model_name: str | None) -> Any:
        """Log ``model`` in the active MLflow run; returns MLflow's ModelInfo."""

    def load_model(self, uri: str) -> Any:
        """The family's model object behind an MLflow reference."""

    def gate_scores(self, models: dict[int, Any], data: Dataset, settings: Settings,
                    split: str, k: int) -> dict[int, dict[str, float]]:
        """Every version's metrics on one holdout of ``data`` (the same for all)."""

    def tuning(self, request: TrainRequest, data: Dataset, settings: Settings,
               parallel: int) -> Tuning:
        """The data of a grid search: fit|validation inside train, and train|test."""


class Named:
    """What every trainer shares: the registered name comes from ``MLWB_<NAME>_MODEL_NAME``."""

    name: str

    def model_name(self, settings: Settings) -> str:
        return settings.registered_model_name(self.name)


@dataclass(frozen=True)
class Tuning:
    """What trials need, picklable so worker processes can run them."""

    inner: Any  # fit | validation parts (trials are ranked on these)
    outer: Any  # train | test parts (the winner is refitted on train, scored on test)
    baseline: dict[str, float]  # the baseline on the test part
    run_trial: Callable[[Any, str, Params, int], Trial]  # (parts, model, params, threads)
    threads: int = 0  # per trial in workers (0: the settings' fit threads)
