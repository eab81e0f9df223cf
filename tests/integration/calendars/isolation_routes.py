"""Isolation matrix rows for calendar routes (collected by tests/integration/isolation_matrix.py)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from marketplace.calendars.tables import CalendarFeed
from tests.factories import ROLE_KEYS
from tests.integration.calendars import feed_rows as h
from tests.integration.isolation_matrix import BODY_ALL, ORG_ALL, Route

EVERYONE = dict.fromkeys(ROLE_KEYS, 200)
# A route body cannot see the world; setup runs first and leaves tenant a's ids here for it.
_ids: dict[str, Any] = {}


async def _tenant_ids(world: Any) -> dict[str, Any]:
    _ids.update(org=str(world.a.org_id), body=str(world.a.body_id))
    return {}


async def _owners_feed(world: Any) -> dict[str, Any]:
    secret = secrets.token_urlsafe(32)
    feed = CalendarFeed(
        owner=world.actor("a", "org:owner").user_id,
        scope="organisation",
        scope_id=world.a.org_id,
        token_hash=hashlib.sha256(secret.encode()).hexdigest(),
    )
    await feed.save().run()
    return {"feed": feed.id}


async def _audit(world: Any) -> dict[str, Any]:
    cycle = await h.cycle(world.a.org_id, world.a.body_id)
    start = dt.datetime(2027, 4, 5, 8, tzinfo=dt.UTC)
    audit_id = await h.audit(cycle, starts_at=start, ends_at=start + dt.timedelta(hours=8))
    return {"audit": audit_id}


ROUTES: list[Route] = [
    # Everyone signed in has their own (possibly empty) list.
    Route("GET", "/api/v1/calendar-feeds", EVERYONE, other=200),
    Route(
        "POST",
        "/api/v1/calendar-feeds",
        dict.fromkeys(ORG_ALL, 201),
        body=lambda: {"scope": "organisation", "scope_id": _ids["org"]},
        setup=_tenant_ids,
        note="a feed of an organisation needs membership of it",
    ),
    Route(
        "POST",
        "/api/v1/calendar-feeds",
        dict.fromkeys(BODY_ALL, 201),
        body=lambda: {"scope": "body", "scope_id": _ids["body"]},
        setup=_tenant_ids,
    ),
    Route(
        "DELETE",
        "/api/v1/calendar-feeds/{feed}",
        {"org:owner": 204},
        setup=_owners_feed,
        note="only the feed's owner may revoke it",
    ),
    Route("GET", "/api/v1/audits/{audit}/ics", {**ORG_ALL, **BODY_ALL}, setup=_audit),
    Route("GET", "/calendars", EVERYONE, other=200, anonymous=302),
    Route(
        "GET", "/audits/{audit}/calendar.ics", {**ORG_ALL, **BODY_ALL}, anonymous=302, setup=_audit
    ),
]
