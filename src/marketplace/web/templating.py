"""Template globals and filters: money in minor units, dates in the viewer's zone, the current caller."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal
from typing import Any

from jinja2 import Environment

from marketplace.settings import Settings

# ISO 4217 currencies with other than two decimals that the platform is likely to meet.
_EXPONENT = {"JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3, "OMR": 3, "TND": 3}


def money(minor: int | None, currency: str = "EUR") -> str:
    if minor is None:
        return "—"
    exp = _EXPONENT.get(currency.upper(), 2)
    amount = Decimal(minor).scaleb(-exp)
    return f"{amount:,.{exp}f} {currency.upper()}"


def local_time(value: dt.datetime | None, tz: str = "UTC", fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return "—"
    try:
        zone = zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(zone).strftime(fmt) + f" {zone.key}"


def principal_of(request: Any) -> Any:
    return request.scope.get("principal") if request is not None else None


def configure_environment(env: Environment, settings: Settings) -> None:
    env.globals["base_url"] = settings.app.base_url
    env.globals["principal_of"] = principal_of
    env.filters["money"] = money
    env.filters["local_time"] = local_time
    env.autoescape = True
