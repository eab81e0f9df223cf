"""Audit reports: draft, edit, issue and amend revisions, and the findings written in them."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

import msgspec

from marketplace.accounts.guards import Principal
from marketplace.accounts.tables import Site
from marketplace.core import clock
from marketplace.core.activity import Tenant, entries_for_entity, log_action
from marketplace.core.db import write_transaction
from marketplace.core.errors import Conflict, Invalid, NotFound
from marketplace.findings.access import (
    NO_AUDIT,
    NO_REPORT,
    Actor,
    actor_id,
    audit_writer,
    can_write_reports,
    report_actor,
    report_side,
)
from marketplace.findings.corrective_actions import FINDING_COLUMNS, policy_for
from marketplace.findings.schemas import (
    FindingIn,
    ReportIn,
    ReportOut,
    ReportPatch,
    RevisionOut,
    SiteRef,
)
from marketplace.findings.tables import AuditReport, CorrectiveAction, Finding
from marketplace.rules.corrective_actions import (
    REPORT_REFUSALS,
    ReportStep,
    Step,
    draft_refusal,
    next_report_status,
    next_status,
)
from marketplace.rules.deadlines import DeadlinePolicy, Grade, due_date, is_nonconformity
from marketplace.scheduling.context import BODY_ALL, CLIENT_ALL, check_access
from marketplace.scheduling.tables import Audit

WITHDRAWN_BY_AMENDMENT = "Withdrawn: the finding was removed or regraded by an amended report."
TEXT_FIELDS = ("summary", "recommendation", "scope", "clauses_covered")
GRADES = tuple(g.value for g in Grade)


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
        raise NotFound(NO_AUDIT)
    return AuditParties(
        row["id"], row["organisation_id"], row["body_id"], row["kind"], row["status"]
    )


async def report_row(report_id: uuid.UUID) -> dict[str, Any]:
    row: dict[str, Any] | None = (
        await AuditReport.select().where(AuditReport.id == report_id).first().run()
    )
    if row is None:
        raise NotFound(NO_REPORT)
    return row


def _allow(report: dict[str, Any], step: ReportStep) -> str:
    """The revision's status after `step`, or the 409 the transition table gives for refusing it."""
    after = next_report_status(report["status"], step)
    if after is None:
        refused = REPORT_REFUSALS[step]
        raise Conflict(refused.message, code=refused.code)
    return after


# --- findings in a report ----------------------------------------------------------------------


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


def _as_input(finding: dict[str, Any], origin_id: uuid.UUID | None) -> dict[str, Any]:
    """A stored finding as the input of a revision, naming the finding it restates."""
    return {
        "grade": finding["grade"],
        "clause": finding["clause"],
        "requirement": finding["requirement"],
        "evidence": finding["evidence"],
        "site_id": finding["site"],
        "origin_id": origin_id,
    }


async def _stored_findings(report_id: uuid.UUID) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (
        await Finding.select().where(Finding.report == report_id).order_by(Finding.number).run()
    )
    return rows


async def organisation_sites(organisation_id: uuid.UUID) -> list[SiteRef]:
    rows: list[dict[str, Any]] = (
        await Site.select(Site.id, Site.name)
        .where(Site.organisation == organisation_id)
        .order_by(Site.name)
        .run()
    )
    return msgspec.convert(rows, list[SiteRef])


# --- drafting and editing ----------------------------------------------------------------------


async def create_report(
    actor: Actor, audit_id: uuid.UUID, data: ReportIn | dict[str, Any]
) -> uuid.UUID:
    """Draft the report of a completed audit (ISO/IEC 17021-1 9.4.8: the body reports every audit).

    Only the body's report writers draft it; only a completed audit has findings to report; an
    audit has one report, later changed only by amendment, so a second draft is refused.
    """
    values = msgspec.to_builtins(data) if isinstance(data, ReportIn) else data
    parties = await audit_parties(audit_id)
    audit_writer(actor, parties.organisation_id, parties.body_id)
    if parties.status != "completed":
        raise Conflict(
            "A report can be drafted only once the audit is completed.", code="audit_not_completed"
        )
    findings: list[dict[str, Any]] = values.get("findings", [])
    await _check_sites(parties.organisation_id, findings)
    async with write_transaction():
        existing = (
            await AuditReport.select(AuditReport.status).where(AuditReport.audit == audit_id).run()
        )
        refused = draft_refusal([r["status"] for r in existing])
        if refused is not None:
            raise Conflict(refused.message, code=refused.code)
        report = AuditReport(
            audit=audit_id,
            organisation=parties.organisation_id,
            body=parties.body_id,
            revision=1,
            **{name: values.get(name, "") for name in TEXT_FIELDS},
            created_by=actor_id(actor),
        )
        await report.save().run()
        await _insert_findings(report.id, findings)
        await log_action(
            "marketplace.report.drafted",
            actor_id=actor_id(actor),
            entity_type="report",
            entity_id=report.id,
            tenant=Tenant("body", parties.body_id),
            data={"audit_id": str(audit_id), "findings": len(findings)},
        )
    return report.id


def patch_changes(data: ReportPatch) -> dict[str, Any]:
    """The fields a patch sends; its findings keep their site ids as UUIDs."""
    changes = {k: v for k, v in msgspec.to_builtins(data).items() if v is not None}
    if data.findings is not None:
        changes["findings"] = [
            {**msgspec.to_builtins(f), "site_id": f.site_id} for f in data.findings
        ]
    return changes


async def _replace_findings(report: dict[str, Any], findings: list[dict[str, Any]]) -> None:
    await _check_sites(report["organisation"], findings)
    # Keep what an amendment restated, matched by position, so its actions follow it.
    old = (
        await Finding.select(Finding.origin_id)
        .where(Finding.report == report["id"])
        .order_by(Finding.number)
        .run()
    )
    for i, f in enumerate(findings):
        f.setdefault("origin_id", old[i]["origin_id"] if i < len(old) else None)
    await Finding.delete().where(Finding.report == report["id"]).run()
    await _insert_findings(report["id"], findings)


async def update_report(
    actor: Actor, report_id: uuid.UUID, changes: ReportPatch | dict[str, Any]
) -> None:
    """Edit a draft; an issued report is frozen (changed only by an amendment, 17021-1 9.4.8).

    Findings, when given, replace the draft's findings.
    """
    if isinstance(changes, ReportPatch):
        changes = patch_changes(changes)
    async with write_transaction():
        report = await report_row(report_id)
        report_actor(actor, report, write=True)
        _allow(report, ReportStep.edit)
        fields = {k: v for k, v in changes.items() if k in TEXT_FIELDS and v is not None}
        if fields:
            values: dict[Any, Any] = {getattr(AuditReport, k): v for k, v in fields.items()}
            values[AuditReport.updated_at] = clock.now()
            await AuditReport.update(values).where(AuditReport.id == report_id).run()
        findings = changes.get("findings")
        if findings is not None:
            await _replace_findings(report, findings)
        await log_action(
            "marketplace.report.edited",
            actor_id=actor_id(actor),
            entity_type="report",
            entity_id=report_id,
            tenant=Tenant("body", report["body"]),
            data={
                "fields": sorted(fields),
                "findings": None if findings is None else len(findings),
            },
        )


async def add_finding(actor: Actor, report_id: uuid.UUID, finding: FindingIn) -> None:
    """Append one finding to a draft (the page's one-finding-at-a-time form)."""
    findings = [_as_input(f, f["origin_id"]) for f in await _stored_findings(report_id)]
    findings.append({**msgspec.to_builtins(finding), "site_id": finding.site_id, "origin_id": None})
    await update_report(actor, report_id, {"findings": findings})


async def remove_finding(actor: Actor, report_id: uuid.UUID, number: int) -> None:
    """Take finding F<number> out of a draft; the others are renumbered in order."""
    kept = [
        _as_input(f, f["origin_id"])
        for f in await _stored_findings(report_id)
        if f["number"] != number
    ]
    await update_report(actor, report_id, {"findings": kept})


# --- amending and issuing ----------------------------------------------------------------------


async def amend_report(actor: Actor, report_id: uuid.UUID, reason: str) -> uuid.UUID:
    """Start an amendment: a new draft revision copying the issued one, which stays on record.

    Issued reports are never edited (ISO/IEC 17021-1 9.4.8 and 8.4 records): the new revision
    replaces the old one only when it is issued.
    """
    async with write_transaction():
        report = await report_row(report_id)
        report_actor(actor, report, write=True)
        _allow(report, ReportStep.amend)
        revisions = await reports_for_audit(report["audit"])
        if any(r.status == "draft" for r in revisions):
            raise Conflict("An amendment is already in draft.", code="amendment_pending")
        revision = max((r.revision for r in revisions), default=report["revision"]) + 1
        new = AuditReport(
            audit=report["audit"],
            organisation=report["organisation"],
            body=report["body"],
            revision=revision,
            **{name: report[name] for name in TEXT_FIELDS},
            amendment_reason=reason,
            supersedes_id=report_id,
            created_by=actor_id(actor),
        )
        await new.save().run()
        await _insert_findings(
            new.id, [_as_input(f, f["id"]) for f in await _stored_findings(report_id)]
        )
        await log_action(
            "marketplace.report.amendment_started",
            actor_id=actor_id(actor),
            entity_type="report",
            entity_id=new.id,
            tenant=Tenant("body", report["body"]),
            data={"supersedes": str(report_id), "revision": revision, "reason": reason},
        )
    return new.id


@dataclass
class _Issuing:
    """What issuing one revision works with, step to step."""

    report: dict[str, Any]
    actor_id: uuid.UUID | None
    today: dt.date
    policy: DeadlinePolicy
    # Actions of the superseded revision, by the finding they answer, not yet carried over.
    carried: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    opened: int = 0

    @property
    def org_tenant(self) -> Tenant:
        return Tenant("organisation", self.report["organisation"])

    @property
    def body_tenant(self) -> Tenant:
        return Tenant("body", self.report["body"])


async def _freeze(issuing: _Issuing, status: str) -> None:
    now = clock.now()
    await (
        AuditReport.update(
            {
                AuditReport.status: status,
                AuditReport.issued_on: issuing.today,
                AuditReport.issued_at: now,
                AuditReport.issued_by: issuing.actor_id,
                AuditReport.updated_at: now,
            }
        )
        .where(AuditReport.id == issuing.report["id"])
        .run()
    )


async def _supersede(issuing: _Issuing) -> None:
    """The revision an amendment replaces becomes "amended"; its actions wait to be carried."""
    old_id = issuing.report["supersedes_id"]
    if not old_id:
        return
    status = next_report_status("issued", ReportStep.supersede)
    await (
        AuditReport.update({AuditReport.status: status, AuditReport.updated_at: clock.now()})
        .where(AuditReport.id == old_id)
        .run()
    )
    for ca in (
        await CorrectiveAction.select().where(CorrectiveAction.finding._.report == old_id).run()
    ):
        issuing.carried[ca["finding"]] = ca


async def _carry(issuing: _Issuing, finding: dict[str, Any], previous: dict[str, Any]) -> None:
    """The client's answer so far stays with the restated finding (regraded unless escalated)."""
    grade = Grade(finding["grade"])
    changes: dict[Any, Any] = {
        CorrectiveAction.finding: finding["id"],
        CorrectiveAction.updated_at: clock.now(),
    }
    if not previous["escalated"] and previous["grade"] != grade.value:
        changes[CorrectiveAction.grade] = grade.value
        changes[CorrectiveAction.due_on] = due_date(grade, previous["issued_on"], issuing.policy)
    await CorrectiveAction.update(changes).where(CorrectiveAction.id == previous["id"]).run()


async def _open(issuing: _Issuing, finding: dict[str, Any]) -> None:
    """A new nonconformity opens a corrective action due by the body's policy (9.4.9)."""
    grade = Grade(finding["grade"])
    report = issuing.report
    action = CorrectiveAction(
        finding=finding["id"],
        audit=report["audit"],
        organisation=report["organisation"],
        body=report["body"],
        grade=grade.value,
        status="open",
        issued_on=issuing.today,
        due_on=due_date(grade, issuing.today, issuing.policy),
    )
    await action.save().run()
    issuing.opened += 1
    await log_action(
        "marketplace.corrective_action.opened",
        actor_id=issuing.actor_id,
        entity_type="corrective_action",
        entity_id=action.id,
        tenant=issuing.org_tenant,
        data={"grade": grade.value, "due_on": str(action.due_on), "finding_id": str(finding["id"])},
    )


async def _issue_finding(issuing: _Issuing, finding: dict[str, Any]) -> None:
    grade = Grade(finding["grade"])
    origin = finding["origin_id"]
    previous = issuing.carried.pop(origin, None) if origin else None
    if previous is not None and is_nonconformity(grade):
        await _carry(issuing, finding, previous)
    elif previous is not None:
        # Regraded below minor: its action is withdrawn with the others left over.
        issuing.carried[origin] = previous
    elif is_nonconformity(grade):
        await _open(issuing, finding)
    await log_action(
        "marketplace.finding.issued",
        actor_id=issuing.actor_id,
        entity_type="finding",
        entity_id=finding["id"],
        tenant=issuing.body_tenant,
        data={
            "grade": grade.value,
            "clause": finding["clause"],
            "report_id": str(issuing.report["id"]),
        },
    )


async def _withdraw_left_over(issuing: _Issuing) -> None:
    """Actions of findings the amendment removed or regraded below minor close as withdrawn."""
    for ca in issuing.carried.values():
        status = next_status(ca["status"], Step.withdraw)
        if status is None:
            continue  # already closed
        now = clock.now()
        await (
            CorrectiveAction.update(
                {
                    CorrectiveAction.status: status,
                    CorrectiveAction.verification_comment: WITHDRAWN_BY_AMENDMENT,
                    CorrectiveAction.closed_at: now,
                    CorrectiveAction.updated_at: now,
                }
            )
            .where(CorrectiveAction.id == ca["id"])
            .run()
        )
        await log_action(
            "marketplace.corrective_action.withdrawn",
            actor_id=issuing.actor_id,
            entity_type="corrective_action",
            entity_id=ca["id"],
            tenant=issuing.body_tenant,
            data={"report_id": str(issuing.report["id"])},
        )


async def issue_report(actor: Actor, report_id: uuid.UUID) -> None:
    """Issue (freeze) a draft; every major and minor opens a corrective action with its due date.

    ISO/IEC 17021-1 9.4.9: the client answers each nonconformity within the time the body
    defines (rules.deadlines.due_date with the body's policy). When an amendment is issued the
    revision it replaces becomes "amended"; actions of restated findings follow them, and those
    of findings removed or regraded below minor are closed as withdrawn.
    """
    async with write_transaction():
        report = await report_row(report_id)
        report_actor(actor, report, write=True)
        status = _allow(report, ReportStep.issue)
        issuing = _Issuing(report, actor_id(actor), clock.today(), await policy_for(report["body"]))
        parties = await audit_parties(report["audit"])
        await _freeze(issuing, status)
        await _supersede(issuing)
        findings = await _stored_findings(report_id)
        for finding in findings:
            await _issue_finding(issuing, finding)
        await _withdraw_left_over(issuing)
        await log_action(
            "marketplace.report.issued",
            actor_id=issuing.actor_id,
            entity_type="report",
            entity_id=report_id,
            tenant=issuing.body_tenant,
            data={
                "revision": report["revision"],
                "audit_id": str(parties.audit_id),
                "findings": len(findings),
                "corrective_actions_opened": issuing.opened,
            },
        )


# --- reading -----------------------------------------------------------------------------------


async def reports_for_audit(audit_id: uuid.UUID) -> list[RevisionOut]:
    rows: list[dict[str, Any]] = (
        await AuditReport.select(
            AuditReport.id, AuditReport.revision, AuditReport.status, AuditReport.issued_on
        )
        .where(AuditReport.audit == audit_id)
        .order_by(AuditReport.revision)
        .run()
    )
    return msgspec.convert(rows, list[RevisionOut])


async def get_report(report_id: uuid.UUID) -> ReportOut:
    """The report revision with its findings (site names, corrective action ids) and revisions."""
    report = await report_row(report_id)
    findings = (
        await Finding.select(
            *FINDING_COLUMNS,
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
    return msgspec.convert(
        {
            **report,
            "audit_id": report["audit"],
            "organisation_id": report["organisation"],
            "body_id": report["body"],
            "findings": findings,
            "revisions": await reports_for_audit(report["audit"]),
        },
        ReportOut,
        strict=False,
    )


def _for_side(side: str | None, out: ReportOut) -> ReportOut:
    if side == "client":
        # A draft amendment is the body's work in progress until it is issued.
        out.revisions = [r for r in out.revisions if r.status != "draft"]
    return out


async def read_report(actor: Actor, report_id: uuid.UUID) -> ReportOut:
    """A revision for the body's members; the client reads issued revisions only."""
    side = report_actor(actor, await report_row(report_id))
    return _for_side(side, await get_report(report_id))


@dataclass(frozen=True)
class ReportView:
    """What the report page shows: the revision, who looks at it and what they may do."""

    report: ReportOut
    side: str
    can_write: bool
    history: list[dict[str, Any]]
    sites: list[SiteRef]
    grades: tuple[str, ...] = GRADES


async def report_view(principal: Principal, report_id: uuid.UUID) -> ReportView:
    row = await report_row(report_id)
    side = report_side(principal, row)
    return ReportView(
        report=_for_side(side, await get_report(report_id)),
        side=side,
        can_write=can_write_reports(principal, row["body"]),
        history=await entries_for_entity("report", report_id),
        sites=await organisation_sites(row["organisation"]),
    )


@dataclass(frozen=True)
class AuditReports:
    """An audit's report revisions the caller may see, for the audit's report page."""

    audit: AuditParties
    side: str
    visible: list[RevisionOut]
    can_write: bool


async def audit_reports(principal: Principal, audit_id: uuid.UUID) -> AuditReports:
    """Both tenants' members reach an audit's report; the client sees no drafts."""
    parties = await audit_parties(audit_id)
    side = check_access(
        principal,
        parties.organisation_id,
        parties.body_id,
        client=CLIENT_ALL,
        body=BODY_ALL,
        what=NO_AUDIT,
    )
    reports = await reports_for_audit(audit_id)
    return AuditReports(
        audit=parties,
        side=side,
        visible=[r for r in reports if side == "body" or r.status != "draft"],
        can_write=can_write_reports(principal, parties.body_id),
    )
