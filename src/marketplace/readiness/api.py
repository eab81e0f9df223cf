"""JSON API of readiness: self-assessment, internal actions, the document room, internal audits, stage 1."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, JSONBody

from marketplace.accounts.guards import Principal, principal_of, require_role, requires_login
from marketplace.accounts.roles import TenantKind
from marketplace.core.errors import Invalid, NotFound
from marketplace.core.pagination import Page, PageParams
from marketplace.findings import evidence as files
from marketplace.findings import reports as findings_services
from marketplace.findings.access import REPORT_WRITERS, report_side
from marketplace.readiness import services
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
    SharedOut,
    ShareIn,
    ShareOut,
    Stage1Out,
    StepIn,
    VersionIn,
    VersionOut,
    VersionPatch,
)
from marketplace.scheduling.context import CLIENT_ALL

# Who may do what (DESIGN.md roles). The client's owner and quality manager run readiness; members
# read. On the body side, shared documents are for those who audit and decide (findings lets the
# same people read reports); finance has no business in a client's management system documents.
CLIENT_EDITORS = frozenset({"owner", "quality_manager"})
BODY_READERS = frozenset({"owner", "scheduler", "auditor", "decision_maker"})
BODY_COMMENTERS = REPORT_WRITERS
NO_ORG = "No such organisation."
NO_BODY = "No such certification body."


def client(principal: Principal, organisation_id: uuid.UUID, *, write: bool = False) -> None:
    require_role(
        principal,
        TenantKind.organisation,
        organisation_id,
        CLIENT_EDITORS if write else CLIENT_ALL,
        what=NO_ORG,
    )


def body(principal: Principal, body_id: uuid.UUID, *, comment: bool = False) -> None:
    require_role(
        principal,
        TenantKind.body,
        body_id,
        BODY_COMMENTERS if comment else BODY_READERS,
        what=NO_BODY,
    )


def _convert(row: dict[str, Any], kind: type[Any], **renames: str) -> Any:
    return msgspec.convert(
        {**row, **{k: row.get(v) for k, v in renames.items()}}, kind, strict=False
    )


def assessment_out(row: dict[str, Any]) -> AssessmentOut:
    def item(i: dict[str, Any]) -> dict[str, Any]:
        return {**i, "owner_id": i["owner"]}

    return msgspec.convert(
        {
            **row,
            "items": [item(i) for i in row.get("items", [])],
            "gaps": [item(i) for i in row.get("gaps", [])],
        },
        AssessmentOut,
        strict=False,
    )


def version_out(v: dict[str, Any]) -> VersionOut:
    result: VersionOut = _convert(v, VersionOut, author_id="author", approver_id="approver")
    return result


def share_out(s: dict[str, Any]) -> ShareOut:
    result: ShareOut = _convert(s, ShareOut, document_id="document", body_id="body")
    return result


def document_out(doc: dict[str, Any]) -> DocumentOut:
    return msgspec.convert(
        {
            **doc,
            "organisation_id": doc["organisation"],
            "owner_id": doc["owner"],
            "current_version": doc["current"] and msgspec.to_builtins(version_out(doc["current"])),
            "versions": [msgspec.to_builtins(version_out(v)) for v in doc.get("versions", [])],
            "comments": [
                {**c, "version_id": c["version"], "body_id": c["body"]}
                for c in doc.get("comments", [])
            ],
            "shares": [msgspec.to_builtins(share_out(s)) for s in doc.get("shares", [])],
        },
        DocumentOut,
        strict=False,
    )


def finding_out(f: dict[str, Any]) -> InternalFindingOut:
    result: InternalFindingOut = _convert(
        f, InternalFindingOut, owner_id="owner", internal_audit_id="internal_audit"
    )
    return result


def internal_audit_out(row: dict[str, Any]) -> InternalAuditOut:
    return msgspec.convert(
        {
            **row,
            "organisation_id": row["organisation"],
            "shared_body_id": row["shared_body"],
            "findings": [msgspec.to_builtins(finding_out(f)) for f in row.get("findings", [])],
        },
        InternalAuditOut,
        strict=False,
    )


def file_response(version: dict[str, Any]) -> Response[bytes]:
    """The version's file as an attachment under its sanitised name, as evidence files are served."""
    return Response(
        content=services.version_bytes(version),
        media_type=version["content_type"],
        headers={
            # Stored as sniffed ("text/plain; charset=utf-8"); given as the header, Litestar
            # does not append a second charset as it does to a text/* media_type.
            "Content-Type": version["content_type"],
            "Content-Disposition": files.content_disposition(version["filename"]),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


def page_of(items: list[Any], page: int | None, per_page: int | None) -> Page[Any]:
    params = PageParams.of(page, per_page)
    return Page(
        items=items[params.offset : params.offset + params.per_page],
        total=len(items),
        page=params.page,
        per_page=params.per_page,
    )


async def readiness_out(organisation_id: uuid.UUID) -> ReadinessOut:
    assessments = await services.list_assessments(organisation_id)
    return ReadinessOut(
        organisation_id=organisation_id,
        assessments=[assessment_out(a) for a in assessments],
        stage1=msgspec.convert(await services.stage1_panel(organisation_id), Stage1Out),
        stage2_preparation=[
            {**r, "id": str(r["id"]), "due_on": r["due_on"] and r["due_on"].isoformat()}
            for r in await services.stage2_preparation(organisation_id)
        ],
    )


class ReadinessController(Controller):
    path = "/api/v1/organisations/{organisation_id:uuid}/readiness"
    tags = ["readiness"]
    guards = [requires_login]

    @get(
        "",
        summary="Readiness overview: assessments with scores, stage 1 panel, stage 2 preparation",
    )
    async def overview(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID
    ) -> ReadinessOut:
        client(principal_of(request), organisation_id)
        return await readiness_out(organisation_id)

    @post("/assessments", summary="Start a gap self-assessment for a standard", status_code=201)
    async def create(
        self,
        request: Request[Any, Any, Any],
        organisation_id: uuid.UUID,
        data: JSONBody[AssessmentIn],
    ) -> AssessmentOut:
        p = principal_of(request)
        client(p, organisation_id, write=True)
        aid = await services.create_assessment(p.user_id, organisation_id, data.standard)
        return assessment_out(await services.get_assessment(organisation_id, aid))

    @get(
        "/assessments/{assessment_id:uuid}",
        summary="A self-assessment: clauses, scores, gaps, history",
    )
    async def read(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID, assessment_id: uuid.UUID
    ) -> AssessmentOut:
        client(principal_of(request), organisation_id)
        return assessment_out(await services.get_assessment(organisation_id, assessment_id))

    @patch(
        "/items/{item_id:uuid}",
        summary="Rate a clause: rating, note, owner, target date, documents",
    )
    async def rate(
        self,
        request: Request[Any, Any, Any],
        organisation_id: uuid.UUID,
        item_id: uuid.UUID,
        data: JSONBody[GapItemPatch],
    ) -> AssessmentOut:
        p = principal_of(request)
        client(p, organisation_id, write=True)
        raw = await request.json()
        changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not None}
        # owner_id and target_date may be cleared with an explicit null.
        for name in ("owner_id", "target_date"):
            if isinstance(raw, dict) and name in raw:
                changes[name] = getattr(data, name)
        await services.update_item(p.user_id, organisation_id, item_id, changes)
        item = await services.item_row(organisation_id, item_id)
        return assessment_out(await services.get_assessment(organisation_id, item["assessment"]))

    @post(
        "/items/{item_id:uuid}/action",
        summary="Turn a gap into an internal action",
        status_code=201,
    )
    async def action(
        self,
        request: Request[Any, Any, Any],
        organisation_id: uuid.UUID,
        item_id: uuid.UUID,
        data: JSONBody[ActionIn],
    ) -> ActionOut:
        p = principal_of(request)
        client(p, organisation_id, write=True)
        aid = await services.create_action_from_gap(
            p.user_id, organisation_id, item_id, msgspec.structs.asdict(data)
        )
        row = next(a for a in await services.list_actions(organisation_id) if a["id"] == aid)
        return _action_out(row)

    @get("/actions", summary="Internal actions (from gaps), open first")
    async def actions(
        self,
        request: Request[Any, Any, Any],
        organisation_id: uuid.UUID,
        page: int | None = None,
        per_page: int | None = None,
    ) -> Page[ActionOut]:
        client(principal_of(request), organisation_id)
        rows = await services.list_actions(organisation_id)
        return page_of([_action_out(r) for r in rows], page, per_page)

    @post("/actions/{action_id:uuid}/done", summary="Mark an internal action done", status_code=200)
    async def done(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID, action_id: uuid.UUID
    ) -> ActionOut:
        p = principal_of(request)
        client(p, organisation_id, write=True)
        return _action_out(await services.complete_action(p.user_id, organisation_id, action_id))


def _action_out(row: dict[str, Any]) -> ActionOut:
    result: ActionOut = _convert(
        {**row, "owner_name": row.get("owner_name")},
        ActionOut,
        owner_id="owner",
        gap_item_id="gap_item",
    )
    return result


@dataclass
class FileUpload:
    file: UploadFile


async def read_upload(data: Any) -> tuple[bytes, str | None]:
    upload = data.file if isinstance(data, FileUpload) else None
    if not isinstance(upload, UploadFile):
        raise Invalid.field("file", "Attach a file in the multipart field `file`.")
    # One byte past the limit is enough to know it is too large without reading it all.
    return await upload.read(files.max_bytes() + 1), upload.filename


class DocumentController(Controller):
    path = "/api/v1/organisations/{organisation_id:uuid}/documents"
    tags = ["readiness"]
    guards = [requires_login]

    @get("", summary="The document register with current versions and retention/review flags")
    async def index(
        self,
        request: Request[Any, Any, Any],
        organisation_id: uuid.UUID,
        doc_type: str | None = None,
        page: int | None = None,
        per_page: int | None = None,
    ) -> Page[DocumentOut]:
        client(principal_of(request), organisation_id)
        docs = await services.list_documents(organisation_id, doc_type)
        return page_of([document_out(d) for d in docs], page, per_page)

    @post(
        "", summary="Register a controlled document (version 1 starts as a draft)", status_code=201
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        organisation_id: uuid.UUID,
        data: JSONBody[DocumentIn],
    ) -> DocumentOut:
        p = principal_of(request)
        client(p, organisation_id, write=True)
        doc_id = await services.create_document(
            p.user_id, organisation_id, msgspec.structs.asdict(data)
        )
        return document_out(await services.get_document(doc_id))

    @get(
        "/{document_id:uuid}",
        summary="A document with versions, comments and shares (logged as a view)",
    )
    async def read(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID, document_id: uuid.UUID
    ) -> DocumentOut:
        p = principal_of(request)
        client(p, organisation_id)
        await services.org_document(organisation_id, document_id)
        doc = await services.get_document(document_id)
        current = doc["current"] or doc["draft"]
        await services.record_access(
            document_id, current["id"] if current else None, p.user_id, "organisation", "view"
        )
        return document_out(doc)

    @patch(
        "/{document_id:uuid}",
        summary="Edit the register entry: title, clause, owner, review, retention",
    )
    async def edit(
        self,
        request: Request[Any, Any, Any],
        organisation_id: uuid.UUID,
        document_id: uuid.UUID,
        data: JSONBody[DocumentPatch],
    ) -> DocumentOut:
        p = principal_of(request)
        client(p, organisation_id, write=True)
        await services.org_document(organisation_id, document_id)
        raw = await request.json()
        changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not None}
        for name in ("owner_id", "next_review_on", "retention_months"):
            if isinstance(raw, dict) and name in raw:
                changes[name] = getattr(data, name)
        await services.update_document(p.user_id, document_id, changes)
        return document_out(await services.get_document(document_id))

    @get(
        "/{document_id:uuid}/access-log",
        summary="Who viewed or downloaded which version, newest first",
    )
    async def access(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID, document_id: uuid.UUID
    ) -> list[AccessOut]:
        client(principal_of(request), organisation_id, write=True)
        await services.org_document(organisation_id, document_id)
        return [msgspec.convert(r, AccessOut) for r in await services.access_log(document_id)]

    @post(
        "/{document_id:uuid}/versions", summary="Start the next version as a draft", status_code=201
    )
    async def new_version(
        self,
        request: Request[Any, Any, Any],
        organisation_id: uuid.UUID,
        document_id: uuid.UUID,
        data: JSONBody[VersionIn],
    ) -> VersionOut:
        p = principal_of(request)
        client(p, organisation_id, write=True)
        await services.org_document(organisation_id, document_id)
        vid = await services.new_version(p.user_id, document_id, data.change_summary)
        return await _version(document_id, vid)

    @patch(
        "/{document_id:uuid}/versions/{version_id:uuid}",
        summary="Edit a draft version; an approved version is frozen (409 version_frozen)",
    )
    async def edit_version(
        self,
        request: Request[Any, Any, Any],
        organisation_id: uuid.UUID,
        document_id: uuid.UUID,
        version_id: uuid.UUID,
        data: JSONBody[VersionPatch],
    ) -> VersionOut:
        p = principal_of(request)
        client(p, organisation_id, write=True)
        await services.org_document(organisation_id, document_id)
        await services.update_version(
            p.user_id, document_id, version_id, msgspec.structs.asdict(data)
        )
        return await _version(document_id, version_id)

    @post(
        "/{document_id:uuid}/versions/{version_id:uuid}/file",
        summary="Upload the draft's file (multipart `file`; evidence limits: 413, 415)",
        status_code=201,
    )
    async def upload(
        self,
        request: Request[Any, Any, Any],
        organisation_id: uuid.UUID,
        document_id: uuid.UUID,
        version_id: uuid.UUID,
        data: Annotated[FileUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> FileOut:
        p = principal_of(request)
        client(p, organisation_id, write=True)
        await services.org_document(organisation_id, document_id)
        content, filename = await read_upload(data)
        row = await services.upload_version_file(
            p.user_id, document_id, version_id, content, filename
        )
        return msgspec.convert(row, FileOut)

    @get(
        "/{document_id:uuid}/versions/{version_id:uuid}/file",
        summary="Download a version's file (logged)",
    )
    async def download(
        self,
        request: Request[Any, Any, Any],
        organisation_id: uuid.UUID,
        document_id: uuid.UUID,
        version_id: uuid.UUID,
    ) -> Response[bytes]:
        p = principal_of(request)
        client(p, organisation_id)
        await services.org_document(organisation_id, document_id)
        version = await services.version_row(document_id, version_id)
        response = file_response(version)
        await services.record_access(document_id, version_id, p.user_id, "organisation", "download")
        return response

    @post(
        "/{document_id:uuid}/versions/{version_id:uuid}/approve",
        summary="Approve a draft: frozen from now on, supersedes the approved version",
        status_code=200,
    )
    async def approve(
        self,
        request: Request[Any, Any, Any],
        organisation_id: uuid.UUID,
        document_id: uuid.UUID,
        version_id: uuid.UUID,
        data: JSONBody[ApproveIn] | None = None,
    ) -> VersionOut:
        p = principal_of(request)
        client(p, organisation_id, write=True)
        await services.org_document(organisation_id, document_id)
        await services.approve_version(
            p.user_id, document_id, version_id, data.effective_on if data else None
        )
        return await _version(document_id, version_id)


async def _version(document_id: uuid.UUID, version_id: uuid.UUID) -> VersionOut:
    doc = await services.get_document(document_id)
    return version_out(next(v for v in doc["versions"] if v["id"] == version_id))


class DocumentShareController(Controller):
    path = "/api/v1/organisations/{organisation_id:uuid}/document-shares"
    tags = ["readiness"]
    guards = [requires_login]

    @get("", summary="Documents currently shared with certification bodies")
    async def index(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID
    ) -> list[ShareOut]:
        client(principal_of(request), organisation_id)
        return [share_out(s) for s in await services.list_shares(organisation_id)]

    @post(
        "",
        summary="Share approved documents with the organisation's certification body",
        status_code=201,
    )
    async def share(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID, data: JSONBody[ShareIn]
    ) -> SharedOut:
        p = principal_of(request)
        client(p, organisation_id, write=True)
        new = await services.share_documents(
            p.user_id, organisation_id, data.body_id, data.document_ids
        )
        shares = [
            share_out(s)
            for s in await services.list_shares(organisation_id)
            if s["body"] == data.body_id and s["document"] in set(data.document_ids)
        ]
        return SharedOut(shared=new, shares=shares)

    @delete(
        "/{share_id:uuid}",
        summary="Withdraw a share: the body loses access at once",
        status_code=204,
    )
    async def withdraw(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID, share_id: uuid.UUID
    ) -> None:
        p = principal_of(request)
        client(p, organisation_id, write=True)
        await services.withdraw_share(p.user_id, organisation_id, share_id)


class SharedDocumentController(Controller):
    path = "/api/v1/bodies/{body_id:uuid}/shared-documents"
    tags = ["readiness"]
    guards = [requires_login]

    @get("", summary="Documents clients share with the body (read-only)")
    async def index(
        self,
        request: Request[Any, Any, Any],
        body_id: uuid.UUID,
        page: int | None = None,
        per_page: int | None = None,
    ) -> Page[dict[str, Any]]:
        body(principal_of(request), body_id)
        rows = await services.shared_documents(body_id)
        items = [
            {
                "id": r["id"],
                "organisation_id": r["organisation"],
                "organisation_name": r["organisation_name"],
                "code": r["code"],
                "title": r["title"],
                "doc_type": r["doc_type"],
                "clause": r["clause"],
                "shared_at": r["shared_at"],
                "current_version": r["current"] and msgspec.to_builtins(version_out(r["current"])),
            }
            for r in rows
        ]
        return page_of(items, page, per_page)

    @get(
        "/{document_id:uuid}",
        summary="A shared document: approved versions and the body's comments (logged)",
    )
    async def read(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID, document_id: uuid.UUID
    ) -> DocumentOut:
        p = principal_of(request)
        body(p, body_id)
        doc = await services.body_document(body_id, document_id)
        current = doc["current"]
        await services.record_access(
            document_id, current["id"] if current else None, p.user_id, "body", "view", body_id
        )
        return document_out(doc)

    @get(
        "/{document_id:uuid}/versions/{version_id:uuid}/file",
        summary="Download a shared version (logged)",
    )
    async def download(
        self,
        request: Request[Any, Any, Any],
        body_id: uuid.UUID,
        document_id: uuid.UUID,
        version_id: uuid.UUID,
    ) -> Response[bytes]:
        p = principal_of(request)
        body(p, body_id)
        await services.body_document(body_id, document_id)
        version = await services.version_row(document_id, version_id)
        if version["status"] == "draft":
            raise NotFound(services.NO_VERSION)
        response = file_response(version)
        await services.record_access(
            document_id, version_id, p.user_id, "body", "download", body_id
        )
        return response

    @post(
        "/{document_id:uuid}/comments",
        summary="Comment on a version (body owner, scheduler, auditor)",
        status_code=201,
    )
    async def comment(
        self,
        request: Request[Any, Any, Any],
        body_id: uuid.UUID,
        document_id: uuid.UUID,
        data: JSONBody[CommentIn],
    ) -> CommentOut:
        p = principal_of(request)
        body(p, body_id, comment=True)
        cid = await services.add_comment(
            p.user_id, body_id, document_id, data.version_id, data.text
        )
        doc = await services.body_document(body_id, document_id)
        row = next(c for c in doc["comments"] if c["id"] == cid)
        result: CommentOut = _convert(row, CommentOut, version_id="version", body_id="body")
        return result


class InternalAuditController(Controller):
    path = "/api/v1/organisations/{organisation_id:uuid}"
    tags = ["readiness"]
    guards = [requires_login]

    @get("/internal-audits", summary="Internal audits, latest first")
    async def index(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID
    ) -> list[InternalAuditOut]:
        client(principal_of(request), organisation_id)
        return [internal_audit_out(r) for r in await services.list_internal_audits(organisation_id)]

    @post(
        "/internal-audits",
        summary="Plan an internal audit: scope, clauses, auditor, date",
        status_code=201,
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        organisation_id: uuid.UUID,
        data: JSONBody[InternalAuditIn],
    ) -> InternalAuditOut:
        p = principal_of(request)
        client(p, organisation_id, write=True)
        aid = await services.create_internal_audit(
            p.user_id, organisation_id, msgspec.structs.asdict(data)
        )
        return internal_audit_out(await services.get_internal_audit(aid))

    @get("/internal-audits/{audit_id:uuid}", summary="An internal audit with its findings")
    async def read(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID, audit_id: uuid.UUID
    ) -> InternalAuditOut:
        client(principal_of(request), organisation_id)
        await services.org_internal_audit(organisation_id, audit_id)
        return internal_audit_out(await services.get_internal_audit(audit_id))

    @post(
        "/internal-audits/{audit_id:uuid}/complete",
        summary="Record the internal audit as held",
        status_code=200,
    )
    async def complete(
        self,
        request: Request[Any, Any, Any],
        organisation_id: uuid.UUID,
        audit_id: uuid.UUID,
        data: JSONBody[CompleteIn] | None = None,
    ) -> InternalAuditOut:
        p = principal_of(request)
        client(p, organisation_id, write=True)
        await services.org_internal_audit(organisation_id, audit_id)
        data = data or CompleteIn()
        await services.complete_internal_audit(p.user_id, audit_id, data.completed_on, data.summary)
        return internal_audit_out(await services.get_internal_audit(audit_id))

    @post(
        "/internal-audits/{audit_id:uuid}/share",
        summary="Show the audit and its findings to a certification body (null body_id withdraws)",
        status_code=200,
    )
    async def share(
        self,
        request: Request[Any, Any, Any],
        organisation_id: uuid.UUID,
        audit_id: uuid.UUID,
        data: JSONBody[InternalShareIn],
    ) -> InternalAuditOut:
        p = principal_of(request)
        client(p, organisation_id, write=True)
        await services.org_internal_audit(organisation_id, audit_id)
        await services.share_internal_audit(p.user_id, audit_id, data.body_id)
        return internal_audit_out(await services.get_internal_audit(audit_id))

    @post(
        "/internal-audits/{audit_id:uuid}/findings",
        summary="Record a graded internal finding",
        status_code=201,
    )
    async def add_finding(
        self,
        request: Request[Any, Any, Any],
        organisation_id: uuid.UUID,
        audit_id: uuid.UUID,
        data: JSONBody[InternalFindingIn],
    ) -> InternalFindingOut:
        p = principal_of(request)
        client(p, organisation_id, write=True)
        await services.org_internal_audit(organisation_id, audit_id)
        fid = await services.add_internal_finding(p.user_id, audit_id, msgspec.structs.asdict(data))
        return finding_out(await services.internal_finding_row(fid))

    async def _finding(self, organisation_id: uuid.UUID, finding_id: uuid.UUID) -> dict[str, Any]:
        row = await services.internal_finding_row(finding_id)
        if row["organisation_id"] != organisation_id:
            raise NotFound(services.NO_FINDING)
        return row

    @patch(
        "/internal-findings/{finding_id:uuid}",
        summary="Answer an internal finding (open or rejected)",
    )
    async def answer(
        self,
        request: Request[Any, Any, Any],
        organisation_id: uuid.UUID,
        finding_id: uuid.UUID,
        data: JSONBody[InternalFindingPatch],
    ) -> InternalFindingOut:
        p = principal_of(request)
        client(p, organisation_id, write=True)
        await self._finding(organisation_id, finding_id)
        raw = await request.json()
        changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not None}
        if isinstance(raw, dict) and "owner_id" in raw:
            changes["owner_id"] = data.owner_id
        await services.update_internal_finding(p.user_id, finding_id, changes)
        return finding_out(await services.internal_finding_row(finding_id))

    @post(
        "/internal-findings/{finding_id:uuid}/steps",
        summary="Move the corrective action: submit, accept, reject, verify, not_effective",
        status_code=200,
    )
    async def step(
        self,
        request: Request[Any, Any, Any],
        organisation_id: uuid.UUID,
        finding_id: uuid.UUID,
        data: JSONBody[StepIn],
    ) -> InternalFindingOut:
        p = principal_of(request)
        client(p, organisation_id, write=True)
        await self._finding(organisation_id, finding_id)
        await services.transition_internal_finding(p.user_id, finding_id, data.step, data.comment)
        return finding_out(await services.internal_finding_row(finding_id))

    @get("/management-reviews", summary="Management reviews, latest first")
    async def reviews(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID
    ) -> list[ManagementReviewOut]:
        client(principal_of(request), organisation_id)
        rows = await services.list_management_reviews(organisation_id)
        return [msgspec.convert(r, ManagementReviewOut, strict=False) for r in rows]

    @post(
        "/management-reviews", summary="Record a management review (ISO 9001 9.3)", status_code=201
    )
    async def add_review(
        self,
        request: Request[Any, Any, Any],
        organisation_id: uuid.UUID,
        data: JSONBody[ManagementReviewIn],
    ) -> ManagementReviewOut:
        p = principal_of(request)
        client(p, organisation_id, write=True)
        rid = await services.create_management_review(
            p.user_id, organisation_id, msgspec.structs.asdict(data)
        )
        row = next(
            r for r in await services.list_management_reviews(organisation_id) if r["id"] == rid
        )
        return msgspec.convert(row, ManagementReviewOut, strict=False)


class SharedInternalAuditController(Controller):
    path = "/api/v1/bodies/{body_id:uuid}/shared-internal-audits"
    tags = ["readiness"]
    guards = [requires_login]

    @get("", summary="Internal audits clients share with the body")
    async def index(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID
    ) -> list[InternalAuditOut]:
        body(principal_of(request), body_id)
        return [
            internal_audit_out(r) for r in await services.list_internal_audits(shared_with=body_id)
        ]

    @get("/{audit_id:uuid}", summary="A shared internal audit with its findings")
    async def read(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID, audit_id: uuid.UUID
    ) -> InternalAuditOut:
        body(principal_of(request), body_id)
        row = await services.internal_audit_row(audit_id)
        if row["shared_body"] != body_id:
            raise NotFound(services.NO_AUDIT)
        return internal_audit_out(await services.get_internal_audit(audit_id))


class Stage1ReferenceController(Controller):
    path = "/api/v1/reports/{report_id:uuid}/references"
    tags = ["readiness"]
    guards = [requires_login]

    @get("", summary="A stage 1 report's references to shared documents and clauses")
    async def index(
        self, request: Request[Any, Any, Any], report_id: uuid.UUID
    ) -> list[ReferenceOut]:
        report_side(principal_of(request), await findings_services.report_row(report_id))
        return [msgspec.convert(r, ReferenceOut) for r in await services.list_references(report_id)]

    @post(
        "",
        summary="Reference a shared document and/or a clause from a draft stage 1 report",
        status_code=201,
    )
    async def add(
        self, request: Request[Any, Any, Any], report_id: uuid.UUID, data: JSONBody[ReferenceIn]
    ) -> ReferenceOut:
        p = principal_of(request)
        report_side(p, await findings_services.report_row(report_id), write=True)
        rid = await services.add_reference(p.user_id, report_id, msgspec.structs.asdict(data))
        row = next(r for r in await services.list_references(report_id) if r["id"] == rid)
        return msgspec.convert(row, ReferenceOut)


API_CONTROLLERS = [
    ReadinessController,
    DocumentController,
    DocumentShareController,
    SharedDocumentController,
    InternalAuditController,
    SharedInternalAuditController,
    Stage1ReferenceController,
]
