"""The certification decision: what stands between a cycle and a grant, and the decision itself."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, NoReturn

import msgspec

from marketplace.accounts.guards import Principal
from marketplace.certificates.issuing import issue_certificate
from marketplace.certificates.schemas import (
    CycleContext,
    DecisionIn,
    DecisionOut,
    DecisionResult,
    GateAudit,
)
from marketplace.certificates.tables import CertificationDecision
from marketplace.certificates.verification import public_out
from marketplace.core import clock
from marketplace.core.activity import Tenant, log_action
from marketplace.core.db import write_transaction
from marketplace.core.errors import Conflict, Invalid, NotFound
from marketplace.findings.tables import AuditReport, CorrectiveAction
from marketplace.rules.certification import GateFacts, decision_input_refusal, decision_refusal
from marketplace.rules.cycle import AuditKind
from marketplace.rules.deadlines import stage2_repeat_deadline
from marketplace.rules.refusal import Refusal
from marketplace.scheduling.context import NO_ROLES, check_access
from marketplace.scheduling.tables import Audit, CertificationCycle

# Body roles that take the certification decision and change a certificate's status.
DECIDERS = frozenset({"owner", "decision_maker"})


def refuse(refusal: Refusal) -> NoReturn:
    """Raise a rule's refusal as the error callers know: 422 on its field, else 409 with its code."""
    if refusal.field is not None:
        raise Invalid.field(refusal.field, refusal.message)
    raise Conflict(refusal.message, code=refusal.code)


# --- reading a cycle -------------------------------------------------------------------------


async def cycle_context(cycle_id: uuid.UUID) -> CycleContext:
    row: dict[str, Any] | None = (
        await CertificationCycle.select(
            *CertificationCycle.all_columns(),
            CertificationCycle.engagement._.organisation.as_alias("organisation_id"),
            CertificationCycle.engagement._.body.as_alias("body_id"),
            CertificationCycle.engagement._.standard.as_alias("standard"),
            CertificationCycle.engagement._.iaf_sector.as_alias("iaf_sector"),
        )
        .where(CertificationCycle.id == cycle_id)
        .first()
        .run()
    )
    if row is None:
        raise NotFound("No such certification cycle.")
    return msgspec.convert(row, CycleContext)


def _last_day(audit: GateAudit) -> dt.date | None:
    if audit.completed_on is not None:
        last: dt.date = audit.completed_on
        return last
    if audit.ends_at is not None:
        ended: dt.date = audit.ends_at.date()
        return ended
    return None


async def gate_audit(cycle: CycleContext) -> GateAudit | None:
    """The audit a decision follows: stage 2 of an initial cycle, else the recertification audit."""
    kind = AuditKind.stage2 if cycle.number == 1 else AuditKind.recertification
    row: dict[str, Any] | None = (
        await Audit.select(Audit.id, Audit.kind, Audit.status, Audit.completed_on, Audit.ends_at)
        .where((Audit.cycle == cycle.id) & (Audit.kind == kind.value))
        .order_by(Audit.created_at, ascending=False)
        .first()
        .run()
    )
    return None if row is None else msgspec.convert(row, GateAudit)


@dataclass(frozen=True)
class DecisionState:
    """A cycle as the decision sees it: its gate audit, findings, report and any decision."""

    cycle: CycleContext
    audit: GateAudit | None
    last_day: dt.date | None  # of the completed gate audit
    deadline: dt.date | None  # 6 months after last_day (9.5.3.2)
    open_majors: list[dict[str, Any]]
    open_minors: list[dict[str, Any]]
    late_majors: list[dict[str, Any]]
    stage2_expired: bool
    report_issued: bool
    decision: dict[str, Any] | None


async def decision_status(cycle_id: uuid.UUID, on: dt.date | None = None) -> DecisionState:
    """What stands between the cycle and a grant today (for the decision form and the API)."""
    cycle = await cycle_context(cycle_id)
    audit = await gate_audit(cycle)
    on = on or clock.today()
    last = _last_day(audit) if audit and audit.status == "completed" else None
    actions = (
        await CorrectiveAction.select(
            CorrectiveAction.id,
            CorrectiveAction.grade,
            CorrectiveAction.status,
            CorrectiveAction.closed_at,
        )
        .where(CorrectiveAction.audit == audit.id)
        .run()
        if audit
        else []
    )
    deadline = stage2_repeat_deadline(last) if last else None
    decision = (
        await CertificationDecision.select()
        .where(CertificationDecision.cycle == cycle_id)
        .first()
        .run()
    )
    return DecisionState(
        cycle=cycle,
        audit=audit,
        last_day=last,
        deadline=deadline,
        open_majors=[a for a in actions if a["grade"] == "major" and a["status"] != "closed"],
        open_minors=[
            a
            for a in actions
            if a["grade"] == "minor" and a["status"] not in ("accepted", "closed")
        ],
        late_majors=[
            a
            for a in actions
            if a["grade"] == "major"
            and a["status"] == "closed"
            and deadline is not None
            and a["closed_at"] is not None
            and a["closed_at"].date() > deadline
        ],
        stage2_expired=deadline is not None and on > deadline,
        report_issued=bool(
            audit
            and await AuditReport.exists()
            .where((AuditReport.audit == audit.id) & (AuditReport.status == "issued"))
            .run()
        ),
        decision=decision,
    )


def gate_facts(
    state: DecisionState, decision: str, decided_on: dt.date, override_reason: str
) -> GateFacts:
    """The decision status cut down to what the gate (rules.certification) reads."""
    return GateFacts(
        decision=decision,
        decided_on=decided_on,
        already_decided=state.decision is not None or state.cycle.decision_date is not None,
        last_day=state.last_day,
        report_issued=state.report_issued,
        open_majors=len(state.open_majors),
        open_minors=len(state.open_minors),
        late_majors=len(state.late_majors),
        stage2_expired=state.stage2_expired,
        override_reason=override_reason,
    )


# --- the decision ----------------------------------------------------------------------------


async def decide(
    actor_id: uuid.UUID | None,
    cycle_id: uuid.UUID,
    *,
    decision: str,
    decided_on: dt.date | None,
    scope: str,
    comment: str = "",
    stage2_override_reason: str = "",
) -> DecisionResult:
    """Grant or refuse certification after stage 2 (ISO/IEC 17021-1:2015 9.5).

    The gate (``rules.certification.decision_refusal``) says what must hold: a completed stage 2
    not after the decision, and for a grant the report issued, majors verified, minors' plans
    accepted and stage 2 not older than 6 months (unless the body records an override reason).
    A grant sets the cycle's decision date, which fixes expiry (+3 years, 9.1.3.2) and the
    surveillance windows, and issues the certificate. The caller has checked the actor's role.
    """
    today = clock.today()
    decided_on = decided_on or today
    refusal = decision_input_refusal(decision, decided_on, today, scope)
    if refusal is not None:
        refuse(refusal)
    async with write_transaction():
        state = await decision_status(cycle_id, decided_on)
        cycle = state.cycle
        refusal = decision_refusal(gate_facts(state, decision, decided_on, stage2_override_reason))
        if refusal is not None:
            refuse(refusal)
        record = CertificationDecision(
            cycle=cycle_id,
            organisation=cycle.organisation_id,
            body=cycle.body_id,
            decision=decision,
            decided_on=decided_on,
            scope=scope,
            comment=comment,
            stage2_override_reason=stage2_override_reason if state.stage2_expired else "",
            decided_by=actor_id,
        )
        await record.save().run()
        if decision == "refuse":
            await _refuse_cycle(actor_id, cycle, decided_on, comment)
            return {"decision": "refuse", "decision_id": record.id, "certificate": None}
        number = await issue_certificate(actor_id, cycle, decided_on, scope)
        await log_action(
            "marketplace.certification.granted",
            actor_id=actor_id,
            entity_type="cycle",
            entity_id=cycle_id,
            tenant=Tenant("body", cycle.body_id),
            data={
                "decided_on": str(decided_on),
                "certificate": number,
                "stage2_override_reason": record.stage2_override_reason,
            },
        )
    return {"decision": "grant", "decision_id": record.id, "certificate": number}


async def _refuse_cycle(
    actor_id: uuid.UUID | None, cycle: CycleContext, decided_on: dt.date, comment: str
) -> None:
    await (
        CertificationCycle.update({CertificationCycle.status: "refused"})
        .where(CertificationCycle.id == cycle.id)
        .run()
    )
    await log_action(
        "marketplace.certification.refused",
        actor_id=actor_id,
        entity_type="cycle",
        entity_id=cycle.id,
        tenant=Tenant("body", cycle.body_id),
        data={"decided_on": str(decided_on), "comment": comment},
    )


async def check_decider(principal: Principal, cycle_id: uuid.UUID) -> CycleContext:
    """The cycle, if the caller is a decision maker or owner of its body.

    Client members get 403, anyone outside the two parties 404 (as for an unknown cycle).
    """
    cycle = await cycle_context(cycle_id)
    check_access(
        principal,
        cycle.organisation_id,
        cycle.body_id,
        client=NO_ROLES,
        body=DECIDERS,
        what="No such certification cycle.",
    )
    return cycle


async def decide_as(principal: Principal, cycle_id: uuid.UUID, data: DecisionIn) -> DecisionOut:
    """The decision taken by a signed-in decision maker or owner of the cycle's body."""
    await check_decider(principal, cycle_id)
    result = await decide(
        principal.user_id,
        cycle_id,
        decision=data.decision,
        decided_on=data.decided_on,
        scope=data.scope,
        comment=data.comment,
        stage2_override_reason=data.stage2_override_reason,
    )
    number = result["certificate"]
    certificate = await public_out(number) if number else None
    return DecisionOut(result["decision"], result["decision_id"], certificate)
