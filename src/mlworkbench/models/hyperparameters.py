"""Hyperparameters of every recommender engine, validated once, here.

Each engine declares its parameters as :class:`Param` specs (type, bounds,
default); :func:`validate` turns user input (CLI strings, grid values, saved
JSON) into typed values or raises one :class:`InvalidParameterError` wording.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlworkbench.errors import InvalidParameterError


@dataclass(frozen=True)
class Param:
    type: type  # int or float
    default: int | float
    low: float
    high: float
    doc: str

    def describe(self) -> str:
        kind = "an integer" if self.type is int else "a number"
        return f"{kind} in [{_fmt(self.low)}, {_fmt(self.high)}]"

    def coerce(self, name: str, owner: str, value: Any) -> int | float:
        try:
            if isinstance(value, bool):
                raise ValueError
            if self.type is int:
                number = float(value)
                if not number.is_integer():
                    raise ValueError
                typed: int | float = int(number)
            else:
                typed = float(value)
                if math.isnan(typed):
                    raise ValueError
        except (TypeError, ValueError):
            raise InvalidParameterError(name, owner, self.describe(), value) from None
        if not self.low <= typed <= self.high:
            raise InvalidParameterError(name, owner, self.describe(), value)
        return typed


def _fmt(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else str(bound)


SPECS: dict[str, dict[str, Param]] = {
    "als": {
        "factors": Param(int, 64, 1, 1024, "latent dimensions"),
        "iterations": Param(int, 15, 1, 500, "ALS sweeps over users and items"),
        "regularization": Param(float, 0.05, 0.0, 100.0, "L2 penalty on the factors"),
        "alpha": Param(float, 1.0, 1e-6, 1e4, "confidence per unit of rating: c = alpha * rating"),
    },
    "bpr": {
        "factors": Param(int, 64, 1, 1024, "latent dimensions"),
        "iterations": Param(int, 100, 1, 5000, "SGD epochs"),
        "regularization": Param(float, 0.01, 0.0, 100.0, "L2 penalty on the factors"),
        "learning_rate": Param(float, 0.01, 1e-6, 10.0, "SGD step size"),
    },
    "popularity": {},
}


# Which engine trains which kinds: implicit on this machine (every kind) or Apache Spark
# MLlib on the cluster MLWB_SPARK_MASTER names (ALS only), with the same hyperparameters.
ENGINE_KINDS: dict[str, tuple[str, ...]] = {"implicit": tuple(SPECS), "spark": ("als",)}


def engine_kinds() -> list[str]:
    return list(SPECS)


def check_eval_users(users: Any) -> int:
    """How many test users an evaluation samples: a positive integer."""
    return int(Param(int, 1, 1, 2**31 - 1, "test users scored").coerce(
        "eval_users", "the evaluation", users))


def check_engine(engine: str, kind: str) -> str:
    """``engine`` if it can train ``kind``; otherwise one InvalidParameterError."""
    if engine not in ENGINE_KINDS:
        raise InvalidParameterError("engine", "the recommender", f"one of {list(ENGINE_KINDS)}",
                                    engine)
    if kind in SPECS and kind not in ENGINE_KINDS[engine]:
        able = [name for name, kinds in ENGINE_KINDS.items() if kind in kinds]
        raise InvalidParameterError("engine", f"the {kind} recommender", f"one of {able}",
                                    engine)
    return engine


def validate(kind: str, values: Mapping[str, Any]) -> dict[str, int | float]:
    """Typed hyperparameters of engine ``kind``: defaults filled in, unknown names refused."""
    if kind not in SPECS:
        raise InvalidParameterError("model", "the recommender", f"one of {engine_kinds()}", kind)
    specs = SPECS[kind]
    owner = f"the {kind} recommender"
    unknown = sorted(set(values) - set(specs))
    if unknown:
        allowed = f"one of {sorted(specs)}" if specs else "none (it has no hyperparameters)"
        raise InvalidParameterError("name", f"a hyperparameter of {owner}", allowed, unknown[0])
    typed = {name: spec.default for name, spec in specs.items()}
    for name, value in values.items():
        if value is not None:
            typed[name] = specs[name].coerce(name, owner, value)
    return typed
