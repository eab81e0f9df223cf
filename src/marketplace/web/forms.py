"""Helpers for HTML forms: read a urlencoded body, turn domain errors into field messages."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec
from litestar import Request

from marketplace.core.errors import DomainError, Invalid


async def form_data(request: Request[Any, Any, Any]) -> dict[str, Any]:
    form = await request.form()
    data: dict[str, Any] = {}
    for key in form:
        values = form.getall(key)
        data[key] = values if len(values) > 1 else values[0]
    data.pop("_csrf_token", None)
    return data


def blank_to_none(data: dict[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """The form with each of `names` posted empty read as null (an emptied date or choice clears it)."""
    clear = set(names)
    return {k: (None if k in clear and v == "" else v) for k, v in data.items()}


def as_list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def convert(data: dict[str, Any], kind: type[Any]) -> Any:
    """Validate form input with the same msgspec schema the API uses; field errors become Invalid."""
    try:
        return msgspec.convert(data, kind, strict=False)
    except msgspec.ValidationError as exc:
        message = str(exc)
        field = "form"
        if "$." in message:
            field = message.split("$.", 1)[1].split("`", 1)[0].split("[", 1)[0]
        raise Invalid(
            message, errors=[{"field": field, "message": message.split(" - at ")[0]}]
        ) from exc


def errors_by_field(exc: DomainError) -> dict[str, str]:
    if exc.errors:
        return {e["field"]: e["message"] for e in exc.errors}
    return {"form": exc.detail}
