"""Reading the values quote services are handed: text without NUL, ids, dates, bounded numbers."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from marketplace.core.errors import Invalid


def clean_text(value: Any, field: str) -> str:
    """Stripped text; a NUL character (which PostgreSQL cannot store) is a field error, not a 500."""
    text = str(value or "").strip()
    if "\x00" in text:
        raise Invalid.field(field, "Remove the NUL character from this text.")
    return text


def check_int(field: str, value: int, low: int, high: int, what: str) -> None:
    if not low <= value <= high:
        raise Invalid.field(field, f"{what} must be between {low} and {high}.")


def as_uuid(value: Any, field: str) -> uuid.UUID:
    # Schemas hand over builtins (msgspec.to_builtins turns UUIDs and dates into strings).
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise Invalid.field(field, f"{value!r} is not a valid id.") from None


def as_date(value: Any, field: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise Invalid.field(field, "Give a date as YYYY-MM-DD.") from None
