"""JSON API of readiness: self-assessment, internal actions, the document room, internal audits, stage 1."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.datastructures import UploadFile
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, JSONBody

from marketplace.accounts.guards import principal_of, requires_login
from marketplace.core.errors import Invalid
from marketplace.core.pagination import Page, PageParams
from marketplace.findings import evidence as files
from marketplace.readiness import (
    assessments,
    documents,
    internal_audits,
    management_reviews,
    sharing,
    stage1,
)
from marketplace.readiness.context import body, client
from marketplace.readiness.documents import VersionRef, version_ref
from marketplace.readiness.schemas import (
    AccessOut,
    ActionIn,
    ActionOut,
    ApproveIn,
    AssessmentIn,
    AssessmentOut,
    CommentIn,
    CommentOut,
    CompleteIn,
    DocumentIn,
    DocumentOut,
    DocumentPatch,
    FileOut,
    GapItemPatch,
    InternalAuditIn,
    InternalAuditOut,
    InternalFindingIn,
    InternalFindingOut,
    InternalFindingPatch,
    InternalShareIn,
    ManagementReviewIn,
    ManagementReviewOut,
    ReadinessOut,
    ReferenceIn,
    ReferenceOut,
    SharedDocumentOut,
    SharedOut,
    ShareIn,
    ShareOut,
    StepIn,
    VersionIn,
    VersionOut,
    VersionPatch,
)
from marketplace.web.downloads import attachment

AnyRequest = Request[Any, Any, Any]
# The document version routes take their three path ids as one value.
VERSION = {"ref": Provide(version_ref, sync_to_thread=False)}
T = TypeVar("T")


def page_of(items: list[T], page: int | None, per_page: int | None) -> Page[T]:
    params = PageParams.of(page, per_page)
    return Page(
        items=items[params.offset : params.offset + params.per_page],
        total=len(items),
        page=params.page,
        per_page=params.per_page,
    )


async def sent_fields(request: AnyRequest) -> set[str]:
    """The keys of the JSON object sent, so a patch tells an explicit null from an absent field."""
    raw = await request.json()
    return set(raw) if isinstance(raw, dict) else set()


@dataclass
class FileUpload:
    file: UploadFile


def upload_reader(data: Any) -> Callable[[], Awaitable[tuple[bytes, str | None]]]:
    """Read the multipart `file` once the caller's access is checked (one byte past the limit)."""

    async def read() -> tuple[bytes, str | None]:
        upload = data.file if isinstance(data, FileUpload) else None
        if not isinstance(upload, UploadFile):
            raise Invalid.field("file", "Attach a file in the multipart field `file`.")
        # One byte past the limit is enough to know it is too large without reading it all.
        return await upload.read(files.max_bytes() + 1), upload.filename

    return read


class ReadinessController(Controller):
    path = "/api/v1/organisations/{organisation_id:uuid}/readiness"
    tags = ["readiness"]
    guards = [requires_login]

    @get(
        "",
        summary="Readiness overview: assessments with scores, stage 1 panel, stage 2 preparation",
    )
    async def overview(self, request: AnyRequest, organisation_id: uuid.UUID) -> ReadinessOut:
        return await stage1.readiness_as(principal_of(request), organisation_id)

    @post("/assessments", summary="Start a gap self-assessment for a standard", status_code=201)
    async def create(
        self, request: AnyRequest, organisation_id: uuid.UUID, data: JSONBody[AssessmentIn]
    ) -> AssessmentOut:
        return await assessments.start_assessment_as(principal_of(request), organisation_id, data)

    @get(
        "/assessments/{assessment_id:uuid}",
        summary="A self-assessment: clauses, scores, gaps, history",
    )
    async def read(
        self, request: AnyRequest, organisation_id: uuid.UUID, assessment_id: uuid.UUID
    ) -> AssessmentOut:
        client(principal_of(request), organisation_id)
        row = await assessments.get_assessment(organisation_id, assessment_id)
        return assessments.assessment_out(row)

    @patch(
        "/items/{item_id:uuid}",
        summary="Rate a clause: rating, note, owner, target date, documents",
    )
    async def rate(
        self,
        request: AnyRequest,
        organisation_id: uuid.UUID,
        item_id: uuid.UUID,
        data: JSONBody[GapItemPatch],
    ) -> AssessmentOut:
        given = await sent_fields(request)
        return await assessments.rate_item_as(
            principal_of(request), organisation_id, item_id, data, given
        )

    @post(
        "/items/{item_id:uuid}/action",
        summary="Turn a gap into an internal action",
        status_code=201,
    )
    async def action(
        self,
        request: AnyRequest,
        organisation_id: uuid.UUID,
        item_id: uuid.UUID,
        data: JSONBody[ActionIn],
    ) -> ActionOut:
        return await assessments.open_action_as(
            principal_of(request), organisation_id, item_id, data
        )

    @get("/actions", summary="Internal actions (from gaps), open first")
    async def actions(
        self,
        request: AnyRequest,
        organisation_id: uuid.UUID,
        page: int | None = None,
        per_page: int | None = None,
    ) -> Page[ActionOut]:
        client(principal_of(request), organisation_id)
        return page_of(await assessments.list_actions(organisation_id), page, per_page)

    @post("/actions/{action_id:uuid}/done", summary="Mark an internal action done", status_code=200)
    async def done(
        self, request: AnyRequest, organisation_id: uuid.UUID, action_id: uuid.UUID
    ) -> ActionOut:
        return await assessments.complete_action_as(
            principal_of(request), organisation_id, action_id
        )


class DocumentController(Controller):
    path = "/api/v1/organisations/{organisation_id:uuid}/documents"
    tags = ["readiness"]
    guards = [requires_login]

    @get("", summary="The document register with current versions and retention/review flags")
    async def index(
        self,
        request: AnyRequest,
        organisation_id: uuid.UUID,
        doc_type: str | None = None,
        page: int | None = None,
        per_page: int | None = None,
    ) -> Page[DocumentOut]:
        client(principal_of(request), organisation_id)
        docs = await documents.list_documents(organisation_id, doc_type)
        return page_of([documents.document_out(d) for d in docs], page, per_page)

    @post(
        "", summary="Register a controlled document (version 1 starts as a draft)", status_code=201
    )
    async def create(
        self, request: AnyRequest, organisation_id: uuid.UUID, data: JSONBody[DocumentIn]
    ) -> DocumentOut:
        return await documents.create_document_as(principal_of(request), organisation_id, data)

    @get(
        "/{document_id:uuid}",
        summary="A document with versions, comments and shares (logged as a view)",
    )
    async def read(
        self, request: AnyRequest, organisation_id: uuid.UUID, document_id: uuid.UUID
    ) -> DocumentOut:
        p = principal_of(request)
        return documents.document_out(
            await documents.open_document_as(p, organisation_id, document_id)
        )

    @patch(
        "/{document_id:uuid}",
        summary="Edit the register entry: title, clause, owner, review, retention",
    )
    async def edit(
        self,
        request: AnyRequest,
        organisation_id: uuid.UUID,
        document_id: uuid.UUID,
        data: JSONBody[DocumentPatch],
    ) -> DocumentOut:
        given = await sent_fields(request)
        return await documents.edit_document_as(
            principal_of(request), organisation_id, document_id, data, given
        )

    @get(
        "/{document_id:uuid}/access-log",
        summary="Who viewed or downloaded which version, newest first",
    )
    async def access(
        self, request: AnyRequest, organisation_id: uuid.UUID, document_id: uuid.UUID
    ) -> list[AccessOut]:
        return await documents.access_log_as(principal_of(request), organisation_id, document_id)

    @post(
        "/{document_id:uuid}/versions", summary="Start the next version as a draft", status_code=201
    )
    async def new_version(
        self,
        request: AnyRequest,
        organisation_id: uuid.UUID,
        document_id: uuid.UUID,
        data: JSONBody[VersionIn],
    ) -> VersionOut:
        return await documents.new_version_as(
            principal_of(request), organisation_id, document_id, data
        )

    @patch(
        "/{document_id:uuid}/versions/{version_id:uuid}",
        summary="Edit a draft version; an approved version is frozen (409 version_frozen)",
        dependencies=VERSION,
    )
    async def edit_version(
        self, request: AnyRequest, ref: VersionRef, data: JSONBody[VersionPatch]
    ) -> VersionOut:
        return await documents.edit_version_as(principal_of(request), ref, data)

    @post(
        "/{document_id:uuid}/versions/{version_id:uuid}/file",
        summary="Upload the draft's file (multipart `file`; evidence limits: 413, 415)",
        status_code=201,
        dependencies=VERSION,
    )
    async def upload(
        self,
        request: AnyRequest,
        ref: VersionRef,
        data: Annotated[FileUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> FileOut:
        return await documents.upload_file_as(principal_of(request), ref, upload_reader(data))

    @get(
        "/{document_id:uuid}/versions/{version_id:uuid}/file",
        summary="Download a version's file (logged)",
        dependencies=VERSION,
    )
    async def download(self, request: AnyRequest, ref: VersionRef) -> Response[bytes]:
        return attachment(await documents.download_as(principal_of(request), ref))

    @post(
        "/{document_id:uuid}/versions/{version_id:uuid}/approve",
        summary="Approve a draft: frozen from now on, supersedes the approved version",
        status_code=200,
        dependencies=VERSION,
    )
    async def approve(
        self, request: AnyRequest, ref: VersionRef, data: JSONBody[ApproveIn] | None = None
    ) -> VersionOut:
        return await documents.approve_version_as(principal_of(request), ref, data)


class DocumentShareController(Controller):
    path = "/api/v1/organisations/{organisation_id:uuid}/document-shares"
    tags = ["readiness"]
    guards = [requires_login]

    @get("", summary="Documents currently shared with certification bodies")
    async def index(self, request: AnyRequest, organisation_id: uuid.UUID) -> list[ShareOut]:
        client(principal_of(request), organisation_id)
        return [sharing.share_answer(s) for s in await sharing.list_shares(organisation_id)]

    @post(
        "",
        summary="Share approved documents with the organisation's certification body",
        status_code=201,
    )
    async def share(
        self, request: AnyRequest, organisation_id: uuid.UUID, data: JSONBody[ShareIn]
    ) -> SharedOut:
        return await sharing.share_as(principal_of(request), organisation_id, data)

    @delete(
        "/{share_id:uuid}",
        summary="Withdraw a share: the body loses access at once",
        status_code=204,
    )
    async def withdraw(
        self, request: AnyRequest, organisation_id: uuid.UUID, share_id: uuid.UUID
    ) -> None:
        await sharing.withdraw_as(principal_of(request), organisation_id, share_id)


class SharedDocumentController(Controller):
    path = "/api/v1/bodies/{body_id:uuid}/shared-documents"
    tags = ["readiness"]
    guards = [requires_login]

    @get("", summary="Documents clients share with the body (read-only)")
    async def index(
        self,
        request: AnyRequest,
        body_id: uuid.UUID,
        page: int | None = None,
        per_page: int | None = None,
    ) -> Page[SharedDocumentOut]:
        body(principal_of(request), body_id)
        rows = await sharing.shared_documents(body_id)
        return page_of([sharing.shared_document_out(r) for r in rows], page, per_page)

    @get(
        "/{document_id:uuid}",
        summary="A shared document: approved versions and the body's comments (logged)",
    )
    async def read(
        self, request: AnyRequest, body_id: uuid.UUID, document_id: uuid.UUID
    ) -> DocumentOut:
        doc = await sharing.open_shared_as(principal_of(request), body_id, document_id)
        return documents.document_out(doc)

    @get(
        "/{document_id:uuid}/versions/{version_id:uuid}/file",
        summary="Download a shared version (logged)",
    )
    async def download(
        self, request: AnyRequest, body_id: uuid.UUID, document_id: uuid.UUID, version_id: uuid.UUID
    ) -> Response[bytes]:
        p = principal_of(request)
        return attachment(await sharing.shared_download_as(p, body_id, document_id, version_id))

    @post(
        "/{document_id:uuid}/comments",
        summary="Comment on a version (body owner, scheduler, auditor)",
        status_code=201,
    )
    async def comment(
        self,
        request: AnyRequest,
        body_id: uuid.UUID,
        document_id: uuid.UUID,
        data: JSONBody[CommentIn],
    ) -> CommentOut:
        return await sharing.comment_as(principal_of(request), body_id, document_id, data)


class InternalAuditController(Controller):
    path = "/api/v1/organisations/{organisation_id:uuid}"
    tags = ["readiness"]
    guards = [requires_login]

    @get("/internal-audits", summary="Internal audits, latest first")
    async def index(
        self, request: AnyRequest, organisation_id: uuid.UUID
    ) -> list[InternalAuditOut]:
        client(principal_of(request), organisation_id)
        rows = await internal_audits.list_internal_audits(organisation_id)
        return [internal_audits.internal_audit_out(r) for r in rows]

    @post(
        "/internal-audits",
        summary="Plan an internal audit: scope, clauses, auditor, date",
        status_code=201,
    )
    async def create(
        self, request: AnyRequest, organisation_id: uuid.UUID, data: JSONBody[InternalAuditIn]
    ) -> InternalAuditOut:
        return await internal_audits.plan_audit_as(principal_of(request), organisation_id, data)

    @get("/internal-audits/{audit_id:uuid}", summary="An internal audit with its findings")
    async def read(
        self, request: AnyRequest, organisation_id: uuid.UUID, audit_id: uuid.UUID
    ) -> InternalAuditOut:
        client(principal_of(request), organisation_id)
        await internal_audits.org_internal_audit(organisation_id, audit_id)
        return await internal_audits.audit_answer(audit_id)

    @post(
        "/internal-audits/{audit_id:uuid}/complete",
        summary="Record the internal audit as held",
        status_code=200,
    )
    async def complete(
        self,
        request: AnyRequest,
        organisation_id: uuid.UUID,
        audit_id: uuid.UUID,
        data: JSONBody[CompleteIn] | None = None,
    ) -> InternalAuditOut:
        return await internal_audits.complete_audit_as(
            principal_of(request), organisation_id, audit_id, data or CompleteIn()
        )

    @post(
        "/internal-audits/{audit_id:uuid}/share",
        summary="Show the audit and its findings to a certification body (null body_id withdraws)",
        status_code=200,
    )
    async def share(
        self,
        request: AnyRequest,
        organisation_id: uuid.UUID,
        audit_id: uuid.UUID,
        data: JSONBody[InternalShareIn],
    ) -> InternalAuditOut:
        return await internal_audits.share_audit_as(
            principal_of(request), organisation_id, audit_id, data
        )

    @post(
        "/internal-audits/{audit_id:uuid}/findings",
        summary="Record a graded internal finding",
        status_code=201,
    )
    async def add_finding(
        self,
        request: AnyRequest,
        organisation_id: uuid.UUID,
        audit_id: uuid.UUID,
        data: JSONBody[InternalFindingIn],
    ) -> InternalFindingOut:
        return await internal_audits.add_finding_as(
            principal_of(request), organisation_id, audit_id, data
        )

    @patch(
        "/internal-findings/{finding_id:uuid}",
        summary="Answer an internal finding (open or rejected)",
    )
    async def answer(
        self,
        request: AnyRequest,
        organisation_id: uuid.UUID,
        finding_id: uuid.UUID,
        data: JSONBody[InternalFindingPatch],
    ) -> InternalFindingOut:
        given = await sent_fields(request)
        return await internal_audits.answer_finding_as(
            principal_of(request), organisation_id, finding_id, data, given
        )

    @post(
        "/internal-findings/{finding_id:uuid}/steps",
        summary="Move the corrective action: submit, accept, reject, verify, not_effective",
        status_code=200,
    )
    async def step(
        self,
        request: AnyRequest,
        organisation_id: uuid.UUID,
        finding_id: uuid.UUID,
        data: JSONBody[StepIn],
    ) -> InternalFindingOut:
        return await internal_audits.finding_step_as(
            principal_of(request), organisation_id, finding_id, data
        )

    @get("/management-reviews", summary="Management reviews, latest first")
    async def reviews(
        self, request: AnyRequest, organisation_id: uuid.UUID
    ) -> list[ManagementReviewOut]:
        client(principal_of(request), organisation_id)
        return await management_reviews.list_management_reviews(organisation_id)

    @post(
        "/management-reviews", summary="Record a management review (ISO 9001 9.3)", status_code=201
    )
    async def add_review(
        self, request: AnyRequest, organisation_id: uuid.UUID, data: JSONBody[ManagementReviewIn]
    ) -> ManagementReviewOut:
        return await management_reviews.record_review_as(
            principal_of(request), organisation_id, data
        )


class SharedInternalAuditController(Controller):
    path = "/api/v1/bodies/{body_id:uuid}/shared-internal-audits"
    tags = ["readiness"]
    guards = [requires_login]

    @get("", summary="Internal audits clients share with the body")
    async def index(self, request: AnyRequest, body_id: uuid.UUID) -> list[InternalAuditOut]:
        body(principal_of(request), body_id)
        rows = await internal_audits.list_internal_audits(shared_with=body_id)
        return [internal_audits.internal_audit_out(r) for r in rows]

    @get("/{audit_id:uuid}", summary="A shared internal audit with its findings")
    async def read(
        self, request: AnyRequest, body_id: uuid.UUID, audit_id: uuid.UUID
    ) -> InternalAuditOut:
        row = await internal_audits.shared_audit_as(principal_of(request), body_id, audit_id)
        return internal_audits.internal_audit_out(row)


class Stage1ReferenceController(Controller):
    path = "/api/v1/reports/{report_id:uuid}/references"
    tags = ["readiness"]
    guards = [requires_login]

    @get("", summary="A stage 1 report's references to shared documents and clauses")
    async def index(self, request: AnyRequest, report_id: uuid.UUID) -> list[ReferenceOut]:
        return await stage1.references_as(principal_of(request), report_id)

    @post(
        "",
        summary="Reference a shared document and/or a clause from a draft stage 1 report",
        status_code=201,
    )
    async def add(
        self, request: AnyRequest, report_id: uuid.UUID, data: JSONBody[ReferenceIn]
    ) -> ReferenceOut:
        return await stage1.add_reference_as(principal_of(request), report_id, data)


API_CONTROLLERS = [
    ReadinessController,
    DocumentController,
    DocumentShareController,
    SharedDocumentController,
    InternalAuditController,
    SharedInternalAuditController,
    Stage1ReferenceController,
]
