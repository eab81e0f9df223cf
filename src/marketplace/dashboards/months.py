"""Month arithmetic of the dashboards' figures: the last months, a month's last day, working days."""

from __future__ import annotations

import datetime as dt

KPI_MONTHS = 12


def month_starts(today: dt.date, months: int = KPI_MONTHS) -> list[dt.date]:
    """First days of the last `months` months, oldest first, ending with the current month."""
    index = today.year * 12 + today.month - 1
    return [dt.date((index - i) // 12, (index - i) % 12 + 1, 1) for i in range(months - 1, -1, -1)]


def month_end(start: dt.date) -> dt.date:
    """The last day of the month that `start` falls in."""
    nxt = dt.date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def month_key(day: dt.date) -> str:
    """`YYYY-MM`, the key the grouped queries answer months by."""
    return day.strftime("%Y-%m")


def working_days(start: dt.date, days: int) -> int:
    """Monday-to-Friday days among the `days` days from `start`."""
    return sum(1 for i in range(days) if (start + dt.timedelta(days=i)).weekday() < 5)
