"""The pure iCalendar writer: escaping, folding, time zones, all-day ends, iTIP invitations."""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo

import icalendar
import pytest
import recurring_ical_events
import vobject

from marketplace.calendars import ics

LONDON = zoneinfo.ZoneInfo("Europe/London")
STAMP = dt.datetime(2027, 2, 1, 12, 0, tzinfo=dt.UTC)


def _event(**changes: object) -> ics.TimedEvent:
    base = ics.TimedEvent(
        uid="audit-1@example.test",
        summary="ISO 9001 surveillance 1 - Acme Ltd",
        status="CONFIRMED",
        starts_at=dt.datetime(2027, 3, 26, 9, tzinfo=LONDON),
        ends_at=dt.datetime(2027, 3, 29, 17, tzinfo=LONDON),
        time_zone="Europe/London",
        sequence=2,
        created=STAMP,
        last_modified=STAMP,
        location="1 High Street, Leeds",
        description="Audit team: Lee Lead (lead)\nDetails: https://example.test/audits/1",
        url="https://example.test/audits/1",
        organizer=ics.Party("Body A, Certification", "plans@example.test", "CHAIR"),
        attendees=(ics.Party("Lee Lead", "lee@example.test", "CHAIR"),),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_text_escaping_round_trips() -> None:
    tricky = 'Acme; "Widgets", Ltd\\Plc\nsecond line\r\nthird\x00'
    data = ics.render("Feed", [_event(summary=tricky, description=tricky)])
    event = icalendar.Calendar.from_ical(data).walk("VEVENT")[0]
    expected = 'Acme; "Widgets", Ltd\\Plc\nsecond line\nthird'
    assert str(event["SUMMARY"]) == expected
    assert vobject.readOne(data.decode()).vevent.summary.value == expected


def test_lines_fold_at_75_octets_without_splitting_characters() -> None:
    long = "Prüfung " * 40 + "€" * 30
    data = ics.render("Feed", [_event(description=long)])
    for line in data.split(b"\r\n"):
        assert len(line) <= 75
        line.decode()  # every physical line is valid UTF-8 on its own
    event = icalendar.Calendar.from_ical(data).walk("VEVENT")[0]
    assert str(event["DESCRIPTION"]) == long


def test_parameters_with_separators_are_quoted() -> None:
    data = ics.render("Feed", [_event()]).decode()
    assert 'ORGANIZER;CN="Body A, Certification":mailto:plans@example.test' in data
    cal = vobject.readOne(data)
    assert cal.vevent.organizer.params["CN"] == ["Body A, Certification"]


def test_every_tzid_has_a_narrow_vtimezone() -> None:
    ny = zoneinfo.ZoneInfo("America/New_York")
    events = [
        _event(),
        _event(
            uid="audit-2@example.test",
            starts_at=dt.datetime(2027, 11, 8, 9, tzinfo=ny),
            ends_at=dt.datetime(2027, 11, 8, 17, tzinfo=ny),
            time_zone="America/New_York",
        ),
        _event(uid="audit-3@example.test", time_zone="UTC"),
    ]
    data = ics.render("Feed", events)
    cal = icalendar.Calendar.from_ical(data)
    assert {str(t["TZID"]) for t in cal.walk("VTIMEZONE")} == {"Europe/London", "America/New_York"}
    assert not cal.get_missing_tzids()
    # Whole years around the events only: a 1970-2038 table is what makes some clients slip an hour.
    text = data.decode()
    assert "DTSTART:1970" not in text
    assert "DTSTART:2030" not in text
    assert "DTSTART:20260101" not in text
    # UTC events are written with Z and need no VTIMEZONE.
    assert "DTSTART:20270326T090000Z" in text
    assert "TZID=UTC" not in text
    starts = {str(e["UID"]): e.decoded("DTSTART") for e in cal.walk("VEVENT")}
    assert starts["audit-3@example.test"] == dt.datetime(2027, 3, 26, 9, tzinfo=dt.UTC)


def test_all_day_end_is_exclusive() -> None:
    event = ics.AllDayEvent(
        uid="w@example.test",
        summary="Due: ISO 9001 stage 1 - Acme Ltd",
        first_day=dt.date(2027, 5, 1),
        last_day=dt.date(2027, 5, 31),
        last_modified=STAMP,
    )
    data = ics.render("Feed", [event])
    assert b"DTSTART;VALUE=DATE:20270501" in data
    assert b"DTEND;VALUE=DATE:20270601" in data
    found = recurring_ical_events.of(icalendar.Calendar.from_ical(data)).at((2027, 5, 31))
    assert len(found) == 1
    assert not recurring_ical_events.of(icalendar.Calendar.from_ical(data)).at((2027, 6, 1))


def test_feed_headers_and_alarm() -> None:
    data = ics.render("Client A audits", [_event()], description="private").decode()
    assert "X-WR-CALNAME:Client A audits\r\n" in data
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in data
    assert "X-PUBLISHED-TTL:PT1H\r\n" in data
    assert "METHOD" not in data
    assert "TRIGGER:-P1D" in data
    cancelled = ics.render("x", [_event(status="CANCELLED")]).decode()
    assert "VALARM" not in cancelled


def test_rendering_is_deterministic() -> None:
    assert ics.render("Feed", [_event()]) == ics.render("Feed", [_event()])


@pytest.mark.parametrize("method", ["REQUEST", "CANCEL"])
def test_invitation(method: str) -> None:
    data = ics.invitation(_event(), method)  # type: ignore[arg-type]
    cal = icalendar.Calendar.from_ical(data)
    assert str(cal["METHOD"]) == method
    event = cal.walk("VEVENT")[0]
    assert str(event["UID"]) == "audit-1@example.test"
    assert int(event["SEQUENCE"]) == 2
    assert str(event["STATUS"]) == ("CANCELLED" if method == "CANCEL" else "CONFIRMED")
    assert "X-WR-CALNAME" not in data.decode()
    assert vobject.readOne(data.decode()).vevent.uid.value == "audit-1@example.test"


def test_invitation_needs_an_organizer_and_a_known_method() -> None:
    with pytest.raises(ValueError, match="ORGANIZER"):
        ics.invitation(_event(organizer=None))
    with pytest.raises(ValueError, match="REQUEST or CANCEL"):
        ics.invitation(_event(), "PUBLISH")  # type: ignore[arg-type]
