"""Engagements and their certification cycles: starting one, reading a cycle, the decision date."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from marketplace.accounts.guards import Principal
from marketplace.core import clock
from marketplace.core.activity import Tenant, log_action
from marketplace.core.db import write_transaction
from marketplace.core.errors import NotFound
from marketplace.rules.audit_status import AuditStatus
from marketplace.rules.cycle import (
    AuditKind,
    certificate_at_risk,
    expiry_date,
    initial_windows,
    surveillance_and_recert_windows,
)
from marketplace.scheduling.context import (
    READERS,
    check_access,
    window_of,
    window_state_of,
)
from marketplace.scheduling.schemas import CycleAuditOut, CycleOut, EngagementRecord
from marketplace.scheduling.tables import Audit, CertificationCycle, Engagement

# The five audits of an initial three-year cycle (ISO/IEC 17021-1 9.1.3).
CYCLE_AUDITS = (
    AuditKind.stage1,
    AuditKind.stage2,
    AuditKind.surveillance1,
    AuditKind.surveillance2,
    AuditKind.recertification,
)


@dataclass(frozen=True)
class StartedEngagement:
    """What start_engagement made: the engagement, its first cycle and its audits by kind."""

    engagement_id: uuid.UUID
    cycle_id: uuid.UUID
    audit_ids: dict[str, uuid.UUID]


async def start_engagement(
    *,
    actor_id: uuid.UUID | None,
    organisation_id: uuid.UUID,
    body_id: uuid.UUID,
    standard: str,
    iaf_sector: int,
    agreed_days: dict[str, float],
    start: dt.date,
) -> StartedEngagement:
    """Create the engagement, its first cycle and the five planned audits.

    Call inside the caller's transaction (quotes accept inside theirs). Stage 1 gets its window
    at once; the others get theirs when their anchor exists: stage 2 after stage 1, surveillance
    and recertification from the certification decision date (ISO/IEC 17021-1 9.1.3).
    """
    engagement = Engagement(
        organisation=organisation_id,
        body=body_id,
        standard=standard,
        iaf_sector=iaf_sector,
        agreed_days=agreed_days,
        started_on=start,
        created_by=actor_id,
    )
    await engagement.save().run()
    cycle = CertificationCycle(engagement=engagement.id, number=1)
    await cycle.save().run()
    windows = initial_windows(start)
    audit_ids: dict[str, uuid.UUID] = {}
    for kind in CYCLE_AUDITS:
        window = windows.get(kind)
        audit = Audit(
            cycle=cycle.id,
            kind=kind.value,
            window_start=window.opens if window else None,
            window_end=window.due if window else None,
            planned_days={"auditor_days": agreed_days.get(kind.value)},
        )
        await audit.save().run()
        audit_ids[kind.value] = audit.id
    for tenant in (Tenant("organisation", organisation_id), Tenant("body", body_id)):
        await log_action(
            "marketplace.engagement.started",
            actor_id=actor_id,
            entity_type="engagement",
            entity_id=engagement.id,
            tenant=tenant,
            data={"standard": standard, "cycle_id": str(cycle.id)},
        )
    return StartedEngagement(engagement.id, cycle.id, audit_ids)


async def get_engagement(engagement_id: uuid.UUID) -> EngagementRecord:
    """The engagement row (billing invoices against it)."""
    rows = (
        await Engagement.select().where(Engagement.id == engagement_id).output(load_json=True).run()
    )
    if not rows:
        raise NotFound("No such engagement.")
    row = rows[0]
    return EngagementRecord(
        id=row["id"],
        organisation_id=row["organisation"],
        body_id=row["body"],
        standard=row["standard"],
        iaf_sector=row["iaf_sector"],
        status=row["status"],
        agreed_days=row["agreed_days"] or {},
        started_on=row["started_on"],
        created_by=row["created_by"],
        created_at=row["created_at"],
    )


async def has_completed_audit(
    organisation_id: uuid.UUID, body_id: uuid.UUID, engagement_id: uuid.UUID
) -> bool:
    """True when the engagement belongs to this client and body and one of its audits is completed."""
    return bool(
        await Audit.exists()
        .where(
            (Audit.cycle._.engagement._.id == engagement_id)
            & (Audit.cycle._.engagement._.organisation == organisation_id)
            & (Audit.cycle._.engagement._.body == body_id)
            & (Audit.status == AuditStatus.completed.value)
        )
        .run()
    )


async def get_cycle(cycle_id: uuid.UUID) -> CycleOut:
    """A certification cycle with every audit's window and state (ISO/IEC 17021-1 9.1.3)."""
    row = (
        await CertificationCycle.select(
            *CertificationCycle.all_columns(),
            CertificationCycle.engagement._.organisation.as_alias("organisation_id"),
            CertificationCycle.engagement._.body.as_alias("body_id"),
            CertificationCycle.engagement._.standard.as_alias("standard"),
        )
        .where(CertificationCycle.id == cycle_id)
        .first()
        .run()
    )
    if row is None:
        raise NotFound("No such certification cycle.")
    audits = (
        await Audit.select(
            Audit.id,
            Audit.kind,
            Audit.window_start,
            Audit.window_end,
            Audit.status,
            Audit.starts_at,
            Audit.ends_at,
            Audit.completed_on,
        )
        .where(Audit.cycle == cycle_id)
        .order_by(Audit.created_at)
        .run()
    )
    order = {k.value: i for i, k in enumerate(AuditKind)}
    audits.sort(key=lambda a: order.get(a["kind"], 99))
    done = {a["kind"] for a in audits if a["status"] == AuditStatus.completed}
    at_risk = bool(row["decision_date"]) and certificate_at_risk(
        row["decision_date"],
        clock.today(),
        AuditKind.surveillance1.value in done,
        AuditKind.surveillance2.value in done,
    )
    return CycleOut(
        id=row["id"],
        engagement_id=row["engagement"],
        number=row["number"],
        standard=row["standard"],
        organisation_id=row["organisation_id"],
        body_id=row["body_id"],
        decision_date=row["decision_date"],
        expiry_date=row["expiry_date"],
        certificate_at_risk=at_risk,
        audits=[_cycle_audit(a) for a in audits],
    )


def _cycle_audit(a: dict[str, Any]) -> CycleAuditOut:
    window = window_of(a["window_start"], a["window_end"])
    return CycleAuditOut(
        id=a["id"],
        kind=a["kind"],
        window_start=a["window_start"],
        window_end=a["window_end"],
        status=a["status"],
        starts_at=a["starts_at"],
        ends_at=a["ends_at"],
        window_state=window_state_of(window, a["completed_on"], a["status"]),
    )


async def read_cycle(principal: Principal, cycle_id: uuid.UUID) -> CycleOut:
    """A cycle for a member of either tenant (its client's or its body's); others get 404."""
    cycle = await get_cycle(cycle_id)
    check_access(
        principal,
        cycle.organisation_id,
        cycle.body_id,
        client=READERS.client,
        body=READERS.body,
        what="No such certification cycle.",
    )
    return cycle


async def apply_decision(cycle_id: uuid.UUID, decision_date: dt.date) -> None:
    """Record the certification decision date and plan the rest of the cycle from it.

    ISO/IEC 17021-1 9.1.3: the three-year cycle starts on the certification decision date; the
    first surveillance falls no later than 12 months after it, the second in year 2 (due 24
    months after it), and recertification is completed before expiry (decision + 3 years,
    9.6.3). Audits already completed keep their windows.
    """
    windows = surveillance_and_recert_windows(decision_date)
    async with write_transaction():
        if not await CertificationCycle.exists().where(CertificationCycle.id == cycle_id).run():
            raise NotFound("No such certification cycle.")
        await (
            CertificationCycle.update(
                {
                    CertificationCycle.decision_date: decision_date,
                    CertificationCycle.expiry_date: expiry_date(decision_date),
                    CertificationCycle.status: "certified",
                }
            )
            .where(CertificationCycle.id == cycle_id)
            .run()
        )
        for kind, window in windows.items():
            await (
                Audit.update(
                    {
                        Audit.window_start: window.opens,
                        Audit.window_end: window.due,
                        Audit.updated_at: clock.now(),
                    }
                )
                .where(
                    (Audit.cycle == cycle_id)
                    & (Audit.kind == kind.value)
                    & (Audit.status != "completed")
                )
                .run()
            )
