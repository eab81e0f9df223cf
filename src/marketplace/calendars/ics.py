"""RFC 5545 rendering of audits and all-day deadlines (feeds and iTIP invitations); pure, no I/O."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from icalendar import Timezone  # type: ignore[import-untyped]  # icalendar 6 ships no type information

PRODID = "-//CertMarket//Calendars 1.0//EN"
# Calendar apps poll subscriptions; an hour is what the major ones accept without complaint.
REFRESH = "PT1H"
_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/GMT", "GMT", "Z"})
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class Party:
    """Someone on an event: ORGANIZER or ATTENDEE (iCalendar needs an e-mail as the address)."""

    name: str
    email: str
    role: str = "REQ-PARTICIPANT"  # CHAIR | REQ-PARTICIPANT | OPT-PARTICIPANT


@dataclass(frozen=True)
class TimedEvent:
    """One booked (or proposed, or cancelled) audit, times as aware instants."""

    uid: str
    summary: str
    status: Literal["TENTATIVE", "CONFIRMED", "CANCELLED"]
    starts_at: dt.datetime
    ends_at: dt.datetime
    time_zone: str
    sequence: int
    created: dt.datetime
    last_modified: dt.datetime
    location: str = ""
    description: str = ""
    url: str = ""
    organizer: Party | None = None
    attendees: tuple[Party, ...] = ()


@dataclass(frozen=True)
class AllDayEvent:
    """A date-only event (due window, deadline); `last_day` is inclusive, DTEND is written exclusive."""

    uid: str
    summary: str
    first_day: dt.date
    last_day: dt.date
    last_modified: dt.datetime
    description: str = ""
    url: str = ""
    sequence: int = 0
    categories: tuple[str, ...] = field(default_factory=tuple)


Event = TimedEvent | AllDayEvent


# --- value encoding --------------------------------------------------------------------------


def escape_text(value: str) -> str:
    """TEXT per RFC 5545 3.3.11: backslash, semicolon, comma and newlines escaped."""
    value = _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _param(value: str) -> str:
    """A parameter value (3.2): quoted when it holds : ; or , and never containing a DQUOTE."""
    value = _CONTROL.sub("", value.replace("\n", " ")).replace('"', "'")
    return f'"{value}"' if any(c in value for c in ":;,") else value


def fold(line: str) -> str:
    """Fold a content line at 75 octets (3.1), never inside a UTF-8 character."""
    if len(line) <= 75 and line.isascii():
        return line + "\r\n"
    if line.isascii():  # the common case: one character is one octet
        parts = [line[:75]] + [line[i : i + 74] for i in range(75, len(line), 74)]
        return "\r\n ".join(parts) + "\r\n"
    raw = line.encode()
    chunks: list[bytes] = []
    start, limit = 0, 75
    while len(raw) - start > limit:
        cut = start + limit
        while raw[cut] & 0xC0 == 0x80:  # step back out of a multi-byte character
            cut -= 1
        chunks.append(raw[start:cut])
        start, limit = cut, 74  # continuation lines start with one space
    chunks.append(raw[start:])
    return b"\r\n ".join(chunks).decode() + "\r\n"


def _stamp(v: dt.datetime | dt.date) -> str:
    # Plain formatting: strftime was the largest single cost of a 1,000-event feed.
    if isinstance(v, dt.datetime):
        return f"{v.year:04d}{v.month:02d}{v.day:02d}T{v.hour:02d}{v.minute:02d}{v.second:02d}"
    return f"{v.year:04d}{v.month:02d}{v.day:02d}"


def _utc(value: dt.datetime) -> str:
    return _stamp(value.astimezone(dt.UTC)) + "Z"


def _zone(name: str) -> zoneinfo.ZoneInfo | None:
    """The IANA zone, or None for UTC (and for names this system does not know: written as UTC)."""
    if name in _UTC_NAMES:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def _when(prop: str, value: dt.datetime, zone: zoneinfo.ZoneInfo | None) -> str:
    if zone is None:
        return f"{prop}:{_utc(value)}"
    return f"{prop};TZID={zone.key}:{_stamp(value.astimezone(zone))}"


def _address(party: Party) -> str:
    return f"mailto:{party.email.strip()}"


@functools.lru_cache(maxsize=256)
def vtimezone(tzid: str, first_year: int, last_year: int) -> str:
    """The VTIMEZONE for `tzid` over whole years only.

    A narrow range keeps feeds small; a wide one (icalendar's default 1970-2038) is not just
    bigger: some parsers then apply the wrong observance and show events an hour off. Whole
    years make the result cacheable and still cover the DST changes around every event.
    """
    component = Timezone.from_tzid(
        tzid, first_date=dt.date(first_year, 1, 1), last_date=dt.date(last_year + 1, 1, 1)
    )
    text: str = component.to_ical().decode()
    return text if text.endswith("\r\n") else text + "\r\n"


# --- components ------------------------------------------------------------------------------


def _timed(event: TimedEvent, out: list[str], method: str | None) -> None:
    zone = _zone(event.time_zone)
    modified = _utc(event.last_modified)
    lines = [
        "BEGIN:VEVENT",
        f"UID:{event.uid}",
        # In a published feed DTSTAMP is when the information last changed (RFC 5545 3.8.7.2),
        # which also keeps the bytes identical until the audit changes.
        f"DTSTAMP:{modified}",
        f"CREATED:{_utc(event.created)}",
        f"LAST-MODIFIED:{modified}",
        f"SEQUENCE:{event.sequence}",
        _when("DTSTART", event.starts_at, zone),
        _when("DTEND", event.ends_at, zone),
        f"SUMMARY:{escape_text(event.summary)}",
        f"STATUS:{event.status}",
        "TRANSP:OPAQUE",
    ]
    if event.location:
        lines.append(f"LOCATION:{escape_text(event.location)}")
    if event.description:
        lines.append(f"DESCRIPTION:{escape_text(event.description)}")
    if event.url:
        lines.append(f"URL:{event.url}")
    if event.organizer and event.organizer.email:
        lines.append(f"ORGANIZER;CN={_param(event.organizer.name)}:{_address(event.organizer)}")
    seen: set[str] = set()
    for person in event.attendees:
        key = person.email.strip().lower()
        if not key or key in seen:
            continue
        seen.add(key)
        partstat = "ACCEPTED" if event.status == "CONFIRMED" else "NEEDS-ACTION"
        rsvp = ";RSVP=TRUE" if method == "REQUEST" else ""
        lines.append(
            f"ATTENDEE;CN={_param(person.name)};CUTYPE=INDIVIDUAL;ROLE={person.role};"
            f"PARTSTAT={partstat}{rsvp}:{_address(person)}"
        )
    if event.status != "CANCELLED":
        lines += [
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            f"DESCRIPTION:{escape_text(event.summary)}",
            "TRIGGER:-P1D",
            "END:VALARM",
        ]
    lines.append("END:VEVENT")
    out.extend(fold(line) for line in lines)


def _all_day(event: AllDayEvent, out: list[str]) -> None:
    # iCalendar ends are exclusive: an event on 1-3 May ends on 4 May (RFC 5545 3.6.1).
    end = event.last_day + dt.timedelta(days=1)
    lines = [
        "BEGIN:VEVENT",
        f"UID:{event.uid}",
        f"DTSTAMP:{_utc(event.last_modified)}",
        f"LAST-MODIFIED:{_utc(event.last_modified)}",
        f"SEQUENCE:{event.sequence}",
        f"DTSTART;VALUE=DATE:{_stamp(event.first_day)}",
        f"DTEND;VALUE=DATE:{_stamp(end)}",
        f"SUMMARY:{escape_text(event.summary)}",
        # A due window is not time spent: it must not block the day in free/busy.
        "TRANSP:TRANSPARENT",
    ]
    if event.categories:
        lines.append("CATEGORIES:" + ",".join(escape_text(c) for c in event.categories))
    if event.description:
        lines.append(f"DESCRIPTION:{escape_text(event.description)}")
    if event.url:
        lines.append(f"URL:{event.url}")
    lines.append("END:VEVENT")
    out.extend(fold(line) for line in lines)


def _timezones(events: Iterable[Event]) -> list[str]:
    spans: dict[str, tuple[int, int]] = {}
    for event in events:
        if not isinstance(event, TimedEvent):
            continue
        zone = _zone(event.time_zone)
        if zone is None:
            continue
        first = event.starts_at.astimezone(zone).year
        last = event.ends_at.astimezone(zone).year
        lo, hi = spans.get(zone.key, (first, last))
        spans[zone.key] = (min(lo, first), max(hi, last))
    return [vtimezone(tzid, lo, hi) for tzid, (lo, hi) in sorted(spans.items())]


def render(
    name: str,
    events: Sequence[Event],
    *,
    method: str | None = None,
    description: str = "",
) -> bytes:
    """A whole VCALENDAR: a subscription feed (no METHOD) or an iTIP message (METHOD set)."""
    out: list[str] = [
        "BEGIN:VCALENDAR\r\n",
        "VERSION:2.0\r\n",
        f"PRODID:{PRODID}\r\n",
        "CALSCALE:GREGORIAN\r\n",
    ]
    if method:
        out.append(f"METHOD:{method}\r\n")
    else:
        out += [
            fold(f"NAME:{escape_text(name)}"),
            fold(f"X-WR-CALNAME:{escape_text(name)}"),
            f"REFRESH-INTERVAL;VALUE=DURATION:{REFRESH}\r\n",
            f"X-PUBLISHED-TTL:{REFRESH}\r\n",
        ]
        if description:
            out.append(fold(f"X-WR-CALDESC:{escape_text(description)}"))
    out += _timezones(events)
    for event in events:
        if isinstance(event, TimedEvent):
            _timed(event, out, method)
        else:
            _all_day(event, out)
    out.append("END:VCALENDAR\r\n")
    return "".join(out).encode()


def invitation(audit: TimedEvent, method: Literal["REQUEST", "CANCEL"] = "REQUEST") -> bytes:
    """An iTIP message (RFC 5546) for the people on an audit: REQUEST on propose/confirm/reschedule,
    CANCEL when it is cancelled; same UID and SEQUENCE as the feeds so clients update in place."""
    if method not in ("REQUEST", "CANCEL"):
        raise ValueError(f"method must be REQUEST or CANCEL, got {method!r}")
    if audit.organizer is None or not audit.organizer.email:
        raise ValueError("an iTIP message needs an ORGANIZER with an e-mail address")
    event = audit
    if method == "CANCEL" and audit.status != "CANCELLED":
        event = dataclasses.replace(audit, status="CANCELLED")
    return render(audit.summary, [event], method=method)
