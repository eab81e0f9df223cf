"""Booking time spans without the database: local times to UTC, working-day slots, busy time."""

from __future__ import annotations

import bisect
import datetime as dt
import zoneinfo
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from marketplace.core.errors import Invalid

# Audits are planned to the minute; whole minutes also keep SQLite's text timestamps ordered.
WORKDAY_START = dt.time(9, 0)
WORKDAY_END = dt.time(17, 0)
MAX_AUDIT_DAYS = 31
MIN_YEAR, MAX_YEAR = 2000, 2100


def zone(name: str, field_name: str = "time_zone") -> zoneinfo.ZoneInfo:
    """The IANA zone called ``name``, or a 422 naming the field."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise Invalid.field(field_name, f"{name!r} is not an IANA time zone.") from None


def to_utc(value: dt.datetime, tz: zoneinfo.ZoneInfo, field_name: str) -> dt.datetime:
    """An aware UTC instant, whole minutes; a naive value is read as wall time in ``tz``.

    A wall time that does not exist (skipped by a DST change) is refused rather than guessed.
    """
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        # Far-off years are typing mistakes, and near datetime's limits zone arithmetic overflows.
        raise Invalid.field(field_name, f"Choose a year between {MIN_YEAR} and {MAX_YEAR}.")
    if value.tzinfo is None:
        local = value.replace(tzinfo=tz)
        round_trip = local.astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None)
        if round_trip != value:
            raise Invalid.field(
                field_name, f"{value:%Y-%m-%d %H:%M} does not exist in {tz.key} (clock change)."
            )
        value = local
    return value.astimezone(dt.UTC).replace(second=0, microsecond=0)


def checked_span(
    starts_at: dt.datetime, ends_at: dt.datetime, tz: zoneinfo.ZoneInfo
) -> tuple[dt.datetime, dt.datetime]:
    """Start and end in UTC, end after start, no longer than ``MAX_AUDIT_DAYS``."""
    start = to_utc(starts_at, tz, "starts_at")
    end = to_utc(ends_at, tz, "ends_at")
    if end <= start:
        raise Invalid.field("ends_at", "The end must be after the start.")
    if end - start > dt.timedelta(days=MAX_AUDIT_DAYS):
        raise Invalid.field("ends_at", f"An audit lasts at most {MAX_AUDIT_DAYS} days.")
    return start, end


def local_dates(
    start: dt.datetime, end: dt.datetime, tz: zoneinfo.ZoneInfo
) -> tuple[dt.date, dt.date]:
    """First and last calendar day, in ``tz``, that a half-open span [start, end) touches."""
    last = (end - dt.timedelta(microseconds=1)).astimezone(tz).date()
    return start.astimezone(tz).date(), last


def working_days(first: dt.date) -> Iterator[dt.date]:
    """Monday to Friday from ``first`` on."""
    day = first
    while True:
        if day.weekday() < 5:
            yield day
        day += dt.timedelta(days=1)


def slot_span(
    first_day: dt.date, days: int, tz: zoneinfo.ZoneInfo
) -> tuple[dt.datetime, dt.datetime, dt.date]:
    """A slot of ``days`` working days from ``first_day``: 09:00 on the first to 17:00 on the last."""
    days_iter = working_days(first_day)
    last_day = first_day
    for _ in range(days):
        last_day = next(days_iter)
    start = dt.datetime.combine(first_day, WORKDAY_START, tzinfo=tz).astimezone(dt.UTC)
    end = dt.datetime.combine(last_day, WORKDAY_END, tzinfo=tz).astimezone(dt.UTC)
    return start, end, last_day


# Datetimes, or POSIX seconds where a caller loads many intervals (cheaper to fetch and compare).
Instant = TypeVar("Instant", dt.datetime, float)


@dataclass
class BusyCalendar(Generic[Instant]):
    """One auditor's busy time as merged, sorted, disjoint half-open intervals."""

    starts: list[Instant] = field(default_factory=list)
    ends: list[Instant] = field(default_factory=list)

    @classmethod
    def of(cls, intervals: Iterable[tuple[Instant, Instant]]) -> BusyCalendar[Instant]:
        cal: BusyCalendar[Instant] = cls()
        for s, e in sorted(intervals):
            if cal.ends and s <= cal.ends[-1]:
                cal.ends[-1] = max(cal.ends[-1], e)
            else:
                cal.starts.append(s)
                cal.ends.append(e)
        return cal

    def is_free(self, start: Instant, end: Instant) -> bool:
        # The last interval starting before `end` is the only one that can reach into the span.
        i = bisect.bisect_left(self.starts, end) - 1
        return i < 0 or self.ends[i] <= start
