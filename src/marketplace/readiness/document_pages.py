"""Pages of the document room: the register, sharing with the body, a document and its versions."""

from __future__ import annotations

import functools
import uuid
from typing import Any

from litestar import Controller, Response, get, post
from litestar.di import Provide
from litestar.response import Template

from marketplace.accounts.guards import Principal, me, requires_login
from marketplace.accounts.names import organisation_members
from marketplace.findings.evidence import max_bytes
from marketplace.readiness import documents, sharing
from marketplace.readiness.documents import VersionRef, version_ref
from marketplace.readiness.page_support import (
    AnyRequest,
    Render,
    attempt,
    base_context,
    editor,
    editor_form,
    page,
    parse,
    read_upload,
)
from marketplace.readiness.schemas import (
    ApproveIn,
    DocumentIn,
    DocumentPatch,
    ShareIn,
    VersionIn,
    VersionPatch,
)
from marketplace.rules.readiness import DOCUMENT_TYPES
from marketplace.web.downloads import attachment
from marketplace.web.forms import blank_to_none, form_data

# The document version pages take their three path ids as one value.
VERSION = {"ref": Provide(version_ref, sync_to_thread=False)}


class DocumentPages(Controller):
    include_in_schema = False
    path = "/organisations/{organisation_id:uuid}"
    guards = [requires_login]

    async def _register(
        self,
        p: Principal,
        organisation_id: uuid.UUID,
        errors: dict[str, str],
        status: int = 200,
        values: dict[str, Any] | None = None,
    ) -> Template:
        ctx = await base_context(p, organisation_id)
        ctx.update(
            documents=await documents.list_documents(organisation_id),
            shares=await sharing.list_shares(organisation_id),
            bodies=await sharing.engaged_bodies(organisation_id),
            members=await organisation_members(organisation_id),
            doc_types=DOCUMENT_TYPES,
            values=values or {},
        )
        return page("documents", ctx, errors, status)

    @get("/documents")
    async def documents(self, request: AnyRequest, organisation_id: uuid.UUID) -> Template:
        return await self._register(me(request), organisation_id, {})

    @post("/documents")
    async def create_document(
        self, request: AnyRequest, organisation_id: uuid.UUID
    ) -> Response[Any]:
        p, data = await editor_form(request, organisation_id)
        data = blank_to_none(data, documents.CLEARABLE_DOCUMENT)

        async def render(errors: dict[str, str], status: int) -> Template:
            return await self._register(p, organisation_id, errors, status, data)

        return await attempt(
            lambda: documents.create_document_as(p, organisation_id, parse(data, DocumentIn)),
            render,
            lambda out: f"/organisations/{organisation_id}/documents/{out.id}",
        )

    @post("/document-shares")
    async def share(self, request: AnyRequest, organisation_id: uuid.UUID) -> Response[Any]:
        p, data = await editor_form(request, organisation_id)
        form = {"body_id": data.get("body_id") or None, "document_ids": data.get("document_ids")}
        return await attempt(
            lambda: sharing.share_as(
                p, organisation_id, parse(form, ShareIn, lists=("document_ids",))
            ),
            functools.partial(self._register, p, organisation_id),
            f"/organisations/{organisation_id}/documents#shares",
        )

    @post("/document-shares/{share_id:uuid}/withdraw")
    async def withdraw(
        self, request: AnyRequest, organisation_id: uuid.UUID, share_id: uuid.UUID
    ) -> Response[Any]:
        p, _ = await editor_form(request, organisation_id)
        return await attempt(
            lambda: sharing.withdraw_as(p, organisation_id, share_id),
            functools.partial(self._register, p, organisation_id),
            f"/organisations/{organisation_id}/documents#shares",
        )

    async def _document(
        self,
        p: Principal,
        organisation_id: uuid.UUID,
        document_id: uuid.UUID,
        errors: dict[str, str],
        status: int = 200,
        doc: dict[str, Any] | None = None,
    ) -> Template:
        ctx = await base_context(p, organisation_id)
        if doc is None:
            await documents.org_document(organisation_id, document_id)
            doc = await documents.get_document(document_id)
        ctx.update(
            doc=doc,
            members=await organisation_members(organisation_id),
            access=await documents.access_log(document_id) if ctx["can_edit"] else [],
            max_kib=max_bytes() // 1024,
        )
        return page("document", ctx, errors, status)

    @get("/documents/{document_id:uuid}")
    async def document(
        self, request: AnyRequest, organisation_id: uuid.UUID, document_id: uuid.UUID
    ) -> Template:
        p = me(request)
        doc = await documents.open_document_as(p, organisation_id, document_id)
        return await self._document(p, organisation_id, document_id, {}, doc=doc)

    async def _doc_write(
        self, request: AnyRequest, organisation_id: uuid.UUID, document_id: uuid.UUID
    ) -> tuple[Principal, Render, str]:
        """Who posts, the document page to show again on an error, and its address."""
        p = editor(request, organisation_id)
        await documents.org_document(organisation_id, document_id)
        render = functools.partial(self._document, p, organisation_id, document_id)
        return p, render, f"/organisations/{organisation_id}/documents/{document_id}"

    @post("/documents/{document_id:uuid}")
    async def edit_document(
        self, request: AnyRequest, organisation_id: uuid.UUID, document_id: uuid.UUID
    ) -> Response[Any]:
        p, render, url = await self._doc_write(request, organisation_id, document_id)
        data, clearable = await form_data(request), documents.CLEARABLE_DOCUMENT
        return await attempt(
            lambda: documents.edit_document_as(
                p, organisation_id, document_id, parse(data, DocumentPatch, clearable), clearable
            ),
            render,
            url,
        )

    @post("/documents/{document_id:uuid}/versions")
    async def new_version(
        self, request: AnyRequest, organisation_id: uuid.UUID, document_id: uuid.UUID
    ) -> Response[Any]:
        p, render, url = await self._doc_write(request, organisation_id, document_id)
        summary = str((await form_data(request)).get("change_summary", "")).strip()
        return await attempt(
            lambda: documents.new_version_as(
                p, organisation_id, document_id, parse({"change_summary": summary}, VersionIn)
            ),
            render,
            url,
        )

    async def _version_write(
        self, request: AnyRequest, ref: VersionRef
    ) -> tuple[Principal, Render, str]:
        return await self._doc_write(request, ref.organisation_id, ref.document_id)

    @post("/documents/{document_id:uuid}/versions/{version_id:uuid}", dependencies=VERSION)
    async def edit_version(self, request: AnyRequest, ref: VersionRef) -> Response[Any]:
        p, render, url = await self._version_write(request, ref)
        data = await form_data(request)
        return await attempt(
            lambda: documents.edit_version_as(p, ref, parse(data, VersionPatch, ("author_id",))),
            render,
            url,
        )

    @post("/documents/{document_id:uuid}/versions/{version_id:uuid}/file", dependencies=VERSION)
    async def upload(self, request: AnyRequest, ref: VersionRef) -> Response[Any]:
        p, render, url = await self._version_write(request, ref)
        read = functools.partial(read_upload, request)
        return await attempt(lambda: documents.upload_file_as(p, ref, read), render, url)

    @post("/documents/{document_id:uuid}/versions/{version_id:uuid}/approve", dependencies=VERSION)
    async def approve(self, request: AnyRequest, ref: VersionRef) -> Response[Any]:
        p, render, url = await self._version_write(request, ref)
        data = {"effective_on": str((await form_data(request)).get("effective_on", "")).strip()}
        return await attempt(
            lambda: documents.approve_version_as(p, ref, parse(data, ApproveIn, ("effective_on",))),
            render,
            url,
        )

    @get("/documents/{document_id:uuid}/versions/{version_id:uuid}/file", dependencies=VERSION)
    async def download(self, request: AnyRequest, ref: VersionRef) -> Response[bytes]:
        return attachment(await documents.download_as(me(request), ref))
