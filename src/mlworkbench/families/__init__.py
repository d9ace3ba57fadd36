"""The model families the workbench knows, registered here and nowhere else.

A :class:`Family` is one object every layer asks: training, tuning and the gate use its
:attr:`~Family.trainer` (``training/``), the service its :attr:`~Family.served` part
(``serving/``), the stack its port. ``train``, ``tune``, ``promote``, ``serve``, ``models``
and ``mlwb up`` look a family up here (by name, by registered model, or by what a model
reference holds) instead of branching on a kind. Importing this registry is cheap: a family's
parts (and MLflow, scikit-learn, Evidently behind them) load when first asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlworkbench.config import Settings
from mlworkbench.errors import InvalidParameterError, ModelNotFoundError
from mlworkbench.families.classifier import CLASSIFIER
from mlworkbench.families.family import Family
from mlworkbench.families.recommender import RECOMMENDER

if TYPE_CHECKING:
    from mlworkbench.monitoring.run import Outcome
    from mlworkbench.monitoring.windows import CurrentWindow

__all__ = ["FAMILIES", "Family", "for_model", "get", "monitor", "of_reference"]

FAMILIES: dict[str, Family] = {family.name: family for family in (RECOMMENDER, CLASSIFIER)}


def get(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise InvalidParameterError("family", "mlworkbench", f"one of {sorted(FAMILIES)}",
                                    name) from None


def for_model(settings: Settings, model_name: str) -> Family:
    """The family whose runs register ``model_name``."""
    for family in FAMILIES.values():
        if family.model_name(settings) == model_name:
            return family
    known = ", ".join(f"{f.model_name(settings)} ({f.name})" for f in FAMILIES.values())
    raise ModelNotFoundError(f"no model family registers {model_name!r}; known: {known}")


def of_reference(settings: Settings, uri: str) -> Family:
    """The family of the model ``uri`` names: by its registered name, else by its flavours."""
    if uri.startswith("models:/"):
        name = uri.removeprefix("models:/").split("@")[0].split("/")[0]
        for family in FAMILIES.values():
            if family.model_name(settings) == name:
                return family
    import mlflow  # a run or a path: only the model's own metadata says

    from mlworkbench.tracking.client import translated

    with translated(f"read the model {uri!r}"):
        flavors = mlflow.models.get_model_info(uri).flavors
    # the most specific flavour wins: every model also has the generic python_function one
    matches = sorted((f for f in FAMILIES.values() if f.flavor in flavors),
                     key=lambda f: f.flavor == "python_function")
    if not matches:
        raise ModelNotFoundError(f"model {uri!r} belongs to no model family (flavours: "
                                 f"{', '.join(flavors)})")
    return matches[0]


def monitor(settings: Settings, model_name: str | None = None,
            window: CurrentWindow | None = None, k: int = 10) -> Outcome:
    """One monitoring run for ``model_name``'s champion (default: the recommender), recorded,
    with the report its family defines."""
    family = for_model(settings, model_name) if model_name else get("recommender")
    return family.monitor(settings, model_name, window, k)
