"""Request-wide input rules that hold before any handler runs."""

from __future__ import annotations

from typing import Any

from litestar import Request

from marketplace.core.errors import Invalid

_TEXT_BODIES = ("application/json", "application/x-www-form-urlencoded")


async def reject_nul_characters(request: Request[Any, Any, Any]) -> None:
    """No text may carry a NUL character: PostgreSQL cannot store one, and no person types one.

    Checked once at the edge (path, query string, JSON and form bodies) rather than field by
    field; uploaded files are binary and are left to their own checks.
    """
    raw_path = request.scope.get("raw_path") or b""
    if b"%00" in raw_path or "\x00" in request.scope.get("path", ""):
        raise Invalid("The address contains a NUL character.", code="nul_character")
    if b"%00" in request.scope.get("query_string", b""):
        raise Invalid("A query parameter contains a NUL character.", code="nul_character")
    content_type = request.headers.get("content-type", "")
    if request.method in {"POST", "PUT", "PATCH"} and content_type.startswith(_TEXT_BODIES):
        body = await request.body()
        marker = b"\\u0000" if content_type.startswith("application/json") else b"%00"
        if marker in body or b"\x00" in body:
            raise Invalid(
                "The request contains a NUL character in a text field.", code="nul_character"
            )
