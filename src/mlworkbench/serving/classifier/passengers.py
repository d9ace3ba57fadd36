"""A batch of served passengers as columns: checked a field at a time, scored, logged.

A ``POST /predict`` batch arrives as records. When every record is an object with the API's
own field names and every value is in its plain form (pclass 1/2/3 or "1st".., sex
"female"/"male"/"F"/"M", a number of years or null, whole counts or null, a port letter or
null), the batch is checked one column at a time (a type set, a dict lookup, a range on an
array), with no Python step per record and field. Anything else (the ``class`` alias, a
number sent as a string, a value to refuse) goes through :func:`parse_passenger` record by
record, which gives the same values or the 4xx naming the record and the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlworkbench.serving.classifier.schemas import (
    FIELDS,
    MAX_AGE,
    PCLASS,
    PORTS,
    SEX,
    Passenger,
    parse_passenger,
)
from mlworkbench.web.errors import ServiceError

MAX_COUNT = 100  # sibsp / parch, as parse_passenger allows
_NAMES = frozenset(FIELDS)
_PCLASS = {1: 1, 2: 2, 3: 3, **PCLASS}
_SEX = {**SEX, **{key.upper(): value for key, value in SEX.items()},
        **{key.capitalize(): value for key, value in SEX.items()}}
_PORT = {**{port: port for port in PORTS}, **{port.lower(): port for port in PORTS}}
_NONE = type(None)


@dataclass(frozen=True)
class Passengers:
    """Checked, typed passengers, one list per field (None: not given)."""

    pclass: list[int]
    sex: list[str]
    age: list[float | int | None]
    sibsp: list[int | None]
    parch: list[int | None]
    embarked: list[str | None]

    def __len__(self) -> int:
        return len(self.pclass)

    @classmethod
    def of(cls, passengers: Sequence[Passenger]) -> Passengers:
        return cls(*([getattr(p, name) for p in passengers] for name in FIELDS))

    def array(self, name: str) -> np.ndarray:
        """A field as the encoder takes it: numbers as float64 (None -> NaN), text as objects."""
        if name == "pclass":
            return np.array(self.pclass, dtype=np.int64)
        if name in ("sex", "embarked"):
            return np.array(getattr(self, name), dtype=object)
        return np.array(getattr(self, name), dtype=np.float64)

    def frame(self) -> pd.DataFrame:
        """The passengers as the pipeline's own input (what a challenger is asked with)."""
        return pd.DataFrame({name: self.array(name) for name in FIELDS})


def parse_passengers(records: Sequence[Any]) -> Passengers:
    """The records of a batch, checked; a 4xx (:class:`ServiceError`) names the first bad
    record and field."""
    plain = _plain(records)
    if plain is not None:
        return plain
    passengers = []
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise ServiceError(f"passengers.{index}: must be an object", f"passengers.{index}",
                               status=422)
        passengers.append(parse_passenger(record, f"passengers.{index}."))
    return Passengers.of(passengers)


def _plain(records: Sequence[Any]) -> Passengers | None:
    """The batch when every value is in its plain form, else None (checked record by record)."""
    if not all(type(record) is dict and record.keys() <= _NAMES for record in records):
        return None
    pclass = _mapped([record.get("pclass") for record in records], _PCLASS, {int, str})
    sex = _mapped([record.get("sex") for record in records], _SEX, {str})
    embarked = [record.get("embarked") for record in records]
    if not set(map(type, embarked)) <= {str, _NONE}:
        return None
    embarked = [None if port is None else _PORT.get(port, "") for port in embarked]
    age = [record.get("age") for record in records]
    sibsp = [record.get("sibsp") for record in records]
    parch = [record.get("parch") for record in records]
    if (pclass is None or sex is None or "" in embarked or not _years(age)
            or not _counts(sibsp) or not _counts(parch)):
        return None
    return Passengers(pclass, sex, age, sibsp, parch, embarked)


def _mapped(values: list[Any], known: dict[Any, Any], types: set[type]) -> list[Any] | None:
    if not set(map(type, values)) <= types:  # bool is not int here: True is refused
        return None
    out = [known.get(value) for value in values]
    return None if None in out else out


def _years(values: list[Any]) -> bool:
    if not set(map(type, values)) <= {int, float, _NONE}:
        return False
    given = [value for value in values if value is not None]
    if not given:
        return True
    years = np.array(given, dtype=np.float64)
    return bool(np.isfinite(years).all() and years.min() >= 0 and years.max() <= MAX_AGE)


def _counts(values: list[Any]) -> bool:
    if not set(map(type, values)) <= {int, _NONE}:
        return False
    given = [value for value in values if value is not None]
    return not given or (min(given) >= 0 and max(given) <= MAX_COUNT)
