"""A passenger as the classifier's API takes it (GET query or POST record), checked field by
field: every 4xx names the parameter at fault."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mlworkbench.serving.schemas import ModelRef
from mlworkbench.web.errors import ServiceError

PCLASS = {"1": 1, "2": 2, "3": 3, "1st": 1, "2nd": 2, "3rd": 3}
SEX = {"female": "female", "male": "male", "f": "female", "m": "male"}
PORTS = ("C", "Q", "S")
ALIASES = {"class": "pclass"}  # the seed's name for the passenger class
FIELDS = ("pclass", "sex", "age", "sibsp", "parch", "embarked")
MAX_AGE = 120


class Passenger(BaseModel):
    """One passenger, typed (what the model gets)."""

    pclass: int = Field(description="1, 2 or 3 (also 1st/2nd/3rd; `class` is accepted too)")
    sex: str = Field(description="female or male (also F/M)")
    age: float | None = Field(default=None, description=f"years, 0 to {MAX_AGE}; may be omitted")
    sibsp: int | None = Field(default=None, description="siblings/spouses aboard, >= 0")
    parch: int | None = Field(default=None, description="parents/children aboard, >= 0")
    embarked: str | None = Field(default=None, description="port: C, Q or S; may be omitted")


class PredictionsRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"passengers": [
        {"pclass": 1, "sex": "female", "age": 29, "sibsp": 0, "parch": 0},
        {"class": "3rd", "sex": "M", "age": 40}]}]})

    passengers: list[dict[str, Any]] = Field(
        min_length=1, description="records with the fields of GET /predict; at most "
        "MLWB_MAX_BATCH_USERS (default 10,000), more gets 413")


class Prediction(BaseModel):
    survived: bool
    probability: float = Field(description="P(survived)")


class PredictionResponse(Prediction):
    request_id: str
    model: ModelRef


class PredictionsResponse(BaseModel):
    request_id: str
    model: ModelRef
    predictions: list[Prediction]


def _bad(field: str, allowed: str, value: object) -> ServiceError:
    return ServiceError(f"{field}: must be {allowed}; received {value!r}", field, status=422)


def _count(field: str, value: object) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise _bad(field, "a whole number >= 0", value) from None
    if isinstance(value, bool) or not number.is_integer() or not 0 <= number <= 100:
        raise _bad(field, "a whole number >= 0", value)
    return int(number)


def parse_passenger(values: Mapping[str, Any], where: str = "") -> Passenger:
    """A passenger from raw values (query strings or JSON), or a 4xx naming the field."""
    given: dict[str, Any] = {}
    for name, value in values.items():
        field = ALIASES.get(name, name)
        if field not in FIELDS:
            raise ServiceError(f"{where}{name}: unknown parameter; expected "
                               f"{', '.join(FIELDS)} (or class)", f"{where}{name}", status=422)
        given[field] = value
    for required in ("pclass", "sex"):
        if given.get(required) in (None, ""):
            raise ServiceError(f"{where}{required}: required", f"{where}{required}", status=422)
    pclass = PCLASS.get(str(given["pclass"]).strip().lower())
    if pclass is None or isinstance(given["pclass"], bool):
        raise _bad(f"{where}pclass", "1, 2, 3 (or 1st, 2nd, 3rd)", given["pclass"])
    sex = SEX.get(str(given["sex"]).strip().lower())
    if sex is None:
        raise _bad(f"{where}sex", "female or male (or F, M)", given["sex"])
    age = given.get("age")
    if age is not None and age != "":
        try:
            age = float(age)
        except (TypeError, ValueError):
            raise _bad(f"{where}age", f"a number of years, 0 to {MAX_AGE}", age) from None
        if isinstance(given["age"], bool) or not (math.isfinite(age) and 0 <= age <= MAX_AGE):
            raise _bad(f"{where}age", f"a number of years, 0 to {MAX_AGE}", given["age"])
    else:
        age = None
    embarked = given.get("embarked")
    if embarked not in (None, ""):
        embarked = str(embarked).strip().upper()
        if embarked not in PORTS:
            raise _bad(f"{where}embarked", "C, Q or S", given["embarked"])
    else:
        embarked = None
    # every value is checked and typed above: no second validation per record
    return Passenger.model_construct(pclass=pclass, sex=sex, age=age,
                                     sibsp=_count(f"{where}sibsp", given.get("sibsp")),
                                     parch=_count(f"{where}parch", given.get("parch")),
                                     embarked=embarked)
