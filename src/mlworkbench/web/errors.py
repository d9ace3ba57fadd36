"""The error contract of every HTTP service of the workbench (model APIs, simulator,
monitoring, jobs): each error becomes a JSON answer ``{"detail": message, "field":
name-or-null}`` here, in one place; no traceback ever reaches a client.

Status codes: 400 body is not JSON · 401/403 admin auth · 404 unknown item or model ·
409 conflict · 413 batch over the limit · 422 invalid field · 503 no model loaded or the
store/registry is down · 500 anything unexpected (logged, with an incident id).
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from mlworkbench.errors import (
    DataError,
    InvalidParameterError,
    MlwbError,
    ModelNotFoundError,
    TrackingError,
    UnknownItemError,
)

logger = logging.getLogger(__name__)


class ServiceError(MlwbError):
    """An error with an HTTP status; ``field`` names the request field at fault, if one is."""

    status = 400

    def __init__(self, message: str, field: str | None = None, status: int | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.headers = headers
        if status is not None:
            self.status = status


class NotReadyError(ServiceError):
    status = 503


class BatchTooLargeError(ServiceError):
    status = 413


class AuthError(ServiceError):
    status = 401


class ConflictError(ServiceError):
    status = 409


def json_error(status: int, message: str, field: str | None = None,
               headers: dict[str, str] | None = None) -> Response:
    body = orjson.dumps({"detail": message, "field": field})
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(part) for part in loc if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


async def _validation(_request: Request, exc: RequestValidationError) -> Response:
    errors = exc.errors()
    first = errors[0] if errors else {"loc": ("body",), "msg": "invalid request", "type": ""}
    if first.get("type") == "json_invalid":
        return json_error(400, "request body is not valid JSON", "body")
    field = _field(tuple(first.get("loc", ())))
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    if first.get("type") == "missing":
        message = "field required"
    received = first.get("input")
    text = f"{field}: {message}"
    if first.get("type") != "missing" and isinstance(received, str | int | float | bool):
        text += f" (received {json.dumps(received)[:80]})"
    if len(errors) > 1:
        text += f"; and {len(errors) - 1} more error(s)"
    return json_error(422, text, field)


async def _http(_request: Request, exc: StarletteHTTPException) -> Response:
    field = getattr(exc, "field", None) or {404: "path", 405: "method"}.get(exc.status_code)
    return json_error(exc.status_code, str(exc.detail), field, getattr(exc, "headers", None))


async def _mlwb(_request: Request, exc: MlwbError) -> Response:
    if isinstance(exc, ServiceError):
        return json_error(exc.status, str(exc), exc.field, exc.headers)
    if isinstance(exc, InvalidParameterError):
        return json_error(422, str(exc), exc.name)
    if isinstance(exc, UnknownItemError):
        return json_error(404, str(exc), "item_id")
    if isinstance(exc, ModelNotFoundError):
        return json_error(404, str(exc), "model")
    if isinstance(exc, TrackingError | DataError):
        logger.warning("dependency failed: %s", exc)
        return json_error(503, str(exc))
    return json_error(400, str(exc))


async def _unexpected(_request: Request, exc: Exception) -> Response:
    incident = uuid.uuid4().hex[:12]
    logger.error("unexpected error (incident %s)", incident, exc_info=exc)
    return json_error(500, f"internal error (incident {incident}); the server log has details")


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(MlwbError, _mlwb)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)
