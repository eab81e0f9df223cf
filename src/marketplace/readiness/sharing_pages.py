"""What a certification body sees of what clients share: documents, comments, internal audits."""

from __future__ import annotations

import functools
import uuid
from typing import Any

from litestar import Controller, Response, get, post
from litestar.response import Template

from marketplace.accounts.guards import Principal, me, requires_login
from marketplace.accounts.names import body_name
from marketplace.readiness import internal_audits, sharing, stage1
from marketplace.readiness.context import body, can_comment, organisation_name
from marketplace.readiness.page_support import AnyRequest, attempt, page, parse
from marketplace.readiness.schemas import CommentIn
from marketplace.web.downloads import attachment
from marketplace.web.forms import form_data


class BodyReadinessPages(Controller):
    include_in_schema = False
    path = "/manage/bodies/{body_id:uuid}"
    guards = [requires_login]

    @get("/shared-documents")
    async def shared(self, request: AnyRequest, body_id: uuid.UUID) -> Template:
        body(me(request), body_id)
        return Template(
            "readiness/body_shared.html",
            context={
                "body_id": body_id,
                "body_name": await body_name(body_id),
                "documents": await sharing.shared_documents(body_id),
                "audits": await internal_audits.list_internal_audits(shared_with=body_id),
            },
        )

    async def _document(
        self,
        p: Principal,
        body_id: uuid.UUID,
        document_id: uuid.UUID,
        errors: dict[str, str],
        status: int = 200,
        doc: dict[str, Any] | None = None,
    ) -> Template:
        body(p, body_id)
        if doc is None:
            doc = await sharing.body_document(body_id, document_id)
        ctx = {
            "body_id": body_id,
            "doc": doc,
            "can_comment": can_comment(p, body_id),
            "reports": await stage1.stage1_reports(body_id, doc["organisation"]),
        }
        return page("body_document", ctx, errors, status)

    @get("/shared-documents/{document_id:uuid}")
    async def document(
        self, request: AnyRequest, body_id: uuid.UUID, document_id: uuid.UUID
    ) -> Template:
        p = me(request)
        doc = await sharing.open_shared_as(p, body_id, document_id)
        return await self._document(p, body_id, document_id, {}, doc=doc)

    @get("/shared-documents/{document_id:uuid}/versions/{version_id:uuid}/file")
    async def download(
        self, request: AnyRequest, body_id: uuid.UUID, document_id: uuid.UUID, version_id: uuid.UUID
    ) -> Response[bytes]:
        served = await sharing.shared_download_as(me(request), body_id, document_id, version_id)
        return attachment(served)

    @post("/shared-documents/{document_id:uuid}/comments")
    async def comment(
        self, request: AnyRequest, body_id: uuid.UUID, document_id: uuid.UUID
    ) -> Response[Any]:
        p = me(request)
        body(p, body_id, comment=True)
        data = await form_data(request)
        return await attempt(
            lambda: sharing.comment_as(p, body_id, document_id, parse(data, CommentIn)),
            functools.partial(self._document, p, body_id, document_id),
            f"/manage/bodies/{body_id}/shared-documents/{document_id}#comments",
        )

    @get("/shared-internal-audits/{audit_id:uuid}")
    async def internal_audit(
        self, request: AnyRequest, body_id: uuid.UUID, audit_id: uuid.UUID
    ) -> Template:
        audit = await internal_audits.shared_audit_as(me(request), body_id, audit_id)
        return Template(
            "readiness/body_internal_audit.html",
            context={
                "body_id": body_id,
                "audit": audit,
                "organisation_name": await organisation_name(audit.organisation),
            },
        )
