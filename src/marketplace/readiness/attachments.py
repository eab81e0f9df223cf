"""A document version's file as the attachment response both the API and the pages send."""

from __future__ import annotations

from litestar import Response

from marketplace.findings import evidence as files
from marketplace.readiness.documents import VersionFile


def file_response(served: VersionFile) -> Response[bytes]:
    """The file as an attachment under its sanitised name, as evidence files are served."""
    return Response(
        content=served.content,
        media_type=served.content_type,
        headers={
            # Stored as sniffed ("text/plain; charset=utf-8"); given as the header, Litestar
            # does not append a second charset as it does to a text/* media_type.
            "Content-Type": served.content_type,
            "Content-Disposition": files.content_disposition(served.filename),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )
