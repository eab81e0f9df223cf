"""Builders for calendar tests: audits and teams inserted straight into the scheduling tables."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from typing import Any

import icalendar
import recurring_ical_events
import vobject

from marketplace.core import clock
from marketplace.scheduling.tables import (
    Audit,
    AuditAssignment,
    Auditor,
    CertificationCycle,
    Engagement,
)

STANDARD = "ISO 9001:2015"
# Well before the 2027 clock changes (US 14 March, UK 28 March; UK 31 October, US 7 November).
TODAY = dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC)


def local(day: str, hour: int, tz: str) -> dt.datetime:
    """A wall time in `tz` as an aware UTC instant."""
    wall = dt.datetime.fromisoformat(f"{day}T{hour:02d}:00").replace(tzinfo=zoneinfo.ZoneInfo(tz))
    return wall.astimezone(dt.UTC)


async def cycle(org_id: uuid.UUID, body_id: uuid.UUID) -> uuid.UUID:
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


async def auditor(
    body_id: uuid.UUID, name: str, user_id: uuid.UUID | None = None, email: str | None = None
) -> uuid.UUID:
    row = Auditor(
        body=body_id,
        user=user_id,
        name=name,
        email=email if email is not None else f"{name.split()[0].lower()}@auditors.test",
        lead=True,
    )
    await row.save().run()
    return row.id


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


Seen = dict[str, tuple[Any, Any, str, int]]


def _norm(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        assert value.tzinfo is not None, f"floating time {value}"
        return value.astimezone(dt.UTC)
    return value


def by_icalendar(data: bytes) -> Seen:
    cal = icalendar.Calendar.from_ical(data)
    return {
        str(e["UID"]): (
            _norm(e.decoded("DTSTART")),
            _norm(e.decoded("DTEND")),
            str(e.get("STATUS", "")),
            int(e.get("SEQUENCE", 0)),
        )
        for e in cal.walk("VEVENT")
    }


def by_vobject(data: bytes) -> Seen:
    cal = vobject.readOne(data.decode())
    return {
        e.uid.value: (
            _norm(e.dtstart.value),
            _norm(e.dtend.value),
            e.status.value if hasattr(e, "status") else "",
            int(e.sequence.value),
        )
        for e in cal.contents.get("vevent", [])
    }


def by_recurring(data: bytes) -> Seen:
    cal = icalendar.Calendar.from_ical(data)
    events = recurring_ical_events.of(cal).between(dt.date(2020, 1, 1), dt.date(2035, 1, 1))
    return {
        str(e["UID"]): (
            _norm(e["DTSTART"].dt),
            _norm(e["DTEND"].dt),
            str(e.get("STATUS", "")),
            int(e.get("SEQUENCE", 0)),
        )
        for e in events
    }


def parse_all(data: bytes) -> Seen:
    """Parse with three libraries (none wrote it) and insist they agree on every event."""
    first = by_icalendar(data)
    assert by_vobject(data) == first
    assert by_recurring(data) == first
    return first
