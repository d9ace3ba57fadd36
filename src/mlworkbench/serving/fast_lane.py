"""The hot routes answered straight from ASGI, ahead of FastAPI's routing and dependencies.

A profile of ``GET /predict`` and ``POST /recommendations`` under load showed more than half
of each request's time in the framework around the route (middleware stack, route
matching, dependency resolution, body parsing, response wrapping), not in the model. A
family names its hot routes as :class:`Lane` s (method, exact path, answer); for a request
that matches one, :class:`ServiceApp` reads the body (only with a declared length within
``MLWB_MAX_BODY_BYTES`` and a JSON content type), takes the served model once (a hot swap
never changes it mid-request), and calls the lane's answer, which returns the JSON body or
``None``. Anything else — no model yet, a body it does not take, a value that fails a
check, an exception — goes through the full FastAPI stack with the body replayed, so every
error answer, status and header is the one the routes give. A lane's answer does what the
route does (scores, logs the prediction, observes the batch size); the lane counts the
request and its latency under the route's template, as the middleware does, and sends the
model headers and the request id.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

from mlworkbench.serving.request_ids import request_id_of

if TYPE_CHECKING:
    from mlworkbench.serving.deps import Service
    from mlworkbench.serving.model_holder import LoadedModel

# (service, model, request id, query string, body) -> the JSON answer, or None: full stack
Answer = Callable[["Service", "LoadedModel", str, bytes, bytes], "bytes | None"]


@dataclass(frozen=True)
class Lane:
    method: str  # GET or POST
    path: str  # the route's exact path (also its template in the metrics)
    answer: Answer


class _Counted:
    """A lane's metric children, looked up once (labels() is a dict walk per call)."""

    def __init__(self, service: Service, lane: Lane) -> None:
        self.lane = lane
        self.requests = service.metrics.requests.labels(lane.path, lane.method, "200")
        self.latency = service.metrics.latency.labels(lane.path)


class ServiceApp(FastAPI):
    """FastAPI, with the family's lanes tried first (see the module's text)."""

    service: Service
    _lanes: dict[tuple[str, str], _Counted]

    def use_lanes(self, service: Service, lanes: tuple[Lane, ...]) -> None:
        self.service = service
        self._lanes = {(lane.method, lane.path): _Counted(service, lane) for lane in lanes}

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        lanes = getattr(self, "_lanes", None)
        if lanes and scope["type"] == "http":
            counted = lanes.get((scope["method"], scope["path"]))
            if counted is not None:
                receive = await self._try(counted, scope, receive, send)
                if receive is None:
                    return
        await super().__call__(scope, receive, send)

    async def _try(self, counted: _Counted, scope: dict, receive: Any, send: Any) -> Any:
        """Answer through the lane and return None, or return the receive the full stack
        should use (the body replayed when it was read)."""
        started = time.perf_counter()
        given_id = content_type = length = None
        for key, value in scope["headers"]:
            if key == b"x-request-id":
                given_id = value
            elif key == b"content-type":
                content_type = value
            elif key == b"content-length":
                length = value
            elif key == b"transfer-encoding":
                return receive
        body = b""
        if counted.lane.method == "POST":
            if (length is None or not length.isdigit()
                    or int(length) > self.service.settings.max_body_bytes
                    or content_type is None or not content_type.startswith(b"application/json")):
                return receive
            more = True
            while more:
                message = await receive()
                if message["type"] != "http.request":
                    return receive  # the client left; the full stack sees it too
                body += message.get("body", b"")
                more = message.get("more_body", False)
            receive = _replay(body, receive)
        model = self.service.holder.current
        if model is None:
            return receive
        request_id = request_id_of(None if given_id is None else given_id.decode("latin-1"))
        try:
            answer = counted.lane.answer(self.service, model, request_id,
                                         scope.get("query_string", b""), body)
        except Exception:  # the full stack answers it (and logs what it should)
            return receive
        if answer is None:
            return receive
        headers = [(b"x-model-name", model.name.encode()),
                   (b"x-model-version", str(model.version or "").encode()),
                   (b"x-request-id", request_id.encode("latin-1")),
                   (b"content-length", str(len(answer)).encode()),
                   (b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer})
        counted.requests.inc()
        counted.latency.observe(time.perf_counter() - started)
        return None


def _replay(body: bytes, receive: Any) -> Any:
    """A receive that gives the already-read body first, then defers to ``receive``."""
    sent = [False]

    async def replayed() -> dict:
        if not sent[0]:
            sent[0] = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
