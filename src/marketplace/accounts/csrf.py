"""CSRF protection for pages: a form token bound to the browser's session, checked on every unsafe method."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from litestar import Request
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.enums import RequestEncodingType, ScopeType
from litestar.exceptions import PermissionDeniedException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from marketplace.accounts.auth import SESSION_COOKIE

CSRF_COOKIE = "mp_csrf"
CSRF_HEADER = "x-csrftoken"
CSRF_FIELD = "_csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# The API authenticates by bearer token only and the webhook by Stripe's signature, so neither
# can be forged by another site's form (a cookie never authorises them).
_EXEMPT_PREFIXES = ("/api/", "/webhooks/")
# Answers that never hold a form: no token to compute, and no cookie to set on a file or a
# health check that caches (and probes) should see unchanged.
_FORMLESS_PREFIXES = ("/static/", "/healthz", "/readyz", "/metrics", "/calendar/", "/schema")


def csrf_token(secret_key: str, nonce: str, session: str | None) -> str:
    """The token a form must echo: an HMAC of the browser's nonce *and* its session cookie.

    Binding to the session means a token read from one session (or from an anonymous visit)
    is worthless with another session's cookie, and signing in or out changes the token.
    Only the server can compute it, so a nonce planted by a neighbouring site is no help.
    """
    message = f"{nonce}\x00{session or ''}".encode()
    return hmac.new(secret_key.encode(), b"csrf\x00" + message, hashlib.sha256).hexdigest()


class SessionCsrfMiddleware(ASGIMiddleware):
    """Puts the token in the scope for `csrf_input`, sets the nonce cookie, refuses bad posts (403)."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, secret_key: str, *, secure: bool) -> None:
        self.secret_key = secret_key
        self.secure = secure

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        path = str(scope.get("path", ""))
        if path.startswith(_EXEMPT_PREFIXES) or (
            path.startswith(_FORMLESS_PREFIXES) and scope.get("method") in SAFE_METHODS
        ):
            await next_app(scope, receive, send)
            return
        request: Request[Any, Any, Any] = scope["litestar_app"].request_class(
            scope=scope, receive=receive
        )
        nonce = request.cookies.get(CSRF_COOKIE) or ""
        new_nonce = not nonce
        if new_nonce:
            nonce = secrets.token_urlsafe(32)
        expected = csrf_token(self.secret_key, nonce, request.cookies.get(SESSION_COOKIE))
        ScopeState.from_scope(scope).csrf_token = expected

        if request.method not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER)
            content_type, _ = request.content_type
            if not sent and content_type in {
                RequestEncodingType.URL_ENCODED,
                RequestEncodingType.MULTI_PART,
            }:
                value = (await request.form()).get(CSRF_FIELD)
                sent = value if isinstance(value, str) else None
            if new_nonce or not sent or not hmac.compare_digest(sent, expected):
                raise PermissionDeniedException("CSRF token verification failed")
            await next_app(scope, receive, send)
            return

        if not new_nonce:
            await next_app(scope, receive, send)
            return

        cookie = Cookie(
            key=CSRF_COOKIE,
            value=nonce,
            path="/",
            secure=self.secure,
            httponly=True,
            samesite="lax",
        ).to_header(header="")

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableScopeHeaders.from_message(message).add("set-cookie", cookie)
            await send(message)

        await next_app(scope, receive, send_with_cookie)
