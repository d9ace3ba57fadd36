"""Request ids: the client's own ``X-Request-ID`` when it is usable, else a new one."""

from __future__ import annotations

import uuid

MAX_REQUEST_ID = 64


def request_id_of(given: str | None) -> str:
    """A client's own ``X-Request-ID`` when printable and at most 64 characters, else a new one."""
    if given and len(given) <= MAX_REQUEST_ID and given.isprintable():
        return given
    return uuid.uuid4().hex
