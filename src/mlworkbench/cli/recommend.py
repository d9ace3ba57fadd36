"""``mlwb recommend``: offline top-k for users, straight from a registered model."""

from __future__ import annotations

import typer

from mlworkbench.cli.output import console, fmt, table
from mlworkbench.config import CHAMPION_ALIAS, RECOMMENDER_MODEL_NAME

DEFAULT_MODEL = f"models:/{RECOMMENDER_MODEL_NAME}@{CHAMPION_ALIAS}"


def recommend(
    user: list[int] = typer.Option(..., "--user", "-u", help="User id; repeat for several."),
    model: str = typer.Option(DEFAULT_MODEL, help="Any MLflow model reference or path."),
    k: int = typer.Option(10, help="How many items per user (1..1000)."),
    include_seen: bool = typer.Option(False, help="Also recommend items the user already rated."),
) -> None:
    """Print the top-k recommendations with titles for each user."""
    import numpy as np

    from mlworkbench.config import get_settings
    from mlworkbench.models.pyfunc import load_recommender
    from mlworkbench.models.recommender import check_k
    from mlworkbench.tracking import client as tracking

    check_k(k)
    tracking.configure(get_settings())
    recommender, _ = load_recommender(model)
    recs = recommender.recommend(np.array(user), k=k, exclude_seen=not include_seen)
    for index, user_id in enumerate(recs.user_ids):
        header = f"user {user_id}"
        if recs.fallback[index]:
            header += ": unknown user, popular items (fallback)"
        rows = []
        for rank, (item, score) in enumerate(zip(recs.item_ids[index], recs.scores[index],
                                                 strict=True), start=1):
            if item < 0:
                continue
            title = recommender.titles[recommender.item_rows(np.array([item]))[0]]
            rows.append([rank, item, title, fmt(float(score), 3)])
        console.print(table(header, ["rank", "item", "title", "score"], rows))
