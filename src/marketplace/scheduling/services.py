"""Scheduling services: starting an engagement and its first certification cycle."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from marketplace.core.activity import Tenant, log_action
from marketplace.core.errors import NotFound
from marketplace.rules.cycle import AuditKind, initial_windows
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


async def get_engagement(engagement_id: uuid.UUID) -> dict[str, Any]:
    rows = (
        await Engagement.select().where(Engagement.id == engagement_id).output(load_json=True).run()
    )
    if not rows:
        raise NotFound("No such engagement.")
    row: dict[str, Any] = rows[0]
    return row


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
            & (Audit.status == "completed")
        )
        .run()
    )
