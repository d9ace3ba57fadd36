"""The one pure-ASGI middleware around every request (no BaseHTTPMiddleware overhead).

It counts each request by route template (metrics), refuses a body over
``MLWB_MAX_BODY_BYTES`` before reading it (a declared ``Content-Length`` is refused
at once; a chunked body is counted as it arrives and cut at the limit), and gives every
error answer (4xx/5xx, whoever produced it) the request id and the served model's headers.
A successful answer is untouched: the routes set those headers themselves.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.exceptions import HTTPException

from mlworkbench.serving.metrics import ServiceMetrics
from mlworkbench.serving.model_holder import ModelHolder
from mlworkbench.serving.request_ids import request_id_of
from mlworkbench.web.errors import json_error


class BodyTooLargeError(HTTPException):
    """A chunked body that grew past the limit while it was read."""

    field = "body"

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"body: the request body is over {limit} bytes "
                              "(MLWB_MAX_BODY_BYTES); send smaller batches")


def _header(scope: dict, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


class ServiceMiddleware:
    def __init__(self, app: Any, metrics: ServiceMetrics, holder: ModelHolder,
                 max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.holder = holder
        self.limit = max_body_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def send_status(message: dict) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                if status[0] >= 400:
                    message = {**message, "headers": self._error_headers(scope, message)}
            await send(message)

        try:
            declared = _header(scope, b"content-length")
            if declared is not None and declared.isdigit() and int(declared) > self.limit:
                await self._refuse(scope, send_status)
            elif declared is None and _header(scope, b"transfer-encoding") is not None:
                await self._counted(scope, receive, send_status)
            else:
                await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            self.metrics.requests.labels(path, scope["method"], str(status[0])).inc()
            self.metrics.latency.labels(path).observe(time.perf_counter() - started)

    async def _refuse(self, scope: dict, send: Any) -> None:
        error = BodyTooLargeError(self.limit)
        await json_error(413, str(error.detail), error.field)(scope, _nothing, send)

    async def _counted(self, scope: dict, receive: Any, send: Any) -> None:
        """Pass a chunked body through, stopping at the limit (never read whole)."""
        seen = [0]
        started = [False]

        async def counting() -> dict:
            message = await receive()
            seen[0] += len(message.get("body", b""))
            if seen[0] > self.limit:
                raise BodyTooLargeError(self.limit)
            return message

        async def sending(message: dict) -> None:
            started[0] = True
            await send(message)

        try:
            await self.app(scope, counting, sending)
        except BodyTooLargeError:  # raised outside any route's handlers
            if started[0]:
                raise
            await self._refuse(scope, send)

    def _error_headers(self, scope: dict, message: dict) -> list[tuple[bytes, bytes]]:
        headers = list(message.get("headers", []))
        present = {key.lower() for key, _ in headers}
        if b"x-request-id" not in present:
            given = _header(scope, b"x-request-id")
            text = given.decode("latin-1") if given is not None else None
            headers.append((b"x-request-id", request_id_of(text).encode("latin-1")))
        model = self.holder.current
        if model is not None and b"x-model-name" not in present:
            headers.extend((key.lower().encode(), value.encode())
                           for key, value in model.headers.items())
        return headers


async def _nothing() -> dict:
    return {"type": "http.request", "body": b"", "more_body": False}
