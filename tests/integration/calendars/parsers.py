"""Reading a feed with three iCalendar libraries that did not write it, and insisting they agree."""

from __future__ import annotations

import datetime as dt
from typing import Any

import icalendar
import recurring_ical_events
import vobject

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
