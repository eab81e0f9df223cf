"""A stored file sent as a download: the attachment response the API and the pages both answer."""

from __future__ import annotations

from typing import Protocol
from urllib.parse import quote

from litestar import Response


class StoredFile(Protocol):
    """What a download needs of a file read back from storage (evidence, a document version)."""

    @property
    def content(self) -> bytes: ...

    @property
    def content_type(self) -> str: ...

    @property
    def filename(self) -> str: ...


def content_disposition(filename: str) -> str:
    """attachment with an ASCII fallback name and the UTF-8 name (RFC 6266, RFC 5987)."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def attachment(served: StoredFile) -> Response[bytes]:
    """The file as an attachment under its sanitised name; never rendered by the browser."""
    return Response(
        content=served.content,
        media_type=served.content_type,
        headers={
            # Stored as sniffed ("text/plain; charset=utf-8"); given as the header, Litestar
            # does not append a second charset as it does to a text/* media_type.
            "Content-Type": served.content_type,
            "Content-Disposition": content_disposition(served.filename),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )
