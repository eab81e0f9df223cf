"""Builders for scheduling tests: engagements and auditors in a tenant, local times with offsets."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from collections.abc import Sequence
from typing import Any

from marketplace.scheduling.auditors import create_auditor
from marketplace.scheduling.engagements import StartedEngagement, start_engagement

STANDARD = "ISO 9001:2015"
SECTOR = 28  # the world's organisations are in IAF sector 28
# A Monday well before the UK (2027-03-28) and US (2027-03-14) clock changes.
TODAY = dt.datetime(2027, 3, 1, 8, 0, tzinfo=dt.UTC)


async def engagement(
    org_id: uuid.UUID, body_id: uuid.UUID, start: dt.date | None = None
) -> StartedEngagement:
    return await start_engagement(
        actor_id=None,
        organisation_id=org_id,
        body_id=body_id,
        standard=STANDARD,
        iaf_sector=SECTOR,
        agreed_days={"stage1": 1, "stage2": 2},
        start=start or TODAY.date(),
    )


async def auditor(
    body_id: uuid.UUID,
    name: str = "Lee Lead",
    *,
    lead: bool = True,
    qualifications: Sequence[tuple[str, int]] = ((STANDARD, SECTOR),),
    time_zone: str = "Europe/London",
) -> uuid.UUID:
    return await create_auditor(
        None,
        body_id,
        {
            "name": name,
            "email": f"{uuid.uuid4().hex[:8]}@auditors.test",
            "time_zone": time_zone,
            "lead": lead,
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
