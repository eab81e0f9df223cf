"""Builders of quotes' things: a request from tenant a's organisation, quotes from any body."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from marketplace.core import clock
from marketplace.quotes.offers import submit_quote
from marketplace.quotes.requests import create_request
from tests.factories import World

KINDS = ("stage1", "stage2", "surveillance1", "surveillance2", "recertification")
# A 50-person ISO 9001 client: table 5 days, minimum 3.5 (IAF MD 5 QMS band 46 to 65).
FULL_DAYS = {
    "stage1": 1.5,
    "stage2": 3.5,
    "surveillance1": 1.5,
    "surveillance2": 1.5,
    "recertification": 3.5,
}


def lines(
    days: dict[str, float] | None = None, rate: int = 100_000, fees: int = 0, travel: int = 0
) -> list[dict[str, Any]]:
    chosen = {**FULL_DAYS, **(days or {})}
    return [
        {
            "audit_kind": k,
            "auditor_days": chosen[k],
            "day_rate_minor": rate,
            "fees_minor": fees,
            "travel_minor": travel,
        }
        for k in KINDS
    ]


def quote_payload(body_id: uuid.UUID, **kw: Any) -> dict[str, Any]:
    valid = kw.pop("valid_until", clock.today() + dt.timedelta(days=30))
    return {
        "body_id": str(body_id),
        "currency": kw.pop("currency", "GBP"),
        "valid_until": valid.isoformat() if isinstance(valid, dt.date) else valid,
        "lines": kw.pop("lines", lines()),
        **kw,
    }


async def make_request(world: World, bodies: list[uuid.UUID] | None = None, **kw: Any) -> uuid.UUID:
    data = {
        "organisation_id": world.a.org_id,
        "standard": "ISO 9001:2015",
        "body_ids": bodies if bodies is not None else [world.a.body_id],
        **kw,
    }
    return await create_request(world.actor("a", "org:owner").user_id, data)


async def make_quote(
    world: World,
    request_id: uuid.UUID,
    body_id: uuid.UUID | None = None,
    days: dict[str, float] | None = None,
    valid_until: dt.date | None = None,
) -> uuid.UUID:
    body_id = body_id or world.a.body_id
    result = await submit_quote(
        world.actor("a", "body:owner").user_id,
        request_id,
        {
            "body_id": body_id,
            "currency": "GBP",
            "valid_until": valid_until or clock.today() + dt.timedelta(days=30),
            "lines": lines(days),
        },
    )
    quote_id: uuid.UUID = result["id"]
    return quote_id
