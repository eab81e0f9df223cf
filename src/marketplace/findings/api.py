"""JSON API of findings: audit reports, the corrective action workflow and evidence files."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, patch, post, put
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, JSONBody, Parameter

from marketplace.accounts.guards import Principal, principal_of, require_role, requires_login
from marketplace.accounts.roles import TenantKind
from marketplace.core.errors import Invalid
from marketplace.core.pagination import Page, PageParams
from marketplace.findings import evidence as files
from marketplace.findings import services
from marketplace.findings.access import (
    REPORT_WRITERS,
    action_side,
    report_side,
)
from marketplace.findings.schemas import (
    AmendIn,
    CorrectiveActionOut,
    CorrectiveActionPatch,
    EscalateIn,
    EvidenceOut,
    PolicyIn,
    ReportIn,
    ReportOut,
    ReportPatch,
    ReviewIn,
    VerifyIn,
)
from marketplace.scheduling.context import BODY_ALL, CLIENT_ALL, check_access


async def report_out(report_id: uuid.UUID) -> ReportOut:
    return msgspec.convert(await services.get_report(report_id), ReportOut, strict=False)


def _ca_out(row: dict[str, Any]) -> CorrectiveActionOut:
    return msgspec.convert(
        {
            **row,
            "finding_id": row["finding"],
            "audit_id": row["audit"],
            "organisation_id": row["organisation"],
            "body_id": row["body"],
            "owner_id": row["owner"],
            "finding": row.get("finding_detail"),
        },
        CorrectiveActionOut,
        strict=False,
    )


async def ca_out(ca_id: uuid.UUID) -> CorrectiveActionOut:
    return _ca_out(await services.get_corrective_action(ca_id))


class AuditReportController(Controller):
    path = "/api/v1/audits/{audit_id:uuid}/report"
    tags = ["findings"]
    guards = [requires_login]

    @post(
        "",
        summary="Draft the report of a completed audit (body owner, scheduler, auditor)",
        status_code=201,
    )
    async def create(
        self, request: Request[Any, Any, Any], audit_id: uuid.UUID, data: JSONBody[ReportIn]
    ) -> ReportOut:
        p = principal_of(request)
        parties = await services.audit_parties(audit_id)
        check_access(
            p, parties.organisation_id, parties.body_id, body=REPORT_WRITERS, what="No such audit."
        )
        report_id = await services.create_report(p.user_id, audit_id, msgspec.to_builtins(data))
        return await report_out(report_id)


class ReportController(Controller):
    path = "/api/v1/reports/{report_id:uuid}"
    tags = ["findings"]
    guards = [requires_login]

    @get("", summary="A report revision with its findings")
    async def read(self, request: Request[Any, Any, Any], report_id: uuid.UUID) -> ReportOut:
        side = report_side(principal_of(request), await services.report_row(report_id))
        out = await report_out(report_id)
        if side == "client":
            # A draft amendment is the body's work in progress until it is issued.
            out.revisions = [r for r in out.revisions if r["status"] != "draft"]
        return out

    @patch("", summary="Edit a draft report; findings, when given, replace the draft's findings")
    async def edit(
        self, request: Request[Any, Any, Any], report_id: uuid.UUID, data: JSONBody[ReportPatch]
    ) -> ReportOut:
        p = principal_of(request)
        report_side(p, await services.report_row(report_id), write=True)
        changes = {k: v for k, v in msgspec.to_builtins(data).items() if v is not None}
        if data.findings is not None:
            changes["findings"] = [
                {**msgspec.to_builtins(f), "site_id": f.site_id} for f in data.findings
            ]
        await services.update_report(p.user_id, report_id, changes)
        return await report_out(report_id)

    @post(
        "/issue",
        summary="Issue (freeze) the report; nonconformities open corrective actions",
        status_code=200,
    )
    async def issue(self, request: Request[Any, Any, Any], report_id: uuid.UUID) -> ReportOut:
        p = principal_of(request)
        report_side(p, await services.report_row(report_id), write=True)
        await services.issue_report(p.user_id, report_id)
        return await report_out(report_id)

    @post(
        "/amend",
        summary="Start an amendment: a new draft revision; the issued one is kept",
        status_code=201,
    )
    async def amend(
        self, request: Request[Any, Any, Any], report_id: uuid.UUID, data: JSONBody[AmendIn]
    ) -> ReportOut:
        p = principal_of(request)
        report_side(p, await services.report_row(report_id), write=True)
        new_id = await services.amend_report(p.user_id, report_id, data.reason)
        return await report_out(new_id)


class OrganisationActionsController(Controller):
    path = "/api/v1/organisations/{organisation_id:uuid}/corrective-actions"
    tags = ["findings"]
    guards = [requires_login]

    @get("", summary="The client's corrective action tracker (client members)")
    async def list(
        self,
        request: Request[Any, Any, Any],
        organisation_id: uuid.UUID,
        status: str | None = Parameter(default=None, max_length=20),
        grade: str | None = Parameter(default=None, max_length=20),
        overdue: bool | None = None,
        owner_id: uuid.UUID | None = None,
        page: int | None = None,
        per_page: int | None = None,
        clause: str | None = Parameter(default=None, max_length=40),
    ) -> Page[CorrectiveActionOut]:
        require_role(
            principal_of(request),
            TenantKind.organisation,
            organisation_id,
            CLIENT_ALL,
            what="No such organisation.",
        )
        params = PageParams.of(page, per_page)
        rows, total = await services.list_corrective_actions(
            organisation_id=organisation_id,
            status=status,
            grade=grade,
            overdue_only=overdue,
            owner_id=owner_id,
            clause=clause,
            limit=params.per_page,
            offset=params.offset,
        )
        return Page(
            items=[_ca_out(r) for r in rows],
            total=total,
            page=params.page,
            per_page=params.per_page,
        )


class BodyActionsController(Controller):
    path = "/api/v1/bodies/{body_id:uuid}"
    tags = ["findings"]
    guards = [requires_login]

    @get("/corrective-actions", summary="Corrective actions on the body's findings (body members)")
    async def list(
        self,
        request: Request[Any, Any, Any],
        body_id: uuid.UUID,
        status: str | None = Parameter(default=None, max_length=20),
        grade: str | None = Parameter(default=None, max_length=20),
        overdue: bool | None = None,
        page: int | None = None,
        per_page: int | None = None,
    ) -> Page[CorrectiveActionOut]:
        require_role(
            principal_of(request),
            TenantKind.body,
            body_id,
            BODY_ALL,
            what="No such certification body.",
        )
        params = PageParams.of(page, per_page)
        rows, total = await services.list_corrective_actions(
            body_id=body_id,
            status=status,
            grade=grade,
            overdue_only=overdue,
            limit=params.per_page,
            offset=params.offset,
        )
        return Page(
            items=[_ca_out(r) for r in rows],
            total=total,
            page=params.page,
            per_page=params.per_page,
        )

    @get("/finding-policy", summary="The body's response times for findings (body members)")
    async def policy(self, request: Request[Any, Any, Any], body_id: uuid.UUID) -> PolicyIn:
        require_role(
            principal_of(request),
            TenantKind.body,
            body_id,
            BODY_ALL,
            what="No such certification body.",
        )
        policy = await services.policy_for(body_id)
        return PolicyIn(policy.major_response_days, policy.minor_plan_days)

    @put("/finding-policy", summary="Set the body's response times for findings (owner)")
    async def set_policy(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID, data: JSONBody[PolicyIn]
    ) -> PolicyIn:
        p = principal_of(request)
        require_role(p, TenantKind.body, body_id, {"owner"}, what="No such certification body.")
        await services.set_policy(
            p.user_id, body_id, data.major_response_days, data.minor_plan_days
        )
        return data


@dataclass
class EvidenceUpload:
    file: UploadFile


class CorrectiveActionController(Controller):
    path = "/api/v1/corrective-actions/{ca_id:uuid}"
    tags = ["findings"]
    guards = [requires_login]

    @get("", summary="A corrective action with its finding, history and evidence list")
    async def read(self, request: Request[Any, Any, Any], ca_id: uuid.UUID) -> CorrectiveActionOut:
        action_side(principal_of(request), await services.ca_row(ca_id))
        return await ca_out(ca_id)

    @patch("", summary="Answer: owner, correction, root cause, plan, target date (client)")
    async def edit(
        self,
        request: Request[Any, Any, Any],
        ca_id: uuid.UUID,
        data: JSONBody[CorrectiveActionPatch],
    ) -> CorrectiveActionOut:
        p = principal_of(request)
        action_side(p, await services.ca_row(ca_id), act="answer")
        # owner_id may be set to null explicitly, so only the fields sent count.
        raw = await request.json()
        changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not None}
        if isinstance(raw, dict) and "owner_id" in raw:
            changes["owner_id"] = data.owner_id
        await services.update_corrective_action(p.user_id, ca_id, changes)
        return await ca_out(ca_id)

    @post("/evidence", summary="Upload evidence (multipart field `file`)", status_code=201)
    async def evidence(
        self,
        request: Request[Any, Any, Any],
        ca_id: uuid.UUID,
        data: Annotated[EvidenceUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> EvidenceOut:
        p = principal_of(request)
        action_side(p, await services.ca_row(ca_id), act="answer")
        upload = data.file if isinstance(data, EvidenceUpload) else None
        if not isinstance(upload, UploadFile):
            raise Invalid.field("file", "Attach a file in the multipart field `file`.")
        # Read one byte past the limit: enough to know it is too large without reading it all.
        content = await upload.read(files.max_bytes() + 1)
        row = await services.add_evidence(p.user_id, ca_id, content, upload.filename)
        return msgspec.convert(row, EvidenceOut)

    @post("/submit", summary="Submit the answer to the body (client)", status_code=200)
    async def submit(
        self, request: Request[Any, Any, Any], ca_id: uuid.UUID
    ) -> CorrectiveActionOut:
        p = principal_of(request)
        action_side(p, await services.ca_row(ca_id), act="answer")
        await services.submit_corrective_action(p.user_id, ca_id)
        return await ca_out(ca_id)

    @post(
        "/review",
        summary="Accept or reject the answer (body owner, scheduler, auditor)",
        status_code=200,
    )
    async def review(
        self, request: Request[Any, Any, Any], ca_id: uuid.UUID, data: JSONBody[ReviewIn]
    ) -> CorrectiveActionOut:
        p = principal_of(request)
        action_side(p, await services.ca_row(ca_id), act="review")
        await services.review_corrective_action(p.user_id, ca_id, data.decision, data.comment)
        return await ca_out(ca_id)

    @post(
        "/verify",
        summary="Verify effectiveness: closed, or back to rejected (body)",
        status_code=200,
    )
    async def verify(
        self, request: Request[Any, Any, Any], ca_id: uuid.UUID, data: JSONBody[VerifyIn]
    ) -> CorrectiveActionOut:
        p = principal_of(request)
        action_side(p, await services.ca_row(ca_id), act="review")
        await services.verify_corrective_action(p.user_id, ca_id, data.effective, data.comment)
        return await ca_out(ca_id)

    @post("/escalate", summary="Escalate an overdue minor to a major (body)", status_code=200)
    async def escalate(
        self,
        request: Request[Any, Any, Any],
        ca_id: uuid.UUID,
        data: JSONBody[EscalateIn] | None = None,
    ) -> CorrectiveActionOut:
        p = principal_of(request)
        action_side(p, await services.ca_row(ca_id), act="review")
        await services.escalate_corrective_action(p.user_id, ca_id, data.reason if data else "")
        return await ca_out(ca_id)


async def evidence_download(principal: Principal, evidence_id: uuid.UUID) -> Response[bytes]:
    """The file, for members of the client or the body it belongs to (404 for anyone else)."""
    row = await services.evidence_row(evidence_id)
    check_access(
        principal,
        row["organisation_id"],
        row["body_id"],
        client=CLIENT_ALL,
        body=BODY_ALL,
        what="No such evidence file.",
    )
    return evidence_response(row)


def evidence_response(row: dict[str, Any]) -> Response[bytes]:
    """The file as an attachment under its sanitised name; never rendered by the browser."""
    return Response(
        content=services.evidence_bytes(row),
        media_type=row["content_type"],
        headers={
            # Stored as sniffed ("text/plain; charset=utf-8"); given as the header, Litestar
            # does not append a second charset as it does to a text/* media_type.
            "Content-Type": row["content_type"],
            "Content-Disposition": files.content_disposition(row["filename"]),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


class EvidenceController(Controller):
    path = "/api/v1/evidence/{evidence_id:uuid}"
    tags = ["findings"]
    guards = [requires_login]

    @get("", summary="Download an evidence file (the client and the body only)")
    async def download(
        self, request: Request[Any, Any, Any], evidence_id: uuid.UUID
    ) -> Response[bytes]:
        return await evidence_download(principal_of(request), evidence_id)


API_CONTROLLERS = [
    AuditReportController,
    ReportController,
    OrganisationActionsController,
    BodyActionsController,
    CorrectiveActionController,
    EvidenceController,
]
