"""JSON API of findings: audit reports, the corrective action workflow and evidence files."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, patch, post, put
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, JSONBody, Parameter

from marketplace.accounts.guards import principal_of, requires_login
from marketplace.core.errors import Invalid
from marketplace.core.pagination import Page, PageParams
from marketplace.findings import corrective_actions as actions
from marketplace.findings import evidence as files
from marketplace.findings import reports, tracker
from marketplace.findings.evidence_download import evidence_download
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
        report_id = await reports.create_report(principal_of(request), audit_id, data)
        return await reports.get_report(report_id)


class ReportController(Controller):
    path = "/api/v1/reports/{report_id:uuid}"
    tags = ["findings"]
    guards = [requires_login]

    @get("", summary="A report revision with its findings")
    async def read(self, request: Request[Any, Any, Any], report_id: uuid.UUID) -> ReportOut:
        return await reports.read_report(principal_of(request), report_id)

    @patch("", summary="Edit a draft report; findings, when given, replace the draft's findings")
    async def edit(
        self, request: Request[Any, Any, Any], report_id: uuid.UUID, data: JSONBody[ReportPatch]
    ) -> ReportOut:
        await reports.update_report(principal_of(request), report_id, data)
        return await reports.get_report(report_id)

    @post(
        "/issue",
        summary="Issue (freeze) the report; nonconformities open corrective actions",
        status_code=200,
    )
    async def issue(self, request: Request[Any, Any, Any], report_id: uuid.UUID) -> ReportOut:
        await reports.issue_report(principal_of(request), report_id)
        return await reports.get_report(report_id)

    @post(
        "/amend",
        summary="Start an amendment: a new draft revision; the issued one is kept",
        status_code=201,
    )
    async def amend(
        self, request: Request[Any, Any, Any], report_id: uuid.UUID, data: JSONBody[AmendIn]
    ) -> ReportOut:
        new_id = await reports.amend_report(principal_of(request), report_id, data.reason)
        return await reports.get_report(new_id)


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
        return await tracker.organisation_actions(
            principal_of(request),
            organisation_id,
            tracker.Filters(status, grade, overdue, owner_id, clause),
            PageParams.of(page, per_page),
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
        return await tracker.body_actions(
            principal_of(request),
            body_id,
            tracker.Filters(status, grade, overdue),
            PageParams.of(page, per_page),
        )

    @get("/finding-policy", summary="The body's response times for findings (body members)")
    async def policy(self, request: Request[Any, Any, Any], body_id: uuid.UUID) -> PolicyIn:
        policy = await actions.read_policy(principal_of(request), body_id)
        return PolicyIn(policy.major_response_days, policy.minor_plan_days)

    @put("/finding-policy", summary="Set the body's response times for findings (owner)")
    async def set_policy(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID, data: JSONBody[PolicyIn]
    ) -> PolicyIn:
        await actions.set_policy(
            principal_of(request), body_id, data.major_response_days, data.minor_plan_days
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
        return await actions.read_corrective_action(principal_of(request), ca_id)

    @patch("", summary="Answer: owner, correction, root cause, plan, target date (client)")
    async def edit(
        self,
        request: Request[Any, Any, Any],
        ca_id: uuid.UUID,
        data: JSONBody[CorrectiveActionPatch],
    ) -> CorrectiveActionOut:
        # owner_id may be set to null explicitly, so only the fields sent count.
        raw = await request.json()
        changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not None}
        if isinstance(raw, dict) and "owner_id" in raw:
            changes["owner_id"] = data.owner_id
        await actions.update_corrective_action(principal_of(request), ca_id, changes)
        return await actions.get_corrective_action(ca_id)

    @post("/evidence", summary="Upload evidence (multipart field `file`)", status_code=201)
    async def evidence(
        self,
        request: Request[Any, Any, Any],
        ca_id: uuid.UUID,
        data: Annotated[EvidenceUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> EvidenceOut:
        upload = data.file if isinstance(data, EvidenceUpload) else None
        if not isinstance(upload, UploadFile):
            raise Invalid.field("file", "Attach a file in the multipart field `file`.")
        # Read one byte past the limit: enough to know it is too large without reading it all.
        content = await upload.read(files.max_bytes() + 1)
        row = await files.add_evidence(principal_of(request), ca_id, content, upload.filename)
        return msgspec.convert(row, EvidenceOut)

    @post("/submit", summary="Submit the answer to the body (client)", status_code=200)
    async def submit(
        self, request: Request[Any, Any, Any], ca_id: uuid.UUID
    ) -> CorrectiveActionOut:
        await actions.submit_corrective_action(principal_of(request), ca_id)
        return await actions.get_corrective_action(ca_id)


class CorrectiveActionReviewController(Controller):
    """The body's steps on a submitted answer: review, verify, escalate."""

    path = "/api/v1/corrective-actions/{ca_id:uuid}"
    tags = ["findings"]
    guards = [requires_login]

    @post(
        "/review",
        summary="Accept or reject the answer (body owner, scheduler, auditor)",
        status_code=200,
    )
    async def review(
        self, request: Request[Any, Any, Any], ca_id: uuid.UUID, data: JSONBody[ReviewIn]
    ) -> CorrectiveActionOut:
        await actions.review_corrective_action(
            principal_of(request), ca_id, data.decision, data.comment
        )
        return await actions.get_corrective_action(ca_id)

    @post(
        "/verify",
        summary="Verify effectiveness: closed, or back to rejected (body)",
        status_code=200,
    )
    async def verify(
        self, request: Request[Any, Any, Any], ca_id: uuid.UUID, data: JSONBody[VerifyIn]
    ) -> CorrectiveActionOut:
        await actions.verify_corrective_action(
            principal_of(request), ca_id, data.effective, data.comment
        )
        return await actions.get_corrective_action(ca_id)

    @post("/escalate", summary="Escalate an overdue minor to a major (body)", status_code=200)
    async def escalate(
        self,
        request: Request[Any, Any, Any],
        ca_id: uuid.UUID,
        data: JSONBody[EscalateIn] | None = None,
    ) -> CorrectiveActionOut:
        reason = data.reason if data else ""
        await actions.escalate_corrective_action(principal_of(request), ca_id, reason)
        return await actions.get_corrective_action(ca_id)


EvidenceController = evidence_download(
    "/api/v1/evidence/{evidence_id:uuid}", principal_of, tags=["findings"]
)


API_CONTROLLERS = [
    AuditReportController,
    ReportController,
    OrganisationActionsController,
    BodyActionsController,
    CorrectiveActionController,
    CorrectiveActionReviewController,
    EvidenceController,
]
