"""Unit tests for booking arithmetic: wall times across DST changes, working-day slots, busy time."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from marketplace.core.errors import Invalid
from marketplace.rules.cycle import AuditKind, Window, initial_windows, window_state
from marketplace.scheduling.spans import (
    BusyCalendar,
    checked_span,
    local_dates,
    slot_span,
    to_utc,
    zone,
)

LONDON = zoneinfo.ZoneInfo("Europe/London")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("tz", "wall", "expected"),
    [
        (LONDON, "2027-03-26T09:00", "2027-03-26T09:00"),  # GMT
        (LONDON, "2027-03-29T09:00", "2027-03-29T08:00"),  # BST after 2027-03-28
        (LONDON, "2027-10-29T09:00", "2027-10-29T08:00"),  # BST before 2027-10-31
        (LONDON, "2027-11-01T09:00", "2027-11-01T09:00"),
        (NEW_YORK, "2027-03-12T09:00", "2027-03-12T14:00"),  # EST before 2027-03-14
        (NEW_YORK, "2027-03-15T09:00", "2027-03-15T13:00"),  # EDT
        (NEW_YORK, "2027-11-08T09:00", "2027-11-08T14:00"),  # EST after 2027-11-07
    ],
)
def test_wall_time_in_the_sites_zone_becomes_the_right_utc(
    tz: zoneinfo.ZoneInfo, wall: str, expected: str
) -> None:
    assert to_utc(dt.datetime.fromisoformat(wall), tz, "starts_at") == utc(expected)


def test_an_offset_wins_over_the_zone_and_seconds_are_dropped() -> None:
    value = dt.datetime.fromisoformat("2027-03-29T09:00:42.5+01:00")
    assert to_utc(value, NEW_YORK, "starts_at") == utc("2027-03-29T08:00")


@pytest.mark.parametrize(
    ("tz", "wall"), [(LONDON, "2027-03-28T01:30"), (NEW_YORK, "2027-03-14T02:30")]
)
def test_a_wall_time_skipped_by_the_clock_change_is_refused(
    tz: zoneinfo.ZoneInfo, wall: str
) -> None:
    with pytest.raises(Invalid) as exc:
        to_utc(dt.datetime.fromisoformat(wall), tz, "starts_at")
    assert exc.value.errors[0]["field"] == "starts_at"


def test_the_repeated_hour_in_autumn_takes_the_first_occurrence() -> None:
    assert to_utc(dt.datetime(2027, 10, 31, 1, 30), LONDON, "starts_at") == utc("2027-10-31T00:30")


def test_span_rules() -> None:
    start = dt.datetime(2027, 3, 1, 9, tzinfo=dt.UTC)
    with pytest.raises(Invalid):
        checked_span(start, start, LONDON)
    with pytest.raises(Invalid):
        checked_span(start, start + dt.timedelta(days=32), LONDON)
    assert checked_span(start, start + dt.timedelta(days=3), LONDON)[1] == utc("2027-03-04T09:00")


def test_unknown_zone_is_a_field_error() -> None:
    with pytest.raises(Invalid) as exc:
        zone("Mars/Olympus")
    assert exc.value.errors[0]["field"] == "time_zone"


def test_local_dates_treat_the_end_as_exclusive() -> None:
    # Ends at local midnight: the last day touched is the day before.
    start, end = utc("2027-03-28T23:00"), utc("2027-03-30T23:00")
    assert local_dates(start, end, LONDON) == (dt.date(2027, 3, 29), dt.date(2027, 3, 30))


def test_a_two_day_slot_from_friday_runs_to_monday_across_the_uk_clock_change() -> None:
    start, end, last = slot_span(dt.date(2027, 3, 26), 2, LONDON)
    assert (start, end, last) == (
        utc("2027-03-26T09:00"),
        utc("2027-03-29T16:00"),
        dt.date(2027, 3, 29),
    )


def test_busy_calendar_merges_and_answers_half_open_overlaps() -> None:
    cal = BusyCalendar.of(
        [
            (utc("2027-03-02T09:00"), utc("2027-03-02T17:00")),
            (utc("2027-03-02T12:00"), utc("2027-03-03T12:00")),
            (utc("2027-03-10T09:00"), utc("2027-03-10T10:00")),
        ]
    )
    assert cal.starts == [utc("2027-03-02T09:00"), utc("2027-03-10T09:00")]
    assert not cal.is_free(utc("2027-03-03T11:00"), utc("2027-03-03T13:00"))
    assert cal.is_free(utc("2027-03-03T12:00"), utc("2027-03-03T13:00"))  # back to back
    assert cal.is_free(utc("2027-03-01T09:00"), utc("2027-03-02T09:00"))
    assert not cal.is_free(utc("2027-03-01T09:00"), utc("2027-03-20T09:00"))
    assert BusyCalendar().is_free(utc("2027-03-01T09:00"), utc("2027-03-02T09:00"))


class TestWindowsAroundMonthEndsAndLeapYears:
    def test_stage1_from_the_last_day_of_january_in_a_leap_year(self) -> None:
        assert initial_windows(dt.date(2028, 1, 31))[AuditKind.stage1] == Window(
            dt.date(2028, 1, 31), dt.date(2028, 4, 30)
        )

    def test_stage2_after_a_stage1_ending_on_aug_31_is_due_on_leap_day(self) -> None:
        windows = initial_windows(dt.date(2027, 8, 1), stage1_end=dt.date(2027, 8, 31))
        assert windows[AuditKind.stage2] == Window(dt.date(2027, 9, 1), dt.date(2028, 2, 29))

    def test_stage2_after_a_stage1_ending_on_dec_31_is_due_on_jun_30(self) -> None:
        windows = initial_windows(dt.date(2026, 12, 1), stage1_end=dt.date(2026, 12, 31))
        assert windows[AuditKind.stage2] == Window(dt.date(2027, 1, 1), dt.date(2027, 6, 30))

    def test_due_soon_and_overdue_across_a_leap_day(self) -> None:
        window = Window(dt.date(2028, 1, 1), dt.date(2028, 2, 29))
        assert window_state(window, dt.date(2028, 1, 30)).value == "due_soon"
        assert window_state(window, dt.date(2028, 1, 29)).value == "open"
        assert window_state(window, dt.date(2028, 3, 1)).value == "overdue"


@pytest.mark.parametrize("text", ["9999-12-31T23:30:00-05:00", "0001-01-01T00:10:00+01:00"])
def test_years_near_the_calendar_limits_are_field_errors_not_crashes(text: str) -> None:
    with pytest.raises(Invalid):
        to_utc(dt.datetime.fromisoformat(text), LONDON, "starts_at")
