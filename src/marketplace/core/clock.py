"""The platform's clock: aware UTC datetimes only, and one place tests can move time."""

from __future__ import annotations

import datetime as dt

_offset = dt.timedelta(0)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC) + _offset


def today() -> dt.date:
    return now().date()


def travel_to(moment: dt.datetime) -> None:
    """Move the clock (tests and demos only); time keeps running from there."""
    global _offset
    if moment.tzinfo is None:
        raise ValueError("travel_to needs an aware datetime")
    _offset = moment - dt.datetime.now(dt.UTC)


def reset() -> None:
    global _offset
    _offset = dt.timedelta(0)
