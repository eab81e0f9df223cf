"""Stage 1 readiness: the panel, report references to shared documents, stage 2 preparation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import msgspec

from marketplace.accounts.guards import Principal
from marketplace.core import clock
from marketplace.core.activity import Tenant, log_action
from marketplace.core.db import write_transaction
from marketplace.core.errors import Conflict, Invalid, NotFound
from marketplace.findings.access import report_side
from marketplace.findings.reports import report_row
from marketplace.findings.tables import AuditReport, CorrectiveAction
from marketplace.readiness.assessments import list_assessments
from marketplace.readiness.context import can_comment, check_clause, client
from marketplace.readiness.schemas import (
    ReadinessOut,
    ReferenceIn,
    ReferenceOut,
    ReportForReference,
    Stage1Out,
    Stage1ReportRef,
    Stage2ItemOut,
)
from marketplace.readiness.sharing import body_document, shared_documents
from marketplace.readiness.tables import InternalAudit, ManagementReview, Stage1Reference
from marketplace.rules import readiness as rules


async def stage1_panel(organisation_id: uuid.UUID) -> Stage1Out:
    """Stage 1 readiness: a full internal audit cycle and a management review within 12 months."""
    audits = (
        await InternalAudit.select(InternalAudit.completed_on, InternalAudit.clauses)
        .where(
            (InternalAudit.organisation == organisation_id) & (InternalAudit.status == "completed")
        )
        .output(load_json=True)
        .run()
    )
    reviews = (
        await ManagementReview.select(ManagementReview.held_on)
        .where(ManagementReview.organisation == organisation_id)
        .run()
    )
    result = rules.stage1_readiness(
        [(a["completed_on"], a["clauses"]) for a in audits if a["completed_on"]],
        [r["held_on"] for r in reviews],
        clock.today(),
    )
    return Stage1Out(
        ready=result.ready,
        internal_audit_cycle=result.internal_audit_cycle,
        clauses_not_audited=result.clauses_not_audited,
        management_review=result.management_review,
        last_management_review=result.last_management_review,
        completed_internal_audits=len(audits),
        management_reviews=len(reviews),
    )


async def report_for_reference(report_id: uuid.UUID) -> ReportForReference:
    row: dict[str, Any] | None = (
        await AuditReport.select(
            AuditReport.id,
            AuditReport.status,
            AuditReport.organisation,
            AuditReport.body,
            AuditReport.audit,
            AuditReport.audit._.kind.as_alias("audit_kind"),
        )
        .where(AuditReport.id == report_id)
        .first()
        .run()
    )
    if row is None:
        raise NotFound("No such report.")
    return msgspec.convert(row, ReportForReference)


async def add_reference(
    actor_id: uuid.UUID | None, report_id: uuid.UUID, data: dict[str, Any]
) -> uuid.UUID:
    """The body's stage 1 report points at a shared document (and version) and/or a clause.

    Only a draft stage 1 report takes references (an issued report is frozen, ISO/IEC 17021-1
    9.4.8), and only documents the client shares with this body can be cited.
    """
    report = await report_for_reference(report_id)
    if report.audit_kind != "stage1":
        raise Conflict("Documents are referenced from stage 1 reports.", code="not_stage1")
    if report.status != "draft":
        raise Conflict("An issued report is frozen; amend it to change it.", code="report_frozen")
    clause = check_clause("clause", data.get("clause") or "")
    document_id = data.get("document_id")
    version_id = data.get("version_id")
    if document_id is None and not clause:
        raise Invalid.field("document_id", "Reference a shared document, a clause or both.")
    if document_id is not None:
        try:
            doc = await body_document(report.body, document_id)
        except NotFound:
            raise Invalid.field(
                "document_id", "Reference only documents the client shares with you."
            ) from None
        if doc["organisation"] != report.organisation:
            raise Invalid.field("document_id", "This document belongs to another client.")
        if version_id is not None:
            if version_id not in {v["id"] for v in doc["versions"]}:
                raise Invalid.field("version_id", "Choose an approved version of the document.")
        elif doc["current"] is not None:
            version_id = doc["current"]["id"]
    elif version_id is not None:
        raise Invalid.field("version_id", "A version needs its document.")
    async with write_transaction():
        ref = Stage1Reference(
            report=report_id,
            document=document_id,
            version=version_id,
            clause=clause,
            note=data.get("note", ""),
            created_by=actor_id,
        )
        await ref.save().run()
        await log_action(
            "marketplace.stage_one_reference.added",
            actor_id=actor_id,
            entity_type="report",
            entity_id=report_id,
            tenant=Tenant("body", report.body),
            data={"document_id": str(document_id or ""), "clause": clause},
        )
    return ref.id


async def list_references(report_id: uuid.UUID) -> list[ReferenceOut]:
    rows: list[dict[str, Any]] = (
        await Stage1Reference.select(
            Stage1Reference.id,
            Stage1Reference.report.as_alias("report_id"),
            Stage1Reference.document.as_alias("document_id"),
            Stage1Reference.document._.code.as_alias("document_code"),
            Stage1Reference.document._.title.as_alias("document_title"),
            Stage1Reference.version.as_alias("version_id"),
            Stage1Reference.version._.number.as_alias("version_number"),
            Stage1Reference.clause,
            Stage1Reference.note,
            Stage1Reference.created_at,
        )
        .where(Stage1Reference.report == report_id)
        .order_by(Stage1Reference.created_at)
        .run()
    )
    return msgspec.convert(rows, list[ReferenceOut])


async def stage1_reports(body_id: uuid.UUID, organisation_id: uuid.UUID) -> list[Stage1ReportRef]:
    """The body's stage 1 reports for this client (draft and issued), for referencing documents."""
    rows: list[dict[str, Any]] = (
        await AuditReport.select(AuditReport.id, AuditReport.status, AuditReport.revision)
        .where(
            (AuditReport.body == body_id)
            & (AuditReport.organisation == organisation_id)
            & (AuditReport.audit._.kind == "stage1")
        )
        .order_by(AuditReport.created_at)
        .run()
    )
    return msgspec.convert(rows, list[Stage1ReportRef])


async def stage2_preparation(organisation_id: uuid.UUID) -> list[Stage2ItemOut]:
    """Stage 1 areas of concern: the corrective actions opened by issued stage 1 reports.

    They sit in the corrective action tracker like any other finding (findings.issue_report opens
    them); here they are the list the client works through before stage 2 (ISO/IEC 17021-1 9.3.1.2).
    """
    rows: list[dict[str, Any]] = (
        await CorrectiveAction.select(
            CorrectiveAction.id,
            CorrectiveAction.grade,
            CorrectiveAction.status,
            CorrectiveAction.due_on,
            CorrectiveAction.finding._.clause.as_alias("clause"),
            CorrectiveAction.finding._.requirement.as_alias("requirement"),
            CorrectiveAction.body._.name.as_alias("body_name"),
        )
        .where(
            (CorrectiveAction.organisation == organisation_id)
            & (CorrectiveAction.audit._.kind == "stage1")
        )
        .order_by(CorrectiveAction.due_on)
        .run()
    )
    return msgspec.convert(rows, list[Stage2ItemOut])


# --- answers -----------------------------------------------------------------------------------


async def readiness_as(principal: Principal, organisation_id: uuid.UUID) -> ReadinessOut:
    """The overview: every self-assessment with its scores, the stage 1 panel, stage 2 preparation."""
    client(principal, organisation_id)
    return ReadinessOut(
        organisation_id=organisation_id,
        assessments=await list_assessments(organisation_id),
        stage1=await stage1_panel(organisation_id),
        stage2_preparation=await stage2_preparation(organisation_id),
    )


async def report_reader(principal: Principal, report_id: uuid.UUID) -> str:
    """Either side of the report may read its references (findings' rule for reading reports)."""
    return report_side(principal, await report_row(report_id))


async def report_writer(principal: Principal, report_id: uuid.UUID) -> None:
    """Only the body's report writers add references (findings' rule for writing reports)."""
    report_side(principal, await report_row(report_id), write=True)


@dataclass
class ReferenceSheet:
    """A stage 1 report's references as its page shows them, and whether the caller may add one."""

    report: ReportForReference
    side: str
    references: list[ReferenceOut]
    can_write: bool
    shared: list[dict[str, Any]]


async def reference_sheet(principal: Principal, report_id: uuid.UUID) -> ReferenceSheet:
    """The body's report writers add references while the stage 1 report is a draft; both read."""
    row = await report_row(report_id)
    side = report_side(principal, row)
    report = await report_for_reference(report_id)
    can_write = (
        side == "body"
        and can_comment(principal, row["body"])
        and report.audit_kind == "stage1"
        and report.status == "draft"
    )
    shared = [
        d
        for d in (await shared_documents(row["body"]) if can_write else [])
        if d["organisation"] == row["organisation"]
    ]
    references = await list_references(report_id)
    return ReferenceSheet(report, side, references, can_write, shared)


async def references_as(principal: Principal, report_id: uuid.UUID) -> list[ReferenceOut]:
    """The report's references, for whoever may read the report (either side)."""
    await report_reader(principal, report_id)
    return await list_references(report_id)


async def add_reference_as(
    principal: Principal, report_id: uuid.UUID, data: ReferenceIn
) -> ReferenceOut:
    """A reference from the body's report writers to what the client shares with the body."""
    await report_writer(principal, report_id)
    rid = await add_reference(principal.user_id, report_id, msgspec.structs.asdict(data))
    return next(r for r in await list_references(report_id) if r.id == rid)
