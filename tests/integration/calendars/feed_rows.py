"""Audit rows in the exact states a feed must render, written straight into scheduling's tables.

The booking services would refuse half of these (an audit with no team, a stale cancellation,
a request beside a proposal in one cycle), and a feed test needs the rows and nothing else: an
engagement started through scheduling plans a stage 1 whose window is itself an all-day event.
"""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from typing import Any

from marketplace.core import clock
from marketplace.scheduling.tables import Audit, AuditAssignment, CertificationCycle, Engagement
from tests.factories.scheduling import STANDARD

# Well before the 2027 clock changes (US 14 March, UK 28 March; UK 31 October, US 7 November).
TODAY = dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC)


def local(day: str, hour: int, tz: str) -> dt.datetime:
    """A wall time in `tz` as an aware UTC instant."""
    wall = dt.datetime.fromisoformat(f"{day}T{hour:02d}:00").replace(tzinfo=zoneinfo.ZoneInfo(tz))
    return wall.astimezone(dt.UTC)


async def cycle(org_id: uuid.UUID, body_id: uuid.UUID) -> uuid.UUID:
    """An engagement's first cycle with no audits in it yet."""
    engagement = Engagement(
        organisation=org_id,
        body=body_id,
        standard=STANDARD,
        iaf_sector=28,
        agreed_days={},
        started_on=clock.today(),
    )
    await engagement.save().run()
    c = CertificationCycle(engagement=engagement.id, number=1)
    await c.save().run()
    return c.id


async def audit(
    cycle_id: uuid.UUID,
    *,
    kind: str = "surveillance1",
    status: str = "confirmed",
    starts_at: dt.datetime | None = None,
    ends_at: dt.datetime | None = None,
    time_zone: str = "Europe/London",
    sequence: int = 0,
    window: tuple[dt.date, dt.date] | None = None,
    mode: str = "onsite",
    requested: tuple[dt.datetime, dt.datetime] | None = None,
) -> uuid.UUID:
    row = Audit(
        cycle=cycle_id,
        kind=kind,
        status=status,
        starts_at=starts_at,
        ends_at=ends_at,
        time_zone=time_zone,
        sequence=sequence,
        window_start=window[0] if window else None,
        window_end=window[1] if window else None,
        mode=mode,
        requested_starts_at=requested[0] if requested else None,
        requested_ends_at=requested[1] if requested else None,
        created_at=clock.now(),
        updated_at=clock.now(),
    )
    await row.save().run()
    return row.id


async def update_audit(audit_id: uuid.UUID, **values: Any) -> None:
    """Change an audit the way the scheduling services do: updated_at moves with every change."""
    changes = {getattr(Audit, k): v for k, v in values.items()}
    changes[Audit.updated_at] = clock.now()
    await Audit.update(changes).where(Audit.id == audit_id).run()


async def assign(
    audit_id: uuid.UUID,
    auditor_id: uuid.UUID,
    role: str = "lead",
    *,
    live: bool = True,
) -> None:
    row = (
        await Audit.select(Audit.starts_at, Audit.ends_at).where(Audit.id == audit_id).first().run()
    )
    assert row is not None
    await AuditAssignment.insert(
        AuditAssignment(
            audit=audit_id,
            auditor=auditor_id,
            role=role,
            starts_at=row["starts_at"],
            ends_at=row["ends_at"],
            status="active" if live else "released",
            live=live,
        )
    ).run()
