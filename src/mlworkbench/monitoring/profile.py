"""The data-understanding step: a data-summary report of a snapshot, logged to MLflow.

For MovieLens-like interactions the summary covers the ratings (rating, timestamp) and, per
interaction, the user's and the item's activity in the snapshot; the catalogue's genres are
summarised as the share of items in each. Logged as a run in experiment ``monitoring``
(tag ``kind=profile``) with the HTML report and the key numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import mlflow
import numpy as np
import pandas as pd

from mlworkbench.config import Settings
from mlworkbench.data.ingest import training_snapshot
from mlworkbench.monitoring import evidence
from mlworkbench.monitoring.records import ensure_experiment
from mlworkbench.monitoring.recsys_frames import genre_features
from mlworkbench.tracking import client as tracking


@dataclass(frozen=True)
class Profile:
    run_id: str
    numbers: dict[str, float]
    html: str


def profile_frame(ratings: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "rating": ratings["rating"].astype("float64"),
        "timestamp": ratings["timestamp"].astype("int64"),
        "user_activity": ratings.groupby("user_id")["item_id"].transform("size")
        .astype("float64"),
        "item_popularity": ratings.groupby("item_id")["user_id"].transform("size")
        .astype("float64")})


def profile_snapshot(settings: Settings, snapshot: str | None = None) -> Profile:
    """Summarise ``snapshot`` (default: the latest validated data) and log it."""
    from evidently import DataDefinition
    from evidently.presets import DataSummaryPreset

    data = training_snapshot(settings, snapshot)
    frame = profile_frame(data.ratings)
    definition = DataDefinition(numerical_columns=list(frame.columns))
    report, _ = evidence.run_report([DataSummaryPreset()], frame, None, definition, "drift",
                                    name=f"profile of {data.name}")
    html = str(report.get_html_str(as_iframe=False))
    genres = genre_features(data.items).mean()
    numbers = {"interactions": float(len(frame)), "users": float(data.ratings["user_id"].nunique()),
               "items_rated": float(data.ratings["item_id"].nunique()),
               "catalogue_items": float(len(data.items)),
               "mean_rating": float(frame["rating"].mean()),
               "median_user_activity": float(np.median(
                   data.ratings.groupby("user_id").size())),
               "density": float(len(frame) / max(1, data.ratings["user_id"].nunique()
                                                  * len(data.items))),
               **{f"share_{name.removeprefix('genre_')}": float(value)
                  for name, value in genres.items()}}
    client = tracking.configure(settings)
    experiment_id = ensure_experiment(client, settings)
    with tracking.translated("log the data profile"), mlflow.start_run(
            experiment_id=experiment_id, run_name=f"profile-{snapshot or 'latest'}") as run:
        mlflow.set_tags({"kind": "profile", "data.snapshot": snapshot or "latest",
                         "data.digest": data.digest})
        mlflow.log_metrics({key.replace("(", "").replace(")", "").replace(" ", "_"): value
                            for key, value in numbers.items()})
        mlflow.log_text(html, "reports/profile.html")
    return Profile(run.info.run_id, numbers, html)
