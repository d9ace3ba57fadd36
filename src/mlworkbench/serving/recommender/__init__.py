"""The recommender family's service: its routes, per-version pieces and log table."""

from __future__ import annotations

from mlworkbench.models.pyfunc import recommender_of
from mlworkbench.models.recommender import Recommender
from mlworkbench.serving.family import ServedFamily
from mlworkbench.serving.recommender import routes
from mlworkbench.serving.recommender.render import Renderer


def _describe(model: Recommender) -> dict[str, object]:
    return {"engine": model.engine.kind, "users": len(model.user_ids), "items": model.n_items}


SERVED = ServedFamily(
    name="recommender", title="mlworkbench recommender",
    description=("Top-k recommendations for known users, new visitors (by history) and "
                 "similar items (\"users who liked this also liked\")."),
    log_table="prediction_log", routers=(routes.router,), unwrap=recommender_of,
    prepare=Renderer, describe=_describe, lanes=routes.LANES,
)
