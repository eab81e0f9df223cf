"""Findings services: report revisions, the corrective action workflow and evidence files."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from marketplace.accounts.tables import Membership, Site, User
from marketplace.core import clock
from marketplace.core.activity import Tenant, entries_for_entity, log_action
from marketplace.core.db import write_transaction
from marketplace.core.errors import Conflict, Invalid, NotFound
from marketplace.findings import evidence as files
from marketplace.findings.tables import (
    AuditReport,
    BodyFindingPolicy,
    CorrectiveAction,
    EvidenceFile,
    Finding,
)
from marketplace.rules.deadlines import (
    DEFAULT_POLICY,
    DeadlinePolicy,
    Grade,
    due_date,
    is_nonconformity,
    is_overdue,
)
from marketplace.scheduling.tables import Audit

# A response is "in" once these states are reached: a minor needs its plan (submitted or
# accepted), a major its verified correction (ISO/IEC 17021-1 9.4.9, 9.4.10; reference README).
RESOLVED = {
    Grade.major.value: frozenset({"closed"}),
    Grade.minor.value: frozenset({"submitted", "accepted", "closed"}),
}
EDITABLE = frozenset({"open", "rejected"})
STATUSES = ("open", "submitted", "accepted", "rejected", "closed")
WITHDRAWN_BY_AMENDMENT = "Withdrawn: the finding was removed or regraded by an amended report."


# --- policy ------------------------------------------------------------------------------------


async def policy_for(body_id: uuid.UUID) -> DeadlinePolicy:
    """The body's response times, else the platform defaults (90 days major, 30 days minor plan)."""
    row = await BodyFindingPolicy.select().where(BodyFindingPolicy.body == body_id).first().run()
    if row is None:
        return DEFAULT_POLICY
    return DeadlinePolicy(row["major_response_days"], row["minor_plan_days"])


async def set_policy(
    actor_id: uuid.UUID | None, body_id: uuid.UUID, major_days: int, minor_days: int
) -> DeadlinePolicy:
    """ISO/IEC 17021-1 9.4.9 leaves the response time to the body: each body may set its own."""
    policy = DeadlinePolicy(major_days, minor_days)
    async with write_transaction():
        existing = (
            await BodyFindingPolicy.select(BodyFindingPolicy.id)
            .where(BodyFindingPolicy.body == body_id)
            .first()
            .run()
        )
        if existing:
            await (
                BodyFindingPolicy.update(
                    {
                        BodyFindingPolicy.major_response_days: major_days,
                        BodyFindingPolicy.minor_plan_days: minor_days,
                    }
                )
                .where(BodyFindingPolicy.id == existing["id"])
                .run()
            )
        else:
            await BodyFindingPolicy.insert(
                BodyFindingPolicy(
                    body=body_id, major_response_days=major_days, minor_plan_days=minor_days
                )
            ).run()
        await log_action(
            "marketplace.finding_policy.updated",
            actor_id=actor_id,
            entity_type="body",
            entity_id=body_id,
            tenant=Tenant("body", body_id),
            data={"major_response_days": major_days, "minor_plan_days": minor_days},
        )
    return policy


# --- reports -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditParties:
    audit_id: uuid.UUID
    organisation_id: uuid.UUID
    body_id: uuid.UUID
    kind: str
    status: str


async def audit_parties(audit_id: uuid.UUID) -> AuditParties:
    row = (
        await Audit.select(
            Audit.id,
            Audit.kind,
            Audit.status,
            Audit.cycle._.engagement._.organisation.as_alias("organisation_id"),
            Audit.cycle._.engagement._.body.as_alias("body_id"),
        )
        .where(Audit.id == audit_id)
        .first()
        .run()
    )
    if row is None:
        raise NotFound("No such audit.")
    return AuditParties(
        row["id"], row["organisation_id"], row["body_id"], row["kind"], row["status"]
    )


async def report_row(report_id: uuid.UUID) -> dict[str, Any]:
    row: dict[str, Any] | None = (
        await AuditReport.select().where(AuditReport.id == report_id).first().run()
    )
    if row is None:
        raise NotFound("No such report.")
    return row


def _normalise(findings: list[dict[str, Any]]) -> None:
    """Site ids may arrive as text (from JSON builtins or forms): compare them as UUIDs."""
    for f in findings:
        value = f.get("site_id")
        if isinstance(value, str):
            try:
                f["site_id"] = uuid.UUID(value) if value else None
            except ValueError:
                raise Invalid.field("site_id", "Not a valid site id.") from None


async def _check_sites(organisation_id: uuid.UUID, findings: list[dict[str, Any]]) -> None:
    _normalise(findings)
    wanted = {f["site_id"] for f in findings if f.get("site_id")}
    if not wanted:
        return
    known = {
        r["id"]
        for r in await Site.select(Site.id)
        .where((Site.organisation == organisation_id) & Site.id.is_in(list(wanted)))
        .run()
    }
    for index, f in enumerate(findings):
        if f.get("site_id") and f["site_id"] not in known:
            raise Invalid.field(f"findings[{index}].site_id", "Not a site of this organisation.")


async def _insert_findings(report_id: uuid.UUID, findings: list[dict[str, Any]]) -> None:
    rows = [
        Finding(
            report=report_id,
            number=i + 1,
            grade=Grade(f["grade"]).value,
            clause=f["clause"].strip(),
            requirement=f.get("requirement", ""),
            evidence=f.get("evidence", ""),
            site=f.get("site_id"),
            origin_id=f.get("origin_id"),
        )
        for i, f in enumerate(findings)
    ]
    if rows:
        await Finding.insert(*rows).run()


async def create_report(
    actor_id: uuid.UUID | None, audit_id: uuid.UUID, data: dict[str, Any]
) -> uuid.UUID:
    """Draft the report of a completed audit (ISO/IEC 17021-1 9.4.8: the body reports every audit).

    Only a completed audit has findings to report; an audit has one report, later changed only
    by amendment, so a second draft is refused.
    """
    parties = await audit_parties(audit_id)
    if parties.status != "completed":
        raise Conflict(
            "A report can be drafted only once the audit is completed.", code="audit_not_completed"
        )
    findings: list[dict[str, Any]] = data.get("findings", [])
    await _check_sites(parties.organisation_id, findings)
    async with write_transaction():
        existing = (
            await AuditReport.select(AuditReport.status).where(AuditReport.audit == audit_id).run()
        )
        if existing:
            if any(r["status"] == "draft" for r in existing):
                raise Conflict("This audit already has a draft report.", code="report_exists")
            raise Conflict(
                "This audit's report is issued; amend it to change it.", code="report_issued"
            )
        report = AuditReport(
            audit=audit_id,
            organisation=parties.organisation_id,
            body=parties.body_id,
            revision=1,
            summary=data.get("summary", ""),
            scope=data.get("scope", ""),
            clauses_covered=data.get("clauses_covered", ""),
            recommendation=data.get("recommendation", ""),
            created_by=actor_id,
        )
        await report.save().run()
        await _insert_findings(report.id, findings)
        await log_action(
            "marketplace.report.drafted",
            actor_id=actor_id,
            entity_type="report",
            entity_id=report.id,
            tenant=Tenant("body", parties.body_id),
            data={"audit_id": str(audit_id), "findings": len(findings)},
        )
    return report.id


async def update_report(
    actor_id: uuid.UUID | None, report_id: uuid.UUID, changes: dict[str, Any]
) -> None:
    """Edit a draft; an issued report is frozen (changed only by an amendment, 17021-1 9.4.8)."""
    async with write_transaction():
        report = await report_row(report_id)
        if report["status"] != "draft":
            raise Conflict(
                "An issued report is frozen; amend it to change it.", code="report_frozen"
            )
        fields = {
            k: v
            for k, v in changes.items()
            if k in ("summary", "recommendation", "scope", "clauses_covered") and v is not None
        }
        if fields:
            values: dict[Any, Any] = {getattr(AuditReport, k): v for k, v in fields.items()}
            values[AuditReport.updated_at] = clock.now()
            await AuditReport.update(values).where(AuditReport.id == report_id).run()
        findings = changes.get("findings")
        if findings is not None:
            await _check_sites(report["organisation"], findings)
            # Keep what an amendment restated, matched by position, so its actions follow it.
            old = (
                await Finding.select(Finding.origin_id)
                .where(Finding.report == report_id)
                .order_by(Finding.number)
                .run()
            )
            for i, f in enumerate(findings):
                f.setdefault("origin_id", old[i]["origin_id"] if i < len(old) else None)
            await Finding.delete().where(Finding.report == report_id).run()
            await _insert_findings(report_id, findings)
        await log_action(
            "marketplace.report.edited",
            actor_id=actor_id,
            entity_type="report",
            entity_id=report_id,
            tenant=Tenant("body", report["body"]),
            data={
                "fields": sorted(fields),
                "findings": None if findings is None else len(findings),
            },
        )


async def amend_report(actor_id: uuid.UUID | None, report_id: uuid.UUID, reason: str) -> uuid.UUID:
    """Start an amendment: a new draft revision copying the issued one, which stays on record.

    Issued reports are never edited (ISO/IEC 17021-1 9.4.8 and 8.4 records): the new revision
    replaces the old one only when it is issued.
    """
    async with write_transaction():
        report = await report_row(report_id)
        if report["status"] != "issued":
            raise Conflict(
                "Only the issued revision of a report can be amended.", code="not_issued"
            )
        if (
            await AuditReport.exists()
            .where((AuditReport.audit == report["audit"]) & (AuditReport.status == "draft"))
            .run()
        ):
            raise Conflict("An amendment is already in draft.", code="amendment_pending")
        latest = (
            await AuditReport.select(AuditReport.revision)
            .where(AuditReport.audit == report["audit"])
            .order_by(AuditReport.revision, ascending=False)
            .first()
            .run()
        )
        revision = (latest["revision"] if latest else report["revision"]) + 1
        new = AuditReport(
            audit=report["audit"],
            organisation=report["organisation"],
            body=report["body"],
            revision=revision,
            summary=report["summary"],
            scope=report["scope"],
            clauses_covered=report["clauses_covered"],
            recommendation=report["recommendation"],
            amendment_reason=reason,
            supersedes_id=report_id,
            created_by=actor_id,
        )
        await new.save().run()
        old_findings = (
            await Finding.select().where(Finding.report == report_id).order_by(Finding.number).run()
        )
        await _insert_findings(
            new.id,
            [
                {
                    "grade": f["grade"],
                    "clause": f["clause"],
                    "requirement": f["requirement"],
                    "evidence": f["evidence"],
                    "site_id": f["site"],
                    "origin_id": f["id"],
                }
                for f in old_findings
            ],
        )
        await log_action(
            "marketplace.report.amendment_started",
            actor_id=actor_id,
            entity_type="report",
            entity_id=new.id,
            tenant=Tenant("body", report["body"]),
            data={"supersedes": str(report_id), "revision": revision, "reason": reason},
        )
    return new.id


async def issue_report(actor_id: uuid.UUID | None, report_id: uuid.UUID) -> None:
    """Issue (freeze) a draft; every major and minor opens a corrective action with its due date.

    ISO/IEC 17021-1 9.4.9: the client answers each nonconformity within the time the body
    defines (rules.deadlines.due_date with the body's policy). When an amendment is issued the
    revision it replaces becomes "amended"; actions of restated findings follow them, and those
    of findings removed or regraded below minor are closed as withdrawn.
    """
    async with write_transaction():
        report = await report_row(report_id)
        if report["status"] != "draft":
            raise Conflict("This report is already issued.", code="report_frozen")
        today = clock.today()
        policy = await policy_for(report["body"])
        parties = await audit_parties(report["audit"])
        org_tenant = Tenant("organisation", report["organisation"])
        body_tenant = Tenant("body", report["body"])
        await (
            AuditReport.update(
                {
                    AuditReport.status: "issued",
                    AuditReport.issued_on: today,
                    AuditReport.issued_at: clock.now(),
                    AuditReport.issued_by: actor_id,
                    AuditReport.updated_at: clock.now(),
                }
            )
            .where(AuditReport.id == report_id)
            .run()
        )
        carried: dict[uuid.UUID, dict[str, Any]] = {}
        if report["supersedes_id"]:
            await (
                AuditReport.update(
                    {AuditReport.status: "amended", AuditReport.updated_at: clock.now()}
                )
                .where(AuditReport.id == report["supersedes_id"])
                .run()
            )
            for ca in (
                await CorrectiveAction.select()
                .where(CorrectiveAction.finding._.report == report["supersedes_id"])
                .run()
            ):
                carried[ca["finding"]] = ca
        findings = (
            await Finding.select().where(Finding.report == report_id).order_by(Finding.number).run()
        )
        opened = 0
        for f in findings:
            grade = Grade(f["grade"])
            previous = carried.pop(f["origin_id"], None) if f["origin_id"] else None
            if previous is not None and is_nonconformity(grade):
                # The client's answer so far stays with the restated finding.
                changes: dict[Any, Any] = {
                    CorrectiveAction.finding: f["id"],
                    CorrectiveAction.updated_at: clock.now(),
                }
                if not previous["escalated"] and previous["grade"] != grade.value:
                    changes[CorrectiveAction.grade] = grade.value
                    changes[CorrectiveAction.due_on] = due_date(
                        grade, previous["issued_on"], policy
                    )
                await (
                    CorrectiveAction.update(changes)
                    .where(CorrectiveAction.id == previous["id"])
                    .run()
                )
            elif previous is not None:
                carried[f["origin_id"]] = previous
            elif is_nonconformity(grade):
                action = CorrectiveAction(
                    finding=f["id"],
                    audit=report["audit"],
                    organisation=report["organisation"],
                    body=report["body"],
                    grade=grade.value,
                    status="open",
                    issued_on=today,
                    due_on=due_date(grade, today, policy),
                )
                await action.save().run()
                opened += 1
                await log_action(
                    "marketplace.corrective_action.opened",
                    actor_id=actor_id,
                    entity_type="corrective_action",
                    entity_id=action.id,
                    tenant=org_tenant,
                    data={
                        "grade": grade.value,
                        "due_on": str(action.due_on),
                        "finding_id": str(f["id"]),
                    },
                )
            await log_action(
                "marketplace.finding.issued",
                actor_id=actor_id,
                entity_type="finding",
                entity_id=f["id"],
                tenant=body_tenant,
                data={"grade": grade.value, "clause": f["clause"], "report_id": str(report_id)},
            )
        for ca in carried.values():
            if ca["status"] != "closed":
                await (
                    CorrectiveAction.update(
                        {
                            CorrectiveAction.status: "closed",
                            CorrectiveAction.verification_comment: WITHDRAWN_BY_AMENDMENT,
                            CorrectiveAction.closed_at: clock.now(),
                            CorrectiveAction.updated_at: clock.now(),
                        }
                    )
                    .where(CorrectiveAction.id == ca["id"])
                    .run()
                )
                await log_action(
                    "marketplace.corrective_action.withdrawn",
                    actor_id=actor_id,
                    entity_type="corrective_action",
                    entity_id=ca["id"],
                    tenant=body_tenant,
                    data={"report_id": str(report_id)},
                )
        await log_action(
            "marketplace.report.issued",
            actor_id=actor_id,
            entity_type="report",
            entity_id=report_id,
            tenant=body_tenant,
            data={
                "revision": report["revision"],
                "audit_id": str(parties.audit_id),
                "findings": len(findings),
                "corrective_actions_opened": opened,
            },
        )


async def get_report(report_id: uuid.UUID) -> dict[str, Any]:
    """The report revision with its findings (site names, corrective action ids) and revisions."""
    report = await report_row(report_id)
    findings = (
        await Finding.select(
            Finding.id,
            Finding.number,
            Finding.grade,
            Finding.clause,
            Finding.requirement,
            Finding.evidence,
            Finding.site.as_alias("site_id"),
            Finding.site._.name.as_alias("site_name"),
            Finding.origin_id,
        )
        .where(Finding.report == report_id)
        .order_by(Finding.number)
        .run()
    )
    actions = {
        r["finding"]: r["id"]
        for r in await CorrectiveAction.select(CorrectiveAction.id, CorrectiveAction.finding)
        .where(CorrectiveAction.finding._.report == report_id)
        .run()
    }
    for f in findings:
        f["corrective_action_id"] = actions.get(f["id"])
    revisions = (
        await AuditReport.select(
            AuditReport.id, AuditReport.revision, AuditReport.status, AuditReport.issued_on
        )
        .where(AuditReport.audit == report["audit"])
        .order_by(AuditReport.revision)
        .run()
    )
    return {
        **report,
        "audit_id": report["audit"],
        "organisation_id": report["organisation"],
        "body_id": report["body"],
        "findings": findings,
        "revisions": revisions,
    }


async def reports_for_audit(audit_id: uuid.UUID) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (
        await AuditReport.select(
            AuditReport.id, AuditReport.revision, AuditReport.status, AuditReport.issued_on
        )
        .where(AuditReport.audit == audit_id)
        .order_by(AuditReport.revision)
        .run()
    )
    return rows


# --- corrective actions ------------------------------------------------------------------------


def resolved(grade: str, status: str) -> bool:
    return status in RESOLVED.get(grade, frozenset({"closed"}))


def overdue(row: dict[str, Any], today: dt.date | None = None) -> bool:
    """Past its due date without the response its grade needs (ISO/IEC 17021-1 9.4.9)."""
    return is_overdue(row["due_on"], today or clock.today(), resolved(row["grade"], row["status"]))


def overdue_where(today: dt.date) -> Any:
    major_open = (CorrectiveAction.grade == "major") & (CorrectiveAction.status != "closed")
    minor_open = (CorrectiveAction.grade == "minor") & CorrectiveAction.status.not_in(
        sorted(RESOLVED["minor"])
    )
    return (CorrectiveAction.due_on < today) & (major_open | minor_open)


async def ca_row(ca_id: uuid.UUID) -> dict[str, Any]:
    row: dict[str, Any] | None = (
        await CorrectiveAction.select().where(CorrectiveAction.id == ca_id).first().run()
    )
    if row is None:
        raise NotFound("No such corrective action.")
    return row


_LIST_COLUMNS = (
    CorrectiveAction.finding._.clause.as_alias("clause"),
    CorrectiveAction.finding._.requirement.as_alias("requirement"),
    CorrectiveAction.finding._.number.as_alias("finding_number"),
    CorrectiveAction.owner._.name.as_alias("owner_name"),
    CorrectiveAction.body._.name.as_alias("body_name"),
    CorrectiveAction.audit._.kind.as_alias("audit_kind"),
)


def _filters(
    *,
    organisation_id: uuid.UUID | None,
    body_id: uuid.UUID | None,
    status: str | None,
    grade: str | None,
    overdue_only: bool | None,
    owner_id: uuid.UUID | None,
    clause: str | None = None,
) -> Any:
    where: Any = CorrectiveAction.id.is_not_null()
    if clause:
        where &= CorrectiveAction.finding._.clause == clause
    if organisation_id is not None:
        where &= CorrectiveAction.organisation == organisation_id
    if body_id is not None:
        where &= CorrectiveAction.body == body_id
    if status:
        if status not in STATUSES:
            raise Invalid.field("status", f"Choose one of {', '.join(STATUSES)}.")
        where &= CorrectiveAction.status == status
    if grade:
        if grade not in ("major", "minor"):
            raise Invalid.field("grade", "Choose major or minor.")
        where &= CorrectiveAction.grade == grade
    if owner_id is not None:
        where &= CorrectiveAction.owner == owner_id
    if overdue_only is True:
        where &= overdue_where(clock.today())
    return where


async def list_corrective_actions(
    *,
    organisation_id: uuid.UUID | None = None,
    body_id: uuid.UUID | None = None,
    status: str | None = None,
    grade: str | None = None,
    overdue_only: bool | None = None,
    owner_id: uuid.UUID | None = None,
    clause: str | None = None,
    limit: int | None = 20,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """A tenant's corrective actions, filtered, due soonest first, with the total count."""
    if offset > 10**9:
        # Beyond any real tracker, and past what the databases accept as an offset.
        raise Invalid.field("page", "That page is out of range.")
    where = _filters(
        organisation_id=organisation_id,
        body_id=body_id,
        status=status,
        grade=grade,
        overdue_only=overdue_only,
        owner_id=owner_id,
        clause=clause,
    )
    query = (
        CorrectiveAction.select(*CorrectiveAction.all_columns(), *_LIST_COLUMNS)
        .where(where)
        .order_by(CorrectiveAction.due_on)
        .order_by(CorrectiveAction.created_at)
    )
    if limit is not None:
        query = query.limit(limit).offset(offset)
    rows: list[dict[str, Any]] = await query.run()
    total = await CorrectiveAction.count().where(where).run()
    today = clock.today()
    for r in rows:
        r["overdue"] = overdue(r, today)
    return rows, total


async def get_corrective_action(ca_id: uuid.UUID) -> dict[str, Any]:
    """The action with its finding, evidence list and history (the activity log)."""
    rows = (
        await CorrectiveAction.select(*CorrectiveAction.all_columns(), *_LIST_COLUMNS)
        .where(CorrectiveAction.id == ca_id)
        .run()
    )
    if not rows:
        raise NotFound("No such corrective action.")
    row: dict[str, Any] = rows[0]
    finding = (
        await Finding.select(
            Finding.id,
            Finding.number,
            Finding.grade,
            Finding.clause,
            Finding.requirement,
            Finding.evidence,
            Finding.report.as_alias("report_id"),
            Finding.site._.name.as_alias("site_name"),
        )
        .where(Finding.id == row["finding"])
        .first()
        .run()
    )
    row["finding_detail"] = finding
    row["evidence"] = (
        await EvidenceFile.select(
            EvidenceFile.id,
            EvidenceFile.filename,
            EvidenceFile.size,
            EvidenceFile.sha256,
            EvidenceFile.content_type,
            EvidenceFile.created_at,
        )
        .where(EvidenceFile.corrective_action == ca_id)
        .order_by(EvidenceFile.created_at)
        .run()
    )
    row["history"] = await entries_for_entity("corrective_action", ca_id)
    row["overdue"] = overdue(row)
    return row


def _require_status(row: dict[str, Any], allowed: Iterable[str], doing: str, code: str) -> None:
    if row["status"] not in allowed:
        raise Conflict(f"A corrective action that is {row['status']} cannot be {doing}.", code=code)


async def update_corrective_action(
    actor_id: uuid.UUID | None, ca_id: uuid.UUID, changes: dict[str, Any]
) -> None:
    """The client's answer: owner, correction, root cause and method, plan and target date.

    ISO/IEC 17021-1 9.4.9: the client analyses the cause and describes the correction and the
    corrective action. Editable while open or after a rejection, never once submitted.
    """
    async with write_transaction():
        row = await ca_row(ca_id)
        _require_status(row, EDITABLE, "edited", "not_editable")
        updates: dict[Any, Any] = {}
        if "owner_id" in changes:
            owner_id = changes["owner_id"]
            if (
                owner_id is not None
                and not await Membership.exists()
                .where(
                    (Membership.user == owner_id) & (Membership.organisation == row["organisation"])
                )
                .run()
            ):
                raise Invalid.field("owner_id", "The owner must be a member of the organisation.")
            updates[CorrectiveAction.owner] = owner_id
        for name in ("correction", "root_cause_method", "root_cause", "action_plan"):
            if changes.get(name) is not None:
                updates[getattr(CorrectiveAction, name)] = changes[name]
        if changes.get("target_date") is not None:
            if changes["target_date"] < row["issued_on"]:
                raise Invalid.field(
                    "target_date", "The target date cannot be before the finding was issued."
                )
            updates[CorrectiveAction.target_date] = changes["target_date"]
        if not updates:
            return
        updates[CorrectiveAction.updated_at] = clock.now()
        await CorrectiveAction.update(updates).where(CorrectiveAction.id == ca_id).run()
        await log_action(
            "marketplace.corrective_action.updated",
            actor_id=actor_id,
            entity_type="corrective_action",
            entity_id=ca_id,
            tenant=Tenant("organisation", row["organisation"]),
            data={"fields": sorted(c._meta.name for c in updates if c._meta.name != "updated_at")},
        )


REQUIRED_ANSWER = ("correction", "root_cause_method", "root_cause", "action_plan", "target_date")


async def submit_corrective_action(actor_id: uuid.UUID | None, ca_id: uuid.UUID) -> None:
    """Send the answer to the body: correction, root cause with method, plan and target date.

    ISO/IEC 17021-1 9.4.9 asks for all of them before the body can review; a rejected answer
    can be completed and submitted again.
    """
    async with write_transaction():
        row = await ca_row(ca_id)
        _require_status(row, EDITABLE, "submitted", "not_submittable")
        missing = [name for name in REQUIRED_ANSWER if not row[name]]
        if missing:
            raise Conflict(
                f"Complete {', '.join(missing)} before submitting.",
                code="incomplete_answer",
                errors=[{"field": m, "message": "Required before submitting."} for m in missing],
            )
        await (
            CorrectiveAction.update(
                {
                    CorrectiveAction.status: "submitted",
                    CorrectiveAction.submitted_at: clock.now(),
                    CorrectiveAction.updated_at: clock.now(),
                }
            )
            .where(CorrectiveAction.id == ca_id)
            .run()
        )
        await log_action(
            "marketplace.corrective_action.submitted",
            actor_id=actor_id,
            entity_type="corrective_action",
            entity_id=ca_id,
            tenant=Tenant("organisation", row["organisation"]),
        )


async def review_corrective_action(
    actor_id: uuid.UUID | None, ca_id: uuid.UUID, decision: str, comment: str
) -> str:
    """The body accepts or rejects the submitted answer (ISO/IEC 17021-1 9.4.10).

    A rejection must say why, so the client knows what to change.
    """
    async with write_transaction():
        row = await ca_row(ca_id)
        _require_status(row, {"submitted"}, "reviewed", "not_submitted")
        if decision == "reject" and not comment.strip():
            raise Invalid.field("comment", "Say why the answer is rejected.")
        status = "accepted" if decision == "accept" else "rejected"
        await (
            CorrectiveAction.update(
                {
                    CorrectiveAction.status: status,
                    CorrectiveAction.review_comment: comment,
                    CorrectiveAction.reviewed_by: actor_id,
                    CorrectiveAction.reviewed_at: clock.now(),
                    CorrectiveAction.updated_at: clock.now(),
                }
            )
            .where(CorrectiveAction.id == ca_id)
            .run()
        )
        await log_action(
            f"marketplace.corrective_action.{status}",
            actor_id=actor_id,
            entity_type="corrective_action",
            entity_id=ca_id,
            tenant=Tenant("body", row["body"]),
            data={"comment": comment},
        )
    return status


async def verify_corrective_action(
    actor_id: uuid.UUID | None, ca_id: uuid.UUID, effective: bool, comment: str
) -> str:
    """The body verifies the accepted action's effectiveness: closed, or back to rejected.

    ISO/IEC 17021-1 9.4.10 and 9.5.3: a major's correction and corrective action are verified
    before the certification decision; an ineffective action goes back to the client.
    """
    async with write_transaction():
        row = await ca_row(ca_id)
        _require_status(row, {"accepted"}, "verified", "not_accepted")
        if not effective and not comment.strip():
            raise Invalid.field("comment", "Say why the action was not effective.")
        status = "closed" if effective else "rejected"
        await (
            CorrectiveAction.update(
                {
                    CorrectiveAction.status: status,
                    CorrectiveAction.verification_comment: comment,
                    CorrectiveAction.verified_by: actor_id,
                    CorrectiveAction.closed_at: clock.now() if effective else None,
                    CorrectiveAction.updated_at: clock.now(),
                }
            )
            .where(CorrectiveAction.id == ca_id)
            .run()
        )
        await log_action(
            "marketplace.corrective_action.verified"
            if effective
            else "marketplace.corrective_action.verification_failed",
            actor_id=actor_id,
            entity_type="corrective_action",
            entity_id=ca_id,
            tenant=Tenant("body", row["body"]),
            data={"effective": effective, "comment": comment},
        )
    return status


async def escalate_corrective_action(
    actor_id: uuid.UUID | None, ca_id: uuid.UUID, reason: str = ""
) -> None:
    """Escalate an overdue minor to a major (reference README: an overdue minor may be escalated).

    The major's response time (the body's policy) runs from the day of escalation, and from then
    on the action must be verified before the certification decision (ISO/IEC 17021-1 9.5.3).
    """
    async with write_transaction():
        row = await ca_row(ca_id)
        if row["grade"] != Grade.minor.value:
            raise Conflict("Only a minor nonconformity can be escalated.", code="not_minor")
        if not overdue(row):
            raise Conflict(
                "Only an overdue minor nonconformity can be escalated.", code="not_overdue"
            )
        today = clock.today()
        policy = await policy_for(row["body"])
        due = due_date(Grade.major, today, policy)
        await (
            CorrectiveAction.update(
                {
                    CorrectiveAction.grade: Grade.major.value,
                    CorrectiveAction.escalated: True,
                    CorrectiveAction.due_on: due,
                    CorrectiveAction.updated_at: clock.now(),
                }
            )
            .where(CorrectiveAction.id == ca_id)
            .run()
        )
        await log_action(
            "marketplace.corrective_action.escalated",
            actor_id=actor_id,
            entity_type="corrective_action",
            entity_id=ca_id,
            tenant=Tenant("body", row["body"]),
            data={"from": "minor", "to": "major", "due_on": str(due), "reason": reason},
        )


# --- evidence ----------------------------------------------------------------------------------


async def add_evidence(
    actor_id: uuid.UUID | None, ca_id: uuid.UUID, data: bytes, filename: str | None
) -> dict[str, Any]:
    """Attach a checked file: size limit (413), allowed type by magic bytes (415), sha256 kept.

    Nothing is written when the file is refused; the file is removed again when the row cannot
    be recorded, so storage and database never disagree.
    """
    row = await ca_row(ca_id)
    _require_status(row, EDITABLE, "given evidence", "not_editable")
    display = files.safe_filename(filename)
    sniffed = files.check_upload(data, display)
    digest = hashlib.sha256(data).hexdigest()
    stored = files.new_stored_name()
    files.write_file(stored, data)
    try:
        async with write_transaction():
            # Re-read inside the write lock: the action may have been submitted meanwhile.
            _require_status(await ca_row(ca_id), EDITABLE, "given evidence", "not_editable")
            record = EvidenceFile(
                corrective_action=ca_id,
                stored_name=stored,
                filename=display,
                content_type=sniffed.content_type,
                size=len(data),
                sha256=digest,
                uploaded_by=actor_id,
            )
            await record.save().run()
            await log_action(
                "marketplace.evidence.uploaded",
                actor_id=actor_id,
                entity_type="corrective_action",
                entity_id=ca_id,
                tenant=Tenant("organisation", row["organisation"]),
                data={"evidence_id": str(record.id), "filename": display, "sha256": digest},
            )
    except BaseException:
        files.remove_file(stored)
        raise
    return {
        "id": record.id,
        "filename": display,
        "size": len(data),
        "sha256": digest,
        "content_type": sniffed.content_type,
    }


async def evidence_row(evidence_id: uuid.UUID) -> dict[str, Any]:
    row: dict[str, Any] | None = (
        await EvidenceFile.select(
            *EvidenceFile.all_columns(),
            EvidenceFile.corrective_action._.organisation.as_alias("organisation_id"),
            EvidenceFile.corrective_action._.body.as_alias("body_id"),
        )
        .where(EvidenceFile.id == evidence_id)
        .first()
        .run()
    )
    if row is None:
        raise NotFound("No such evidence file.")
    return row


def evidence_bytes(row: dict[str, Any]) -> bytes:
    data = files.read_file(row["stored_name"])
    if data is None:
        raise NotFound("The evidence file is missing from storage.")
    return data


# --- dashboard ---------------------------------------------------------------------------------


async def dashboard(organisation_id: uuid.UUID, months: int = 12) -> dict[str, Any]:
    """Open items by grade, overdue count, mean days to close and a monthly opened/closed trend."""
    rows = (
        await CorrectiveAction.select(
            CorrectiveAction.grade,
            CorrectiveAction.status,
            CorrectiveAction.due_on,
            CorrectiveAction.issued_on,
            CorrectiveAction.created_at,
            CorrectiveAction.closed_at,
        )
        .where(CorrectiveAction.organisation == organisation_id)
        .run()
    )
    today = clock.today()
    open_by_grade = {"major": 0, "minor": 0}
    overdue_count = 0
    durations: list[int] = []
    for r in rows:
        if r["status"] != "closed":
            open_by_grade[r["grade"]] = open_by_grade.get(r["grade"], 0) + 1
        if overdue(r, today):
            overdue_count += 1
        if r["status"] == "closed" and r["closed_at"] is not None:
            durations.append(max(0, (r["closed_at"].date() - r["issued_on"]).days))
    mean_days = round(sum(durations) / len(durations), 1) if durations else None
    # Month buckets ending with the current month.
    first = dt.date(today.year, today.month, 1)
    buckets: list[dt.date] = []
    for i in range(months - 1, -1, -1):
        index = first.year * 12 + first.month - 1 - i
        buckets.append(dt.date(index // 12, index % 12 + 1, 1))
    trend = []
    for start in buckets:
        key = (start.year, start.month)
        opened = sum(1 for r in rows if (r["issued_on"].year, r["issued_on"].month) == key)
        closed = sum(
            1
            for r in rows
            if r["closed_at"] is not None and (r["closed_at"].year, r["closed_at"].month) == key
        )
        trend.append({"month": start.strftime("%Y-%m"), "opened": opened, "closed": closed})
    return {
        "open_by_grade": open_by_grade,
        "overdue": overdue_count,
        "mean_days_to_close": mean_days,
        "closed": len(durations),
        "total": len(rows),
        "trend": trend,
    }


async def organisation_members(organisation_id: uuid.UUID) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (
        await Membership.select(
            Membership.user.as_alias("id"), Membership.user._.name.as_alias("name")
        )
        .where(Membership.organisation == organisation_id)
        .order_by(Membership.user._.name)
        .run()
    )
    return rows


async def user_name(user_id: uuid.UUID | None) -> str | None:
    if user_id is None:
        return None
    row = await User.select(User.name).where(User.id == user_id).first().run()
    return row["name"] if row else None
