"""Which web addresses may be shown as a link: absolute http(s) URLs with a host (RFC 3986)."""

from __future__ import annotations

from urllib.parse import urlsplit

SCHEMES = ("http", "https")


def is_http_url(value: str) -> bool:
    """True for an absolute `http://host...` or `https://host...` address and nothing else.

    Anything else in an href is a hazard or a dead link: `javascript:` and `data:` run or show
    content of the attacker's choosing on our origin (OWASP XSS Prevention, rule 5), `ftp:` and
    other schemes hand the visitor to another program, and `http:/x` has no host (RFC 3986
    3.2: the authority follows `//`). Spaces and control characters are refused because
    browsers strip them, which is how `java\\tscript:` slips past naive checks.
    """
    if not value or value != value.strip() or any(ord(c) < 0x21 or c == "\x7f" for c in value):
        return False
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError:
        return False
    return (
        parts.scheme.lower() in SCHEMES
        and value[len(parts.scheme) : len(parts.scheme) + 3] == "://"
        and bool(parts.hostname)
    )


def safe_http_url(value: str | None) -> str:
    """The address if it may be linked, else "" (for rows stored before the rule existed)."""
    return value if value and is_http_url(value) else ""
