"""Admin auth, the same for every service: ``Authorization: Bearer $MLWB_ADMIN_TOKEN``.

A service without a token refuses every admin call (403) rather than opening it; the
comparison takes constant time.
"""

from __future__ import annotations

import hmac

from starlette.requests import Request

from mlworkbench.web.errors import AuthError


def check_admin(request: Request, token: str | None, what: str) -> None:
    """Raise :class:`AuthError` unless ``request`` carries ``token`` as its bearer token;
    ``what`` names the guarded calls in the message ("admin endpoints", "writes")."""
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        raise AuthError(f"{what}: send 'Authorization: Bearer <MLWB_ADMIN_TOKEN>'",
                        "Authorization", headers={"WWW-Authenticate": "Bearer"})
    if not token:
        raise AuthError(f"{what} are disabled: the server has no MLWB_ADMIN_TOKEN",
                        "Authorization", status=403)
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise AuthError("the bearer token is not the admin token", "Authorization", status=403)
