"""`Cache-Control: private, no-store` on every answer that depends on who asks (API.md)."""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from marketplace.accounts.auth import SESSION_COOKIE

PRIVATE = "private, no-store"
# Answers that are the same for everyone, whatever credentials the browser happens to send.
_PUBLIC_PREFIXES = ("/static/", "/healthz", "/readyz", "/favicon")


def _asks_as_someone(scope: Scope) -> bool:
    for key, value in scope.get("headers", []):
        if key == b"authorization":
            return True
        if key == b"cookie" and any(
            part.strip().startswith(f"{SESSION_COOKIE}=")
            for part in value.decode("latin-1").split(";")
        ):
            return True
    return False


class PrivateAnswersMiddleware(ASGIMiddleware):
    """Marks an answer private and unstorable when the caller identified itself (session cookie
    or Authorization) or the answer sets a cookie (a session, or a per-visitor CSRF nonce).

    A handler that chose its own Cache-Control keeps it: the calendar feed is authorised by its
    URL token and answers `private, max-age=0, must-revalidate` so calendar apps can keep a copy
    and revalidate it with its ETag (no-store would turn every poll into a full download).
    Anonymous public pages (directory, certificate verification) stay cacheable.
    """

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if str(scope.get("path", "")).startswith(_PUBLIC_PREFIXES):
            await next_app(scope, receive, send)
            return
        identified = _asks_as_someone(scope)

        async def send_marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                if "cache-control" not in headers and (identified or "set-cookie" in headers):
                    headers["cache-control"] = PRIVATE
            await send(message)

        await next_app(scope, receive, send_marked)
