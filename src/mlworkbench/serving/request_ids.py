"""Request ids: the client's own ``X-Request-ID`` when it is usable, else a new one."""

from __future__ import annotations

import os

MAX_REQUEST_ID = 64


def request_id_of(given: str | None) -> str:
    """A client's own ``X-Request-ID`` when printable and at most 64 characters, else a new one:
    32 random hex digits (as many as a UUID's, without building a UUID object per request)."""
    if given and len(given) <= MAX_REQUEST_ID and given.isprintable():
        return given
    return os.urandom(16).hex()
