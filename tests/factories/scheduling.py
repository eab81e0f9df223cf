"""Builders of scheduling's things: engagements (planned or held), auditors, booking inputs."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from collections.abc import Mapping, Sequence
from typing import Any

from marketplace.core import clock
from marketplace.scheduling.auditors import create_auditor
from marketplace.scheduling.engagements import StartedEngagement, start_engagement
from marketplace.scheduling.tables import Audit, CertificationCycle, Engagement

STANDARD = "ISO 9001:2015"
SECTOR = 28  # the world's organisations are in IAF sector 28
# Scheduling's frozen clock: a Monday well before the UK (2027-03-28) and US (2027-03-14) clock
# changes, so a booking's local times have one offset.
TODAY = dt.datetime(2027, 3, 1, 8, 0, tzinfo=dt.UTC)
# The isolation matrix sends a fixed request body, so its engagement has a fixed id.
FIXED_ENGAGEMENT = uuid.UUID("00000000-0000-4000-8000-00000000e001")


async def engagement(
    org_id: uuid.UUID,
    body_id: uuid.UUID,
    *,
    held: int = 0,
    stage2_ended: dt.date | None = None,
    start: dt.date | None = None,
    standard: str = STANDARD,
    agreed_days: Mapping[str, float] | None = None,
    engagement_id: uuid.UUID | None = None,
) -> StartedEngagement:
    """An engagement started through scheduling: its first cycle and five planned audits.

    `held=1` marks stage 1 held, `held=2` stage 1 and stage 2 (stage 2 ending `stage2_ended`,
    3 days ago by default, stage 1 thirty days before it); a held engagement starts 120 days ago
    and a planned one today unless `start` says otherwise. `engagement_id` renames the
    engagement (the isolation matrix's fixed request bodies name it).
    """
    today = clock.today()
    started = await start_engagement(
        actor_id=None,
        organisation_id=org_id,
        body_id=body_id,
        standard=standard,
        iaf_sector=SECTOR,
        agreed_days=dict(agreed_days or {"stage1": 1, "stage2": 2}),
        start=start or (today - dt.timedelta(days=120) if held else today),
    )
    stage2_day = stage2_ended or today - dt.timedelta(days=3)
    if held >= 1:
        await hold_audit(started.audit_ids["stage1"], stage2_day - dt.timedelta(days=30))
    if held >= 2:
        await hold_audit(started.audit_ids["stage2"], stage2_day)
    if engagement_id is None:
        return started
    await (
        Engagement.update({Engagement.id: engagement_id})
        .where(Engagement.id == started.engagement_id)
        .run()
    )
    await (
        CertificationCycle.update({CertificationCycle.engagement: engagement_id})
        .where(CertificationCycle.id == started.cycle_id)
        .run()
    )
    return StartedEngagement(engagement_id, started.cycle_id, started.audit_ids)


async def hold_audit(audit_id: uuid.UUID, last_day: dt.date) -> None:
    """Mark an audit held on `last_day` (08:00 to 16:00 UTC).

    Written to the table, not booked through propose, confirm and complete: those add a team,
    its assignments and the proposal and confirmation e-mails to the body and the team, which the
    tests of later steps count (a report's issue e-mails only the client, for one).
    """
    await (
        Audit.update(
            {
                Audit.status: "completed",
                Audit.completed_on: last_day,
                Audit.starts_at: dt.datetime.combine(last_day, dt.time(8), tzinfo=dt.UTC),
                Audit.ends_at: dt.datetime.combine(last_day, dt.time(16), tzinfo=dt.UTC),
            }
        )
        .where(Audit.id == audit_id)
        .run()
    )


async def auditor(
    body_id: uuid.UUID,
    name: str = "Lee Lead",
    *,
    lead: bool = True,
    qualifications: Sequence[tuple[str, int]] = ((STANDARD, SECTOR),),
    time_zone: str = "Europe/London",
    user_id: uuid.UUID | None = None,
    email: str | None = None,
) -> uuid.UUID:
    """An auditor of the body, qualified for ISO 9001 in sector 28 unless told otherwise."""
    return await create_auditor(
        None,
        body_id,
        {
            "name": name,
            "email": email or f"{uuid.uuid4().hex[:8]}@auditors.test",
            "time_zone": time_zone,
            "lead": lead,
            "user_id": user_id,
            "qualifications": [{"standard": s, "iaf_sector": n} for s, n in qualifications],
        },
    )


def at(day: str, hour: int, tz: str = "Europe/London") -> str:
    """An ISO 8601 instant with the zone's offset for that local wall time."""
    local = dt.datetime.fromisoformat(f"{day}T{hour:02d}:00").replace(tzinfo=zoneinfo.ZoneInfo(tz))
    return local.isoformat()


def proposal(lead: uuid.UUID, day: str, *, tz: str = "Europe/London") -> dict[str, Any]:
    """The body of POST /api/v1/audits/{id}/proposal: one on-site day, 09:00 to 17:00, one lead."""
    return {
        "starts_at": at(day, 9, tz),
        "ends_at": at(day, 17, tz),
        "time_zone": tz,
        "mode": "onsite",
        "team": [{"auditor_id": str(lead), "role": "lead"}],
    }
