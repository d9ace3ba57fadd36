"""Rows held as one list per column: how a writer hands many rows to the store.

A dict per row costs a Python object per row to build and another pass to take apart again
for a multi-row statement; a served response's rows share most of their values (its request
id, time and model), which a column repeats at C speed (``[value] * n``). The prediction log
builds its rows this way and turns them into dicts only where a row has to stand alone (a
journal line, a driver that takes dicts).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mlworkbench.errors import DataError


@dataclass(frozen=True)
class Columns:
    """Equal-length lists, one per column name, in the order the names were given."""

    values: dict[str, list[Any]]

    def __post_init__(self) -> None:
        lengths = {len(column) for column in self.values.values()}
        if len(lengths) > 1:
            raise DataError(f"columns of different lengths: {self.lengths()}")

    def lengths(self) -> dict[str, int]:
        return {name: len(column) for name, column in self.values.items()}

    def __len__(self) -> int:
        return len(next(iter(self.values.values()), ()))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.values)

    def slice(self, start: int, stop: int) -> Columns:
        return Columns({name: column[start:stop] for name, column in self.values.items()})

    def rows(self) -> list[dict[str, Any]]:
        """One dict per row (a journal line, a driver that takes dicts)."""
        names = self.names
        return [dict(zip(names, row, strict=True))
                for row in zip(*self.values.values(), strict=True)]

    @classmethod
    def of_rows(cls, rows: Sequence[dict[str, Any]]) -> Columns:
        """The columns of ``rows``, each of which must have the first row's keys."""
        if not rows:
            return cls({})
        names = tuple(rows[0])
        try:
            return cls({name: [row[name] for row in rows] for name in names})
        except KeyError as exc:
            raise DataError(f"a row lacks {exc} (every row needs the first row's columns: "
                            f"{', '.join(names)})") from None

    @classmethod
    def joined(cls, parts: Sequence[Columns]) -> Columns:
        """``parts`` one after another; every part must have the first one's columns."""
        parts = [part for part in parts if len(part) or part.values]
        if not parts:
            return cls({})
        if len(parts) == 1:
            return parts[0]
        names = parts[0].names
        for part in parts[1:]:
            if set(part.names) != set(names):
                raise DataError(f"cannot join rows with columns {', '.join(part.names)} to "
                                f"rows with {', '.join(names)}")
        joined: dict[str, list[Any]] = {name: [] for name in names}
        for part in parts:
            for name in names:
                joined[name].extend(part.values[name])
        return cls(joined)
