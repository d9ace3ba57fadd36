"""Online quality: how good the lists actually served were, judged by what users did next.

For every served list (one prediction-log row: user, time, items best first) the relevant
items are those the same user interacted with *after* the response. With hit_i = 1 when
the item at rank i was one of them:

- hit rate@k  = share of lists with at least one hit in the top k
- precision@k = (sum_{i<=k} hit_i) / k, averaged over lists

Lists are grouped by model name, version and ``role`` (who answered: ``champion`` for the
lists the service returned, ``shadow`` for a challenger scoring the same requests without
being returned; rows without a role are the champion's), and by window.

A list whose user did nothing after the response says nothing about the list: it is left
out of both averages (as users without held-out items are left out offline) and counted
as ``lists_without_later_activity``. "After" compares the ``time`` the caller gives each
interaction: its own timestamp (clock ``event``) or when its batch reached the store
(clock ``arrival``: the simulator replays history with its original timestamps, so there
arrival is what orders responses and later interactions).
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterable

import numpy as np
import orjson
import pandas as pd

from mlworkbench.errors import DataError, InvalidParameterError

CLOCKS = ("event", "arrival")
CHAMPION_ROLE = "champion"
GROUP = ["model_name", "model_version", "role", "window_start"]


def _item_lists(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The JSON arrays of item ids as (lengths, every id in order), parsed by numpy in one
    pass: a hundred thousand lists as Python lists cost seconds in allocation alone. Text
    numpy cannot read whole (not a flat array of integers) is parsed as JSON instead."""
    lengths = np.fromiter((text.count(",") + (len(text.strip()) > 2) for text in texts),
                          dtype=np.int64, count=len(texts))
    flat = ",".join(text for text, n in zip(texts, lengths, strict=True) if n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # text that is not read whole
        try:
            items = np.fromstring(flat.replace("[", "").replace("]", ""), dtype=np.int64,
                                  sep=",")
        except ValueError:
            items = np.zeros(0, np.int64)
    if len(items) == lengths.sum():
        return lengths, items
    lists = orjson.loads("[" + ",".join(texts) + "]")
    lengths = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    return lengths, np.fromiter(itertools.chain.from_iterable(lists), dtype=np.int64,
                                count=int(lengths.sum()))


def explode_served(served: pd.DataFrame, k: int) -> pd.DataFrame:
    """One row per served item (row, user_id, served_at, rank, item_id), ranks 1..k."""
    lengths, items = _item_lists(served["items"].tolist())
    row = np.repeat(np.arange(len(served)), lengths)
    rank = np.arange(len(row)) - np.repeat(np.cumsum(lengths) - lengths, lengths) + 1
    keep = rank <= k
    row = row[keep]
    return pd.DataFrame({
        "row": row, "user_id": served["user_id"].to_numpy(np.int64)[row],
        "served_at": served["served_at"].to_numpy(np.float64)[row],
        "rank": rank[keep], "item_id": items[keep]})


def _window_start(served_at: pd.Series, window: str | None) -> pd.Series:
    if window is None:
        return pd.Series(pd.Timestamp(float(served_at.min()), unit="s", tz="UTC") if len(served_at)
                         else pd.NaT, index=served_at.index)
    try:
        return pd.to_datetime(served_at, unit="s", utc=True).dt.floor(window)
    except ValueError as exc:
        raise InvalidParameterError("window", "online quality", "a pandas frequency like "
                                    "'1h' or '1D'", window) from exc


def online_quality(served: pd.DataFrame | Iterable[pd.DataFrame], later: pd.DataFrame,
                   k: int = 10, window: str | None = None) -> pd.DataFrame:
    """Hit rate@k and precision@k per model version, role and window.

    ``served``: prediction-log rows (model_name, model_version, role when known, user_id,
    served_at in unix seconds, items as JSON text), as one frame or in chunks. ``later``:
    interactions (user_id, item_id, time in unix seconds on the clock chosen). ``window``: a pandas
    frequency that cuts the served rows into windows by serving time; None, one window.
    """
    if k < 1:
        raise InvalidParameterError("k", "online quality", "an integer >= 1", k)
    latest_pair = later.groupby(["user_id", "item_id"], sort=False)["time"].max()
    latest_user = later.groupby("user_id", sort=False)["time"].max()
    parts = [served] if isinstance(served, pd.DataFrame) else served
    per_row = [_score_rows(part, latest_pair, latest_user, k) for part in parts]
    rows = pd.concat(per_row, ignore_index=True) if per_row else pd.DataFrame()
    if rows.empty:
        raise DataError("no served lists in this window: nothing to judge")
    rows["window_start"] = _window_start(rows["served_at"], window)
    rows["model_version"] = rows["model_version"].fillna(0).astype("int64")
    judged = rows[rows["active"]]
    totals = rows.groupby(GROUP).size().rename("lists")
    quality = judged.groupby(GROUP).agg(
        judged_lists=("hits", "size"),
        hit_rate_at_k=("hits", lambda hits: float((hits > 0).mean())),
        precision_at_k=("hits", lambda hits: float(hits.mean() / k)))
    result = pd.concat([totals, quality], axis=1).reset_index()
    result["judged_lists"] = result["judged_lists"].fillna(0).astype("int64")
    result["lists_without_later_activity"] = result["lists"] - result["judged_lists"]
    result["k"] = k
    return result


def _score_rows(served: pd.DataFrame, latest_pair: pd.Series, latest_user: pd.Series,
                k: int) -> pd.DataFrame:
    if served.empty:
        return pd.DataFrame()
    exploded = explode_served(served, k)
    pair_time = latest_pair.reindex(
        pd.MultiIndex.from_arrays([exploded["user_id"], exploded["item_id"]])).to_numpy()
    hit = np.nan_to_num(pair_time, nan=-np.inf) > exploded["served_at"].to_numpy()
    hits = np.bincount(exploded["row"], weights=hit, minlength=len(served))
    user_time = latest_user.reindex(served["user_id"].to_numpy()).to_numpy()
    active = np.nan_to_num(user_time.astype(float), nan=-np.inf) > served["served_at"].to_numpy()
    role = served["role"].fillna(CHAMPION_ROLE).to_numpy() if "role" in served \
        else np.full(len(served), CHAMPION_ROLE, dtype=object)
    return pd.DataFrame({
        "model_name": served["model_name"].to_numpy(),
        "model_version": served["model_version"].to_numpy(), "role": role,
        "served_at": served["served_at"].to_numpy(np.float64), "hits": hits, "active": active})
