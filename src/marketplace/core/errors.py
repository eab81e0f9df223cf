"""One small hierarchy of domain errors, and the one place that maps them (and framework errors) to HTTP."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.exceptions import NotFoundException as LitestarNotFound
from litestar.response import Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR, HTTP_503_SERVICE_UNAVAILABLE

from marketplace.core import db
from marketplace.core.observability import DATABASE_OUTAGE

log = logging.getLogger("marketplace.errors")


class DomainError(Exception):
    """A failure a caller can cause; carries the HTTP status, a sentence and an optional code."""

    status_code = 400
    default_code: str | None = None

    def __init__(
        self,
        detail: str,
        code: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code or self.default_code
        self.errors = errors or []
        self.headers = headers or {}


class BadRequest(DomainError):
    status_code = 400


class Unauthorized(DomainError):
    status_code = 401


class Forbidden(DomainError):
    status_code = 403


class NotFound(DomainError):
    """Unknown, or belonging to another tenant: the two are indistinguishable on purpose."""

    status_code = 404


class Conflict(DomainError):
    """A rule or state conflict (illegal transition, taken slot ...); `code` names the rule."""

    status_code = 409


class PayloadTooLarge(DomainError):
    status_code = 413


class UnsupportedMediaType(DomainError):
    status_code = 415


class Invalid(DomainError):
    """Well-formed input that breaks a field rule; `errors` lists [{field, message}]."""

    status_code = 422

    @classmethod
    def field(cls, field: str, message: str, code: str | None = None) -> Invalid:
        return cls(f"{field}: {message}", code=code, errors=[{"field": field, "message": message}])


class Throttled(DomainError):
    status_code = 429


class StorageUnavailable(DomainError):
    """The file store cannot take a file (read-only, I/O error): the platform's fault, not the caller's."""

    status_code = 503


class InsufficientStorage(DomainError):
    """The file store is full (507, RFC 4918 11.5)."""

    status_code = 507


def _wants_json(request: Request[Any, Any, Any]) -> bool:
    path = request.url.path
    if path.startswith(("/api/", "/webhooks/", "/schema")):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _body(detail: str, code: str | None, errors: list[dict[str, str]] | None) -> dict[str, Any]:
    body: dict[str, Any] = {"detail": detail}
    if code:
        body["code"] = code
    if errors:
        body["errors"] = errors
    return body


def _respond(
    request: Request[Any, Any, Any],
    status: int,
    detail: str,
    code: str | None = None,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    if _wants_json(request):
        return Response(
            content=_body(detail, code, errors),
            status_code=status,
            media_type=MediaType.JSON,
            headers=headers,
        )
    return Template(
        template_name="error.html",
        context={"status": status, "detail": detail, "code": code, "errors": errors or []},
        status_code=status,
        headers=headers,
    )


def _validation_errors(extra: Any) -> list[dict[str, str]]:
    errors: list[dict[str, str]] = []
    if isinstance(extra, list):
        for item in extra:
            if isinstance(item, dict):
                field = str(item.get("key") or item.get("source") or "body")
                errors.append({"field": field, "message": str(item.get("message", "invalid"))})
    return errors


def domain_error_handler(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    return _respond(request, exc.status_code, exc.detail, exc.code, exc.errors, exc.headers)


def validation_error_handler(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[Any]:
    errors = _validation_errors(exc.extra)
    detail = str(exc.detail)
    # Litestar reports unparseable JSON as a validation failure; that is a malformed request (400).
    if any(
        "malformed" in e["message"].lower() or "json is malformed" in e["message"].lower()
        for e in errors
    ):
        return _respond(
            request, 400, "The request body is not valid JSON.", "malformed_body", errors
        )
    if "Validation failed" in detail:
        fields = ", ".join(e["field"] for e in errors) or "input"
        detail = f"Invalid input: {fields}."
    return _respond(request, 422, detail, "invalid", errors)


def _multipart_limit(exc: HTTPException) -> DomainError | None:
    """The real reason behind Litestar's multipart "Request Entity Too Large" (a 400).

    Litestar answers every limit of its multipart parser with that one sentence and drops the
    parser's message (litestar/_multipart.py, a FIXME for 3.0), though none of them is about
    the body's size: that is `request_max_body_size`, a real 413. The parser's error is still
    the exception's context. A part header over 4 KiB is, in practice, a long file name
    (`Content-Disposition: form-data; name="file"; filename="..."`).
    """
    limit = exc.__context__
    if type(limit).__name__ != "ParserLimitReached":
        return None
    reason = str(limit)
    if "header length" in reason:
        return Invalid.field(
            "file",
            "The file name is too long: rename the file to a shorter name and upload it again.",
        )
    if "segment count" in reason:
        return BadRequest("The form has too many parts.")
    if "header count" in reason:
        return BadRequest("A part of the form has too many headers.", code="malformed_body")
    return PayloadTooLarge("A part of the form is too large.")


def http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if (limit := _multipart_limit(exc)) is not None:
        return domain_error_handler(request, limit)
    status = exc.status_code
    detail = exc.detail
    if isinstance(exc, NotAuthorizedException):
        detail = (
            detail
            if detail and detail != "Unauthorized"
            else "Sign in or send a valid bearer token."
        )
    elif isinstance(exc, PermissionDeniedException):
        detail = detail if detail and detail != "Forbidden" else "You are not allowed to do this."
    elif isinstance(exc, LitestarNotFound):
        detail = "Not found."
    elif status == 413:
        detail = "The request body is too large."
    headers = dict(exc.headers or {})
    if status == 401 and not _wants_json(request):
        # A signed-out browser is sent to the login page rather than shown a bare 401.
        from litestar.response import Redirect

        return Redirect(f"/login?next={request.url.path}")
    return _respond(request, status, str(detail), None, _validation_errors(exc.extra), headers)


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _respond(request, HTTP_500_INTERNAL_SERVER_ERROR, "Something went wrong on our side.")


# A hint, not a promise: most outages (a restart, a fail-over) are over within seconds.
RETRY_AFTER_SECONDS = 5
DATABASE_UNAVAILABLE = (
    "We cannot reach our database just now, so this could not be done. "
    "Please try again in a few seconds."
)
_outage_watch: set[asyncio.Task[None]] = set()


def database_unavailable_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """The database is out of reach: 503 with Retry-After (API.md), logged once per outage.

    Registered for the exception types a lost connection raises; anything else of those types (a
    file error, a statement SQLite rejected) is still the 500 it was."""
    if not db.is_connection_failure(exc):
        return internal_error_handler(request, exc)
    if DATABASE_OUTAGE.begin(exc, f"{request.method} {request.url.path}"):
        # Something has to notice that the outage is over, even if no request comes.
        task = asyncio.get_running_loop().create_task(_watch_outage(), name="database-outage")
        _outage_watch.add(task)
        task.add_done_callback(_outage_watch.discard)
    return _respond(
        request,
        HTTP_503_SERVICE_UNAVAILABLE,
        DATABASE_UNAVAILABLE,
        "database_unavailable",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"},
    )


async def _watch_outage() -> None:
    try:
        await db.wait_until_reachable()
    except Exception:
        log.exception("watching the database outage failed")
        return
    DATABASE_OUTAGE.end()


def connection_failure_handlers() -> dict[type[Exception] | int, Any]:
    """The handler for every exception type a lost database connection can raise."""
    return {
        t: database_unavailable_handler
        for t in db.CONNECTION_FAILURE_TYPES
        if issubclass(t, Exception)
    }


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    DomainError: domain_error_handler,
    ValidationException: validation_error_handler,
    HTTPException: http_error_handler,
    Exception: internal_error_handler,
}
