"""The frames Evidently is given for the recommender: pure pandas over windows.

``input_frame``: one row per interaction (rating, item popularity, user activity, whether user
and item are known). ``ranking_frame``: one row per served (user, item, rank) with genres.
``quality_frame``: served rows with a 0/1 target, plus every item taken that nobody served.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NOT_SERVED_RANK = 1_000_000  # relevant items nobody recommended: rows beyond every k


def input_frame(interactions: pd.DataFrame, reference: pd.DataFrame,
                chunk_rows: int) -> pd.DataFrame:
    """One row per interaction: rating, item_popularity, user_activity, user, item status."""
    ordered = interactions.sort_values("timestamp", kind="stable").reset_index(drop=True)
    item_counts = reference["item_id"].value_counts()
    chunk = np.arange(len(ordered)) // max(1, chunk_rows)
    activity = ordered.groupby([chunk, ordered["user_id"].to_numpy()])["item_id"].transform("size")
    known_user = ordered["user_id"].isin(reference["user_id"].unique())
    known_item = ordered["item_id"].isin(item_counts.index)
    return pd.DataFrame({
        "rating": ordered["rating"].astype("float64"),
        "item_popularity": np.log1p(item_counts.reindex(ordered["item_id"]).fillna(0).to_numpy()),
        "user_activity": activity.astype("float64").to_numpy(),
        "user_status": np.where(known_user, "known", "unknown"),
        "item_status": np.where(known_item, "known", "unknown")})


def genre_features(items: pd.DataFrame) -> pd.DataFrame:
    """Items one-hot over their genres (``genre_<name>`` columns), indexed by item_id."""
    genres = items.set_index("item_id")["genres"].fillna("").str.get_dummies(sep="|")
    genres = genres.drop(columns=[c for c in genres.columns if c.startswith("(")], errors="ignore")
    return genres.add_prefix("genre_").astype("float64")


def ranking_frame(served: pd.DataFrame, popularity: pd.Series,
                   genres: pd.DataFrame) -> pd.DataFrame:
    frame = served[["user_id", "item_id", "rank"]].rename(columns={"rank": "prediction"})
    frame = frame.assign(target=0, item_popularity=np.log1p(
        popularity.reindex(frame["item_id"]).fillna(0).to_numpy()))
    features = genres.reindex(frame["item_id"]).fillna(0.0).reset_index(drop=True)
    return pd.concat([frame.reset_index(drop=True), features], axis=1)


def sample_users(served: pd.DataFrame, n: int, seed: int = 0) -> pd.DataFrame:
    users = served["user_id"].unique()
    if len(users) <= n:
        return served
    keep = np.random.default_rng(seed).choice(users, size=n, replace=False)
    return served[served["user_id"].isin(keep)]


def quality_frame(served: pd.DataFrame, later: pd.DataFrame, k: int) -> pd.DataFrame | None:
    """Evidently's ranking rows: every served (user, item, rank) with target 1 when the user
    took the item afterwards, plus each taken item nobody served (rank beyond every k).
    Only users who did something afterwards; None when there are none."""
    served = served[served["rank"] <= k]
    taken = later[["user_id", "item_id"]].drop_duplicates().assign(target=1)
    taken = taken[taken["user_id"].isin(served["user_id"].unique())]
    if taken.empty:
        return None
    rows = served[served["user_id"].isin(taken["user_id"].unique())][
        ["user_id", "item_id", "rank"]].merge(taken, on=["user_id", "item_id"], how="outer")
    rows["target"] = rows["target"].fillna(0).astype("int64")
    rows["rank"] = rows["rank"].fillna(NOT_SERVED_RANK).astype("int64")
    return rows.rename(columns={"rank": "prediction"}).sort_values(
        ["user_id", "prediction"]).reset_index(drop=True)
