"""Internal audits (ISO 9001:2015 9.2), sharing them with the body, and their findings."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

import msgspec

from marketplace.accounts.guards import Principal
from marketplace.core import clock
from marketplace.core.activity import Tenant, log_action
from marketplace.core.changes import apply_changes
from marketplace.core.db import write_transaction
from marketplace.core.errors import Conflict, Invalid, NotFound
from marketplace.readiness.context import (
    body,
    changes_of,
    check_clause,
    check_member,
    client,
    columns_of,
)
from marketplace.readiness.schemas import (
    CompleteIn,
    InternalAuditIn,
    InternalAuditOut,
    InternalAuditRow,
    InternalFindingDetail,
    InternalFindingIn,
    InternalFindingOut,
    InternalFindingPatch,
    InternalFindingRow,
    InternalShareIn,
    StepIn,
)
from marketplace.readiness.sharing import check_engaged
from marketplace.readiness.tables import InternalAudit, InternalFinding
from marketplace.rules import readiness as rules
from marketplace.rules.deadlines import Grade, due_date, is_nonconformity

NO_AUDIT = "No such internal audit."
NO_FINDING = "No such internal finding."
EDITABLE = frozenset({"open", "rejected"})
REQUIRED_ANSWER = ("correction", "root_cause_method", "root_cause", "action_plan", "target_date")
GRADES = ("major", "minor", "observation", "ofi")
# Of an answer only the owner may be cleared; the other fields only change.
CLEARABLE_FINDING = ("owner_id",)


def _clauses(values: Iterable[str]) -> list[str]:
    out = [check_clause("clauses", v) for v in values]
    out = [c for c in dict.fromkeys(out) if c]
    if not out:
        raise Invalid.field("clauses", "Name at least one clause the audit covers.")
    return sorted(out, key=rules.clause_key)


async def create_internal_audit(
    actor_id: uuid.UUID | None, organisation_id: uuid.UUID, data: dict[str, Any]
) -> uuid.UUID:
    """Plan an internal audit (ISO 9001:2015 9.2.2: scope, criteria, auditors, date)."""
    clauses = _clauses(data["clauses"])
    async with write_transaction():
        audit = InternalAudit(
            organisation=organisation_id,
            scope=data["scope"].strip(),
            clauses=clauses,
            auditor_name=data["auditor_name"].strip(),
            planned_on=data["planned_on"],
            created_by=actor_id,
        )
        await audit.save().run()
        await log_action(
            "marketplace.internal_audit.planned",
            actor_id=actor_id,
            entity_type="internal_audit",
            entity_id=audit.id,
            tenant=Tenant("organisation", organisation_id),
            data={"clauses": clauses, "planned_on": str(data["planned_on"])},
        )
    return audit.id


async def internal_audit_row(audit_id: uuid.UUID) -> InternalAuditRow:
    row: dict[str, Any] | None = (
        await InternalAudit.select(
            *InternalAudit.all_columns(),
            InternalAudit.shared_body._.name.as_alias("shared_body_name"),
        )
        .where(InternalAudit.id == audit_id)
        .first()
        .output(load_json=True)
        .run()
    )
    if row is None:
        raise NotFound(NO_AUDIT)
    return msgspec.convert(row, InternalAuditRow, strict=False)


async def org_internal_audit(organisation_id: uuid.UUID, audit_id: uuid.UUID) -> InternalAuditRow:
    row = await internal_audit_row(audit_id)
    if row.organisation != organisation_id:
        raise NotFound(NO_AUDIT)
    return row


async def get_internal_audit(audit_id: uuid.UUID) -> InternalAuditRow:
    row = await internal_audit_row(audit_id)
    findings = (
        await InternalFinding.select(
            *InternalFinding.all_columns(), InternalFinding.owner._.name.as_alias("owner_name")
        )
        .where(InternalFinding.internal_audit == audit_id)
        .order_by(InternalFinding.number)
        .run()
    )
    row.findings = msgspec.convert(findings, list[InternalFindingRow], strict=False)
    today = clock.today()
    for f in row.findings:
        f.overdue = f.status not in ("closed", "none") and f.due_on is not None and today > f.due_on
    return row


async def list_internal_audits(
    organisation_id: uuid.UUID | None = None, shared_with: uuid.UUID | None = None
) -> list[InternalAuditRow]:
    query = InternalAudit.select(
        *InternalAudit.all_columns(),
        InternalAudit.organisation._.name.as_alias("organisation_name"),
        InternalAudit.shared_body._.name.as_alias("shared_body_name"),
    )
    if organisation_id is not None:
        query = query.where(InternalAudit.organisation == organisation_id)
    if shared_with is not None:
        query = query.where(InternalAudit.shared_body == shared_with)
    rows: list[dict[str, Any]] = (
        await query.order_by(InternalAudit.planned_on, ascending=False).output(load_json=True).run()
    )
    ids = [r["id"] for r in rows]
    counts = (
        await InternalFinding.select(InternalFinding.internal_audit, InternalFinding.grade)
        .where(InternalFinding.internal_audit.is_in(ids))
        .run()
        if ids
        else []
    )
    for r in rows:
        r["finding_count"] = sum(1 for c in counts if c["internal_audit"] == r["id"])
    return msgspec.convert(rows, list[InternalAuditRow], strict=False)


async def complete_internal_audit(
    actor_id: uuid.UUID | None, audit_id: uuid.UUID, completed_on: dt.date | None, summary: str
) -> None:
    """Record the audit as held; only completed audits count towards the stage 1 audit cycle."""
    async with write_transaction():
        row = await internal_audit_row(audit_id)
        if row.status == "completed":
            raise Conflict("This internal audit is already completed.", code="already_completed")
        day = completed_on or clock.today()
        if day > clock.today():
            raise Invalid.field("completed_on", "An audit cannot be completed in the future.")
        await (
            InternalAudit.update(
                {
                    InternalAudit.status: "completed",
                    InternalAudit.completed_on: day,
                    InternalAudit.summary: summary,
                }
            )
            .where(InternalAudit.id == audit_id)
            .run()
        )
        await log_action(
            "marketplace.internal_audit.completed",
            actor_id=actor_id,
            entity_type="internal_audit",
            entity_id=audit_id,
            tenant=Tenant("organisation", row.organisation),
            data={"completed_on": str(day)},
        )


async def share_internal_audit(
    actor_id: uuid.UUID | None, audit_id: uuid.UUID, body_id: uuid.UUID | None
) -> None:
    """Show the audit and its findings to the certification body (None withdraws the share)."""
    async with write_transaction():
        row = await internal_audit_row(audit_id)
        if body_id is not None:
            await check_engaged(row.organisation, body_id)
        elif row.shared_body is None:
            raise Conflict("This internal audit is not shared.", code="not_shared")
        await (
            InternalAudit.update({InternalAudit.shared_body: body_id})
            .where(InternalAudit.id == audit_id)
            .run()
        )
        await log_action(
            "marketplace.internal_audit.shared"
            if body_id
            else "marketplace.internal_audit.share_withdrawn",
            actor_id=actor_id,
            entity_type="internal_audit",
            entity_id=audit_id,
            tenant=Tenant("organisation", row.organisation),
            data={"body_id": str(body_id or row.shared_body)},
        )


async def add_internal_finding(
    actor_id: uuid.UUID | None, audit_id: uuid.UUID, data: dict[str, Any]
) -> uuid.UUID:
    """A finding graded like the body's; a major or minor opens its corrective action with a due date.

    Due dates follow the platform's default response times (rules.deadlines: 90 days for a major,
    30 days for a minor's plan), so the internal workflow rehearses the external one.
    """
    clause = check_clause("clause", data["clause"])
    if not clause:
        raise Invalid.field("clause", "Name the clause.")
    grade = Grade(data["grade"])
    async with write_transaction():
        row = await internal_audit_row(audit_id)
        last = (
            await InternalFinding.select(InternalFinding.number)
            .where(InternalFinding.internal_audit == audit_id)
            .order_by(InternalFinding.number, ascending=False)
            .first()
            .run()
        )
        nc = is_nonconformity(grade)
        finding = InternalFinding(
            internal_audit=audit_id,
            number=(last["number"] + 1) if last else 1,
            grade=grade.value,
            clause=clause,
            requirement=data.get("requirement", ""),
            evidence=data.get("evidence", ""),
            status="open" if nc else "none",
            due_on=due_date(grade, clock.today()) if nc else None,
        )
        await finding.save().run()
        await log_action(
            "marketplace.internal_finding.recorded",
            actor_id=actor_id,
            entity_type="internal_finding",
            entity_id=finding.id,
            tenant=Tenant("organisation", row.organisation),
            data={"grade": grade.value, "clause": clause, "audit_id": str(audit_id)},
        )
    return finding.id


async def internal_finding_row(finding_id: uuid.UUID) -> InternalFindingDetail:
    row: dict[str, Any] | None = (
        await InternalFinding.select(
            *InternalFinding.all_columns(),
            InternalFinding.internal_audit._.organisation.as_alias("organisation_id"),
            InternalFinding.internal_audit._.shared_body.as_alias("shared_body"),
            InternalFinding.owner._.name.as_alias("owner_name"),
        )
        .where(InternalFinding.id == finding_id)
        .first()
        .run()
    )
    if row is None:
        raise NotFound(NO_FINDING)
    return msgspec.convert(row, InternalFindingDetail, strict=False)


def _require_finding_status(row: InternalFindingRow, allowed: Iterable[str], doing: str) -> None:
    if row.status not in allowed:
        what = "an observation" if row.status == "none" else row.status
        raise Conflict(
            f"An internal finding that is {what} cannot be {doing}.", code="wrong_status"
        )


async def update_internal_finding(
    actor_id: uuid.UUID | None, finding_id: uuid.UUID, changes: dict[str, Any]
) -> None:
    """The answer: owner, correction, root cause and method, plan, target date (open or rejected)."""
    async with write_transaction():
        row = await internal_finding_row(finding_id)
        _require_finding_status(row, EDITABLE, "edited")
        given = {k: v for k, v in changes.items() if v is not None}
        updates = columns_of(InternalFinding, given, REQUIRED_ANSWER)
        if "owner_id" in changes:
            await check_member("owner_id", row.organisation_id, changes["owner_id"])
            updates[InternalFinding.owner] = changes["owner_id"]
        await apply_changes(
            InternalFinding,
            finding_id,
            updates,
            action="marketplace.internal_finding.updated",
            actor_id=actor_id,
            entity_type="internal_finding",
            entity_id=finding_id,
            tenant=Tenant("organisation", row.organisation_id),
        )


async def transition_internal_finding(
    actor_id: uuid.UUID | None, finding_id: uuid.UUID, step: str, comment: str = ""
) -> str:
    """submit -> accept|reject -> verify (closed) or not effective (rejected), as for the body's findings.

    The same workflow as findings' corrective actions (ISO/IEC 17021-1 9.4.9 and 9.4.10), here run
    by the client's quality manager: a complete answer before submitting, a reason for rejecting.
    """
    async with write_transaction():
        row = await internal_finding_row(finding_id)
        if step == "submit":
            _require_finding_status(row, EDITABLE, "submitted")
            missing = [n for n in REQUIRED_ANSWER if not getattr(row, n)]
            if missing:
                raise Conflict(
                    f"Complete {', '.join(missing)} before submitting.",
                    code="incomplete_answer",
                    errors=[
                        {"field": m, "message": "Required before submitting."} for m in missing
                    ],
                )
            status = "submitted"
        elif step in ("accept", "reject"):
            _require_finding_status(row, {"submitted"}, "reviewed")
            if step == "reject" and not comment.strip():
                raise Invalid.field("comment", "Say why the answer is rejected.")
            status = "accepted" if step == "accept" else "rejected"
        elif step in ("verify", "not_effective"):
            _require_finding_status(row, {"accepted"}, "verified")
            if step == "not_effective" and not comment.strip():
                raise Invalid.field("comment", "Say why the action was not effective.")
            status = "closed" if step == "verify" else "rejected"
        else:
            raise Invalid.field("step", "Unknown step.")
        values: dict[Any, Any] = {
            InternalFinding.status: status,
            InternalFinding.updated_at: clock.now(),
        }
        if step != "submit":
            values[InternalFinding.review_comment] = comment
        if status == "closed":
            values[InternalFinding.closed_at] = clock.now()
        await InternalFinding.update(values).where(InternalFinding.id == finding_id).run()
        await log_action(
            f"marketplace.internal_finding.{status}",
            actor_id=actor_id,
            entity_type="internal_finding",
            entity_id=finding_id,
            tenant=Tenant("organisation", row.organisation_id),
            data={"comment": comment},
        )
    return status


async def org_internal_finding(
    organisation_id: uuid.UUID, finding_id: uuid.UUID
) -> InternalFindingDetail:
    row = await internal_finding_row(finding_id)
    if row.organisation_id != organisation_id:
        raise NotFound(NO_FINDING)
    return row


async def shared_internal_audit(body_id: uuid.UUID, audit_id: uuid.UUID) -> InternalAuditRow:
    """The audit row while the client shares it with this body, 404 otherwise."""
    row = await internal_audit_row(audit_id)
    if row.shared_body != body_id:
        raise NotFound(NO_AUDIT)
    return row


# --- answers -----------------------------------------------------------------------------------


def finding_out(f: InternalFindingRow) -> InternalFindingOut:
    return msgspec.convert(
        {
            **msgspec.structs.asdict(f),
            "owner_id": f.owner,
            "internal_audit_id": f.internal_audit,
        },
        InternalFindingOut,
        strict=False,
    )


def internal_audit_out(row: InternalAuditRow) -> InternalAuditOut:
    return msgspec.convert(
        {
            **msgspec.structs.asdict(row),
            "organisation_id": row.organisation,
            "shared_body_id": row.shared_body,
            "findings": [finding_out(f) for f in row.findings],
        },
        InternalAuditOut,
        strict=False,
    )


async def audit_answer(audit_id: uuid.UUID) -> InternalAuditOut:
    return internal_audit_out(await get_internal_audit(audit_id))


async def shared_audit_as(
    principal: Principal, body_id: uuid.UUID, audit_id: uuid.UUID
) -> InternalAuditRow:
    """A shared audit with its findings for the body's readers."""
    body(principal, body_id)
    await shared_internal_audit(body_id, audit_id)
    return await get_internal_audit(audit_id)


# --- what the client's editors do (API and pages alike) ----------------------------------------


async def _editable_audit(
    principal: Principal, organisation_id: uuid.UUID, audit_id: uuid.UUID
) -> None:
    client(principal, organisation_id, write=True)
    await org_internal_audit(organisation_id, audit_id)


async def plan_audit_as(
    principal: Principal, organisation_id: uuid.UUID, data: InternalAuditIn
) -> InternalAuditOut:
    client(principal, organisation_id, write=True)
    aid = await create_internal_audit(
        principal.user_id, organisation_id, msgspec.structs.asdict(data)
    )
    return await audit_answer(aid)


async def complete_audit_as(
    principal: Principal, organisation_id: uuid.UUID, audit_id: uuid.UUID, data: CompleteIn
) -> InternalAuditOut:
    await _editable_audit(principal, organisation_id, audit_id)
    await complete_internal_audit(principal.user_id, audit_id, data.completed_on, data.summary)
    return await audit_answer(audit_id)


async def share_audit_as(
    principal: Principal, organisation_id: uuid.UUID, audit_id: uuid.UUID, data: InternalShareIn
) -> InternalAuditOut:
    await _editable_audit(principal, organisation_id, audit_id)
    await share_internal_audit(principal.user_id, audit_id, data.body_id)
    return await audit_answer(audit_id)


async def add_finding_as(
    principal: Principal, organisation_id: uuid.UUID, audit_id: uuid.UUID, data: InternalFindingIn
) -> InternalFindingOut:
    await _editable_audit(principal, organisation_id, audit_id)
    fid = await add_internal_finding(principal.user_id, audit_id, msgspec.structs.asdict(data))
    return finding_out(await internal_finding_row(fid))


async def _editable_finding(
    principal: Principal, organisation_id: uuid.UUID, finding_id: uuid.UUID
) -> None:
    client(principal, organisation_id, write=True)
    await org_internal_finding(organisation_id, finding_id)


async def answer_finding_as(
    principal: Principal,
    organisation_id: uuid.UUID,
    finding_id: uuid.UUID,
    data: InternalFindingPatch,
    given: Iterable[str],
) -> InternalFindingOut:
    """Answer a finding; `given` names the fields sent, so the owner clears with a null."""
    await _editable_finding(principal, organisation_id, finding_id)
    changes = changes_of(data, given, CLEARABLE_FINDING)
    await update_internal_finding(principal.user_id, finding_id, changes)
    return finding_out(await internal_finding_row(finding_id))


async def finding_step_as(
    principal: Principal, organisation_id: uuid.UUID, finding_id: uuid.UUID, data: StepIn
) -> InternalFindingOut:
    await _editable_finding(principal, organisation_id, finding_id)
    await transition_internal_finding(principal.user_id, finding_id, data.step, data.comment)
    return finding_out(await internal_finding_row(finding_id))
