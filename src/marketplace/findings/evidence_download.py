"""The evidence download handler, written once for the API (bearer token) and the pages (session)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from litestar import Controller, Request, Response, get

from marketplace.accounts.guards import Principal, requires_login
from marketplace.findings import evidence as files
from marketplace.web.downloads import attachment


class EvidenceDownload(Controller):
    """Serves one evidence file; `evidence_download` makes the API's and the page's.

    The API and the page answer the same bytes with the same checks; only the credential
    differs, so each names its guard helper (principal_of or me) as `principal_for`.
    """

    guards = [requires_login]

    def principal_for(self, request: Request[Any, Any, Any]) -> Principal:
        raise NotImplementedError

    @get("", summary="Download an evidence file (the client and the body only)")
    async def download(
        self, request: Request[Any, Any, Any], evidence_id: uuid.UUID
    ) -> Response[bytes]:
        principal = self.principal_for(request)
        return attachment(await files.download_evidence(principal, evidence_id))


def evidence_download(
    path: str, principal_for: Callable[[Request[Any, Any, Any]], Principal], **options: Any
) -> type[EvidenceDownload]:
    """The download controller at `path` for callers known by `principal_for`."""

    class Download(EvidenceDownload):
        def principal_for(self, request: Request[Any, Any, Any]) -> Principal:
            return principal_for(request)

    Download.path = path
    for name, value in options.items():
        setattr(Download, name, value)
    return Download
