"""The answers behind the routes: score with the model object, render, log, respond.

Routes stay thin; everything here takes the model a request started with, so a
hot swap in the middle changes nothing for that request.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from starlette.responses import Response

from mlworkbench.data import predictions
from mlworkbench.models.recommender import Recommendations, Recommender
from mlworkbench.serving.deps import Service
from mlworkbench.serving.encoding import Fragment, dumps
from mlworkbench.serving.encoding import respond as respond_json
from mlworkbench.serving.model_holder import LoadedModel
from mlworkbench.serving.recommender import shadow
from mlworkbench.serving.recommender.history import FALLBACK_POPULAR, for_history
from mlworkbench.serving.recommender.logged import Served
from mlworkbench.serving.recommender.render import Renderer
from mlworkbench.web.errors import ConflictError, ServiceError


def respond(payload: dict, model: LoadedModel, request_id: str) -> Response:
    return respond_json(payload, model.headers, request_id)


def _parts(model: LoadedModel) -> tuple[Recommender, Renderer]:
    return model.model, model.prepared


def check_batch(service: Service, size: int, field: str) -> None:
    limit = service.settings.max_batch_users
    if size > limit:
        raise ServiceError(f"{field}: {size} ids in one request; at most {limit} allowed "
                           "(MLWB_MAX_BATCH_USERS)", field, status=413)


def _log(service: Service, model: LoadedModel, request_id: str, source: str,
         users: list[int | None], recs: Recommendations, fallback: list[str | None]) -> None:
    service.log.submit(Served(request_id, dt.datetime.now(dt.UTC), model.name, model.version,
                              source, users, recs.item_ids, recs.scores, fallback))


def _envelope(model: LoadedModel, request_id: str, source: str, k: int, entries: object) -> dict:
    return {"request_id": request_id, "model": model.prepared.model, "source": source, "k": k,
            "recommendations": entries}


def live_json(service: Service, model: LoadedModel, users: list[int], k: int,
              exclude_seen: bool, request_id: str) -> bytes:
    """Scores every user in one matrix product (one user: the fast path inside the model);
    the JSON answer."""
    recommender, renderer = _parts(model)
    recs = recommender.recommend(np.asarray(users, dtype=np.int64), k, exclude_seen)
    entries = renderer.recommendations(recs, FALLBACK_POPULAR)
    body = dumps(_envelope(model, request_id, "live", k, entries))
    service.metrics.batch_size.observe(len(users))
    _log(service, model, request_id, "live", users, recs,
         [FALLBACK_POPULAR if f else None for f in recs.fallback.tolist()])
    service.shadow.offer(request_id, shadow.live, "live", users, k, exclude_seen)
    return body


def live(service: Service, model: LoadedModel, users: list[int], k: int, exclude_seen: bool,
         request_id: str) -> Response:
    body = live_json(service, model, users, k, exclude_seen, request_id)
    return respond(Fragment(body), model, request_id)


def stored(service: Service, model: LoadedModel, users: list[int], k: int,
           exclude_seen: bool) -> pd.DataFrame:
    """The store's part of a precomputed answer (the only read on a request path: the route
    bounds it): ``mlwb recommend-all``'s rows for these users, ranks 1..k."""
    if not exclude_seen:
        raise ServiceError("exclude_seen: precomputed recommendations always exclude seen items",
                           "exclude_seen", status=422)
    engine = predictions.store_engine(service.settings.resolved_database_url)
    key = (model.name, model.version or 0)
    depth = service.cache.get(key) or predictions.precomputed_depth(engine, *key)
    if depth == 0:
        raise ConflictError(
            f"source: nothing precomputed for {model.name} version {model.version}; run "
            f"`mlwb recommend-all {model.reference.uri}`", "source")
    service.cache[key] = depth
    if k > depth:
        raise ServiceError(f"k: at most {depth} with source=precomputed (received {k})", "k",
                           status=422)
    return predictions.read_precomputed(engine, key[0], key[1],
                                        np.unique(np.asarray(users, dtype=np.int64)).tolist(), k)


def precomputed(service: Service, model: LoadedModel, users: list[int], k: int,
                frame: pd.DataFrame, request_id: str) -> Response:
    """Answers from ``mlwb recommend-all``'s rows (``frame``, from :func:`stored`); users it
    lacks are scored live."""
    service.metrics.batch_size.observe(len(users))
    asked = np.asarray(users, dtype=np.int64)
    unique = np.unique(asked)
    items = np.full((len(unique), k), -1, dtype=np.int64)
    scores = np.full((len(unique), k), np.nan, dtype=np.float32)
    fallback = np.zeros(len(unique), dtype=bool)
    at = np.searchsorted(unique, frame["user_id"].to_numpy(dtype=np.int64))
    items[at, frame["rank"].to_numpy() - 1] = frame["item_id"].to_numpy()
    scores[at, frame["rank"].to_numpy() - 1] = frame["score"].to_numpy()
    missing = np.ones(len(unique), dtype=bool)
    missing[at] = False
    if missing.any():
        scored = model.model.recommend(unique[missing], k, True)
        width = scored.item_ids.shape[1]
        items[missing, :width], scores[missing, :width] = scored.item_ids, scored.scores
        fallback[missing] = scored.fallback
    back = np.searchsorted(unique, asked)
    recs = Recommendations(asked, items[back], scores[back], fallback[back])
    entries = model.prepared.recommendations(recs, FALLBACK_POPULAR)
    _log(service, model, request_id, "precomputed", asked.tolist(), recs,
         [FALLBACK_POPULAR if f else None for f in recs.fallback.tolist()])
    service.shadow.offer(request_id, shadow.live, "precomputed", users, k, True)
    return respond(_envelope(model, request_id, "precomputed", k, entries), model, request_id)


def history(service: Service, model: LoadedModel, items: list[int], k: int,
            request_id: str) -> Response:
    """A new visitor: factors recomputed from their history on the fly, nothing retrained."""
    recommender, renderer = _parts(model)
    given = np.asarray(items, dtype=np.int64)
    rows = recommender.item_rows(given, strict=False)
    known, ignored = given[rows >= 0], given[rows < 0]
    recs, fallback = for_history(recommender, known, k)
    entry = renderer.per_user(recs)[0]
    entry.update(user=None, fallback=fallback, history=known.tolist(),
                 ignored_items=ignored.tolist())
    _log(service, model, request_id, "history", [None], recs, [fallback])
    service.shadow.offer(request_id, shadow.history, items, k)
    return respond(_envelope(model, request_id, "history", k, [entry]), model, request_id)


def similar(service: Service, model: LoadedModel, item_id: int, k: int,
            request_id: str) -> Response:
    """Items whose factors point the same way; unknown item -> 404."""
    recommender, renderer = _parts(model)
    ids, values = recommender.similar_items(item_id, k)
    scores = np.round(values.astype(np.float64), 6).tolist()
    payload = {
        "request_id": request_id, "model": renderer.model, "k": k,
        "item": {"id": item_id, "title": renderer.title(item_id)},
        "similar": renderer.items(ids.tolist(), scores),
    }
    recs = Recommendations(np.array([-1]), ids[None, :], values[None, :], np.array([False]))
    _log(service, model, request_id, "similar", [None], recs, [None])
    return respond(payload, model, request_id)
