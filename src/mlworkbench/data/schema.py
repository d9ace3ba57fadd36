"""The versioned data contract: what a row of each table must look like.

Validation never drops a row silently: it splits what it received into accepted rows
(typed, ready for the store) and rejected rows (as received, plus one ``reasons`` string
per row). Column checks are pandera schemas built from one rule list per table; the same
rules are written out as the schema document (:func:`schema_document`) that every
training run logs, so a model names the contract its data passed.
Duplicate keys are found with pandas, which is much faster than pandera's reporting.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from mlworkbench.errors import DataError

SCHEMA_VERSION = "2"  # 2: passengers gained the optional column embarked
REASONS = "reasons"
ALIASES = {"userId": "user_id", "movieId": "item_id", "userid": "user_id", "movieid": "item_id"}

Rule = tuple[str, Callable[[pd.Series], pd.Series]]  # (message, vectorised check)


@dataclass(frozen=True)
class Table:
    """One table's contract: typed columns, rules per column, and the duplicate key."""

    name: str
    columns: dict[str, str]  # column -> "int" | "float" | "time" | "str"
    nullable: frozenset[str]
    rules: dict[str, list[Rule]]
    key: tuple[str, ...]
    optional: frozenset[str] = frozenset()  # columns a file may leave out (then all missing)


def _whole(series: pd.Series) -> pd.Series:
    return (series > 0) & (series % 1 == 0) & (series < 2**53)  # exact as float64


def _count(series: pd.Series) -> pd.Series:
    return (series >= 0) & (series % 1 == 0) & (series <= 20)


INTERACTIONS = Table(
    "interactions", {"user_id": "int", "item_id": "int", "rating": "float", "timestamp": "time"},
    frozenset(),
    {"user_id": [("user_id must be a positive integer", _whole)],
     "item_id": [("item_id must be a positive integer", _whole)],
     "rating": [("rating must be 0.5 to 5.0 in steps of 0.5",
                 lambda s: (s >= 0.5) & (s <= 5.0) & ((s * 2) % 1 == 0))],
     "timestamp": [("timestamp must not be before 1970", lambda s: s >= 0)]},
    ("user_id", "item_id", "timestamp"),
)
ITEMS = Table(
    "items", {"item_id": "int", "title": "str", "year": "int", "genres": "str"},
    frozenset({"year", "genres"}),
    {"item_id": [("item_id must be a positive integer", _whole)],
     "title": [("title must not be empty", lambda s: s.str.strip().str.len() > 0)],
     "year": [("year must be 1870 to 2100", lambda s: (s >= 1870) & (s <= 2100) & (s % 1 == 0))]},
    ("item_id",),
)
PASSENGERS = Table(
    "passengers", {"pclass": "str", "survived": "str", "sex": "str", "age": "float",
                   "sibsp": "int", "parch": "int", "embarked": "str"},
    frozenset({"age", "survived", "embarked"}),
    {"pclass": [("pclass must be 1st, 2nd or 3rd", lambda s: s.isin(["1st", "2nd", "3rd"]))],
     "survived": [("survived must be survived or died", lambda s: s.isin(["survived", "died"]))],
     "sex": [("sex must be female or male", lambda s: s.isin(["female", "male"]))],
     "age": [("age must be 0 to 110", lambda s: (s >= 0) & (s <= 110))],
     "sibsp": [("sibsp must be a count 0 to 20", _count)],
     "parch": [("parch must be a count 0 to 20", _count)],
     "embarked": [("embarked must be C, Q or S", lambda s: s.isin(["C", "Q", "S"]))]},
    (),
    frozenset({"embarked"}),  # the offline data has no port of embarkation
)
TABLES = {table.name: table for table in (INTERACTIONS, ITEMS, PASSENGERS)}


@dataclass(frozen=True)
class Validated:
    """Accepted rows (typed) and rejected rows (as received, with ``reasons``), both indexed
    by their position in ``raw``, the rows as received."""

    accepted: pd.DataFrame
    rejected: pd.DataFrame
    raw: pd.DataFrame

    @property
    def received(self) -> int:
        return len(self.accepted) + len(self.rejected)


def conform_columns(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Rename known aliases; a missing or unknown column is an error naming it."""
    spec = TABLES[table]
    renamed = frame.rename(columns={k: v for k, v in ALIASES.items() if k in frame.columns})
    if table == "passengers":
        renamed = renamed.drop(columns=[c for c in ("rownames",) if c in renamed.columns])
    expected = list(spec.columns)
    unknown = [str(c) for c in renamed.columns if c not in spec.columns]
    missing = [c for c in expected if c not in renamed.columns and c not in spec.optional]
    renamed = renamed.assign(**{c: None for c in spec.optional if c not in renamed.columns})
    if unknown or missing:
        parts = ([f"unknown column(s) {', '.join(unknown)}"] if unknown else []) + (
            [f"missing column(s) {', '.join(missing)}"] if missing else [])
        raise DataError(f"{table} data has {' and '.join(parts)}; expected exactly: "
                        f"{', '.join(expected)} (aliases: userId, movieId)")
    return renamed[expected]


def _parse(series: pd.Series, kind: str) -> pd.Series:
    """Typed values; what cannot be parsed becomes missing (and is reported as such)."""
    if kind == "str":
        return series.where(series.isna(), series.astype(str)).astype(object)
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return series.astype("float64")
    numbers = pd.to_numeric(series, errors="coerce").astype("float64")
    if kind == "time":
        needs_time = numbers.isna() & series.notna()
        if needs_time.any():
            times = pd.to_datetime(series[needs_time], errors="coerce", utc=True,
                                   format="ISO8601")
            seconds = (times - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
            numbers[needs_time] = seconds.astype("float64")
    return numbers


def _pandera(table: Table, known_items: Collection[int] | None, now: float) -> pa.DataFrameSchema:
    columns = {}
    for name, kind in table.columns.items():
        rules = list(table.rules.get(name, []))
        if name == "timestamp":
            rules.append(("timestamp is in the future", lambda s: s <= now))
        if name == "item_id" and known_items is not None:
            known = np.fromiter(known_items, dtype="int64")
            rules.append(("item_id refers to no known item", lambda s, known=known: s.isin(known)))
        checks = [pa.Check(check, error=message) for message, check in rules]
        columns[name] = pa.Column(object if kind == "str" else "float64", checks,
                                  nullable=name in table.nullable)
    return pa.DataFrameSchema(columns)


def _missing_reason(column: str, kind: str) -> str:
    what = {"int": "a number", "float": "a number", "time": "unix seconds or ISO time",
            "str": "text"}[kind]
    return f"{column} is missing or not {what}"


def validate(raw: pd.DataFrame, table: str, known_items: Collection[int] | None = None,
             now: float | None = None) -> Validated:
    """Split ``raw`` (columns already conformed) into accepted and rejected rows."""
    spec = TABLES[table]
    raw = raw.reset_index(drop=True)
    parsed = pd.DataFrame({name: _parse(raw[name], kind) for name, kind in spec.columns.items()})
    reasons: dict[int, list[str]] = {}
    try:
        _pandera(spec, known_items, time.time() if now is None else now).validate(
            parsed, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases.dropna(subset=["index"])
        for column, check, index in cases[["column", "check", "index"]].itertuples(index=False):
            message = (_missing_reason(column, spec.columns[column])
                       if check == "not_nullable" else str(check))
            reasons.setdefault(int(index), []).append(message)
    if spec.key:
        duplicated = np.flatnonzero(parsed.duplicated(list(spec.key), keep="first").to_numpy())
        for index in duplicated:
            reasons.setdefault(int(index), []).append(
                f"duplicate of an earlier ({', '.join(spec.key)}) row")
    bad = np.zeros(len(parsed), dtype=bool)
    bad[list(reasons)] = True
    accepted = _typed(parsed[~bad], spec)
    rejected = raw[bad].copy()
    rejected[REASONS] = ["; ".join(dict.fromkeys(reasons[i])) for i in rejected.index]
    return Validated(accepted=accepted, rejected=rejected, raw=raw)


def _typed(frame: pd.DataFrame, table: Table) -> pd.DataFrame:
    out = {}
    for name, kind in table.columns.items():
        column = frame[name]
        if kind in ("int", "time"):
            column = column.astype("Int64" if name in table.nullable else "int64")
        out[name] = column
    return pd.DataFrame(out, index=frame.index)


def schema_document() -> dict[str, Any]:
    """The contract as data (JSON-able): logged with every training run."""
    return {
        "version": SCHEMA_VERSION,
        "tables": {
            table.name: {
                "columns": {
                    name: {"type": kind, "nullable": name in table.nullable,
                           "checks": [message for message, _ in table.rules.get(name, [])]}
                    for name, kind in table.columns.items()
                },
                "unique": list(table.key),
                "optional": sorted(table.optional),
                **({"references": {"item_id": "items.item_id"},
                    "extra_checks": ["timestamp is not in the future"]}
                   if table.name == "interactions" else {}),
            }
            for table in TABLES.values()
        },
    }


def save_schema(path: Path) -> Path:
    """Write the schema document as JSON (sorted, stable) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(schema_document(), indent=2, sort_keys=True) + "\n")
    return path
