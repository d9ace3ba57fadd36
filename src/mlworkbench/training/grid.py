"""Hyperparameter grids: parsed from ``name=v1,v2`` strings or a YAML/JSON file, validated whole.

Every value of every combination is checked before any training starts, so a typo
fails in one line instead of after an hour of trials.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from mlworkbench.errors import InvalidParameterError

Grid = dict[str, list[int | float]]


def parse_grid_option(option: str) -> tuple[str, list[str]]:
    """``"factors=32,64"`` -> ("factors", ["32", "64"])."""
    name, sep, values = option.partition("=")
    name = name.strip()
    if not sep or not name:
        raise InvalidParameterError("--grid", "tune", "of the form name=v1,v2,...", option)
    parts = [v.strip() for v in values.split(",")]
    if not values.strip() or any(not v for v in parts):
        raise InvalidParameterError(name, "the grid", "a comma-separated list of values", values)
    return name, parts


def read_grid_file(path: Path) -> dict[str, list[Any]]:
    """A mapping of parameter name to a list of values, in YAML (or JSON, which is YAML)."""
    import yaml

    try:
        loaded = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidParameterError("--grid-file", "tune", "a readable YAML mapping",
                                    str(path)) from exc
    if not isinstance(loaded, Mapping):
        raise InvalidParameterError("--grid-file", "tune", "a mapping of name: [values]",
                                    type(loaded).__name__)
    return {str(k): v if isinstance(v, list) else [v] for k, v in loaded.items()}


Validate = Callable[[dict[str, Any]], dict[str, Any]]  # the family's hyperparameter check


def build_grid(validate: Validate, options: Iterable[str] = (), file: Path | None = None,
               given: Mapping[str, list[Any]] | None = None) -> Grid:
    """Merge ``--grid`` options, a grid file and a ``given`` mapping (an API request's);
    check every value with ``validate``."""
    raw: dict[str, list[Any]] = read_grid_file(file) if file else {}
    for name, values in (given or {}).items():
        if name in raw:
            raise InvalidParameterError(name, "the grid", "given once", "twice")
        raw[name] = values if isinstance(values, list) else [values]
    for option in options:
        name, values = parse_grid_option(option)
        if name in raw:
            raise InvalidParameterError(name, "the grid", "given once", "twice")
        raw[name] = values
    if not raw:
        raise InvalidParameterError("grid", "tune", "at least one --grid name=values", "nothing")
    grid: Grid = {}
    for name, values in raw.items():
        if not values:
            raise InvalidParameterError(name, "the grid", "a non-empty list of values", values)
        typed = [validate({name: value})[name] for value in values]
        grid[name] = list(dict.fromkeys(typed))  # drop repeats, keep order
    return grid


def combinations(grid: Grid) -> list[dict[str, int | float]]:
    """Every point of the grid, in a stable order (last parameter varies fastest)."""
    names = list(grid)
    return [dict(zip(names, values, strict=True))
            for values in itertools.product(*(grid[n] for n in names))]


def describe(grid: Grid) -> str:
    return json.dumps(grid, sort_keys=True)
