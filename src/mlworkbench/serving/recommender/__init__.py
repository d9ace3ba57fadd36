"""The recommender family's service: its routes, loader, per-version pieces and log rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter

from mlworkbench.models.pyfunc import load_pyfunc, recommender_of
from mlworkbench.models.recommender import Recommender
from mlworkbench.serving.recommender import routes
from mlworkbench.serving.recommender.render import Renderer


class RecommenderService:
    """What the serving core asks of the recommender (see :class:`ServedFamily`)."""

    name = "recommender"
    title = "mlworkbench recommender"
    description = ("Top-k recommendations for known users, new visitors (by history) and "
                   "similar items (\"users who liked this also liked\").")
    log_table = "prediction_log"

    @property
    def routers(self) -> Sequence[APIRouter]:
        return (routes.router,)

    def load(self, uri: str) -> tuple[Recommender, Any]:
        pyfunc = load_pyfunc(uri)
        return recommender_of(pyfunc, uri), pyfunc

    def prepare(self, model: Recommender, name: str, version: int | None) -> Renderer:
        return Renderer(model, name, version)

    def describe(self, model: Recommender) -> dict[str, Any]:
        return {"engine": model.engine.kind, "users": len(model.user_ids),
                "items": model.n_items}


SERVED = RecommenderService()
