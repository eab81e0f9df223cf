"""Resolve the caller once per request: a bearer token on the API, the session cookie on pages."""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from marketplace.accounts.sessions import principal_for_session, principal_for_token

SESSION_COOKIE = "mp_session"
# Paths that never need to know who is calling (and must stay cheap).
_ANONYMOUS_PREFIXES = (
    "/static/",
    "/healthz",
    "/readyz",
    "/metrics",
    "/schema",
    "/webhooks/",
    "/calendar/",
    "/favicon",
)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def _cookie(scope: Scope, name: str) -> str | None:
    raw = _header(scope, b"cookie")
    if not raw:
        return None
    for part in raw.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


class AuthenticationMiddleware(ASGIMiddleware):
    """Sets scope["principal"] to the caller (or None).

    The API accepts only bearer tokens and pages only the session cookie: a cookie can never
    authorise an API call, so the API needs no CSRF protection and pages always have it.
    """

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        principal = None
        path: str = scope.get("path", "")
        if not path.startswith(_ANONYMOUS_PREFIXES):
            if path.startswith("/api/"):
                auth = _header(scope, b"authorization")
                if auth and auth[:7].lower() == "bearer ":
                    principal = await principal_for_token(auth[7:].strip())
            else:
                secret = _cookie(scope, SESSION_COOKIE)
                if secret:
                    principal = await principal_for_session(secret)
        scope["principal"] = principal  # type: ignore[typeddict-unknown-key]
        await next_app(scope, receive, send)
