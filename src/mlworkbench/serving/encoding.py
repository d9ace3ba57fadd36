"""JSON answers as bytes: one orjson call, headers naming the model and the request."""

from __future__ import annotations

import orjson
from starlette.responses import Response

Fragment = orjson.Fragment


def dumps(payload: object) -> bytes:
    return orjson.dumps(payload)


def respond(payload: object, headers: dict[str, str], request_id: str | None = None) -> Response:
    """A JSON response with the model headers (and ``X-Request-ID`` when given)."""
    if request_id is not None:
        headers = {**headers, "X-Request-ID": request_id}
    return Response(dumps(payload), media_type="application/json", headers=headers)
