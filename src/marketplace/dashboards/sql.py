"""SQL pieces the dashboards' grouped queries share, in each engine's dialect."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from marketplace.core import db
from marketplace.scheduling.tables import Engagement

ROW_LIMIT = 200  # every row list of a dashboard is bounded
NO_ID = uuid.UUID(int=0)  # stands in for an empty IN list, which not every engine accepts


def table(t: Any) -> str:
    """The table's name in SQL."""
    return str(t._meta.tablename)


def as_date(value: Any) -> dt.date | None:
    """Raw SQLite answers dates of derived columns as text; PostgreSQL as dates."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def month_of(column: str) -> str:
    """`YYYY-MM` of a date or timestamp column, in each engine's dialect (UTC as stored)."""
    if db.is_postgres():
        return f"to_char({column}, 'YYYY-MM')"
    return f"substr({column}, 1, 7)"


def days_between(later: str, earlier: str) -> str:
    """Whole days from `earlier` to `later` (dates or timestamps), in each engine's dialect."""
    if db.is_postgres():
        return f"(CAST({later} AS date) - CAST({earlier} AS date))"
    return f"(julianday(substr({later}, 1, 10)) - julianday(substr({earlier}, 1, 10)))"


async def raw(sql: str, *args: Any) -> list[dict[str, Any]]:
    """Rows of a raw query with `{}` placeholders."""
    rows: list[dict[str, Any]] = await Engagement.raw(sql, *args).run()
    return rows
