"""Request-wide input rules that hold before any handler runs."""

from __future__ import annotations

import re
from itertools import accumulate
from typing import Any

from litestar import Request

from marketplace.core.errors import BadRequest, Invalid

_TEXT_BODIES = ("application/json", "application/x-www-form-urlencoded")
_FORM_BODIES = ("multipart/form-data", "application/x-www-form-urlencoded")

# Deeper than any body the API defines (a few levels), far below where the decoders recurse
# out of stack (msgspec and json raise RecursionError near 1,000 levels).
MAX_JSON_DEPTH = 32
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


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


def json_depth(body: bytes) -> int:
    """How deeply the arrays and objects of a JSON text nest, without decoding it.

    Brackets inside strings do not count; a malformed text gets a rough figure, which is
    enough to refuse it before a decoder recurses into it.
    """
    brackets = _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    steps = (1 if b == 1 else -1 for b in brackets.translate(_BRACKETS))
    return max(accumulate(steps, initial=0))


async def reject_deep_nesting(request: Request[Any, Any, Any]) -> None:
    """Refuse a JSON body that nests past MAX_JSON_DEPTH before anything decodes it.

    Every JSON reader (Litestar's `data`, `request.json()`, the Stripe webhook) recurses per
    level and would fail with a RecursionError (a 500); one check here covers them all. Bodies
    other than forms and uploads are screened whatever their content type, because the JSON
    readers decode them whatever the header says.
    """
    if request.method not in {"POST", "PUT", "PATCH", "DELETE"}:
        return
    if request.headers.get("content-type", "").lower().startswith(_FORM_BODIES):
        return
    body = await request.body()
    # A body with few brackets cannot nest deeply: the common case costs two counts.
    few = body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH
    if not few and json_depth(body) > MAX_JSON_DEPTH:
        raise BadRequest(
            f"The JSON nests deeper than {MAX_JSON_DEPTH} levels.", code="malformed_body"
        )


async def screen_input(request: Request[Any, Any, Any]) -> None:
    """The request-wide input rules, run once before every handler."""
    await reject_nul_characters(request)
    await reject_deep_nesting(request)
