"""Isolation matrix rows for the directory routes (public reads, body edits, admin)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from marketplace.core import clock
from tests.factories import ROLE_KEYS
from tests.factories.directory import accredit
from tests.integration.isolation_matrix import Route

PUBLIC = {key: 200 for key in ROLE_KEYS}
BODY_EDITORS = {
    "body:owner": 201,
    "body:scheduler": 201,
    "body:auditor": 403,
    "body:decision_maker": 403,
    "body:finance": 403,
}


def _declaration() -> dict[str, Any]:
    return {
        "accreditation_body": "UKAS",
        "number": "9",
        "standard": "ISO 9001:2015",
        "iaf_sectors": [28],
        "valid_until": (clock.today() + dt.timedelta(days=300)).isoformat(),
    }


async def _other_body(world: Any) -> dict[str, Any]:
    return {"body2": world.b.body_id}


async def _pending(world: Any) -> dict[str, Any]:
    return {"accreditation": await accredit(world.a.body_id, status="pending")}


ROUTES: list[Route] = [
    Route(
        "GET",
        "/api/v1/bodies?standard=ISO%209001:2015&iaf_sector=28",
        PUBLIC,
        other=200,
        anonymous=200,
    ),
    Route("GET", "/api/v1/bodies/{body}", PUBLIC, other=200, anonymous=200),
    Route(
        "GET",
        "/api/v1/bodies/compare?ids={body},{body2}",
        PUBLIC,
        other=200,
        anonymous=200,
        setup=_other_body,
    ),
    Route(
        "GET",
        "/api/v1/bodies/compare?ids={body},{body2}&organisation={org}",
        {"org:owner": 200, "org:quality_manager": 200, "org:member": 200},
        setup=_other_body,
        note="the organisation must be the caller's own",
    ),
    Route(
        "POST",
        "/api/v1/bodies/{body}/accreditations",
        BODY_EDITORS,
        body=_declaration,
    ),
    Route(
        "PUT",
        "/api/v1/bodies/{body}/sectors-of-experience",
        {k: 200 if v == 201 else v for k, v in BODY_EDITORS.items()},
        body=lambda: [{"iaf_sector": 28, "clients_certified": 3}],
    ),
    Route("GET", "/api/v1/admin/accreditations", {}, other=403),
    Route(
        "POST", "/api/v1/admin/accreditations/{accreditation}/verify", {}, other=403, setup=_pending
    ),
    Route(
        "POST", "/api/v1/admin/accreditations/{accreditation}/reject", {}, other=403, setup=_pending
    ),
    Route(
        "POST",
        "/api/v1/admin/accreditations/{accreditation}/suspend",
        {},
        other=403,
        setup=_pending,
    ),
    # Pages: public ones answer everyone; the admin queue is platform administrators only.
    Route("GET", "/bodies", PUBLIC, other=200, anonymous=200),
    Route("GET", "/bodies/{body}", PUBLIC, other=200, anonymous=200),
    Route(
        "GET",
        "/bodies/compare?ids={body}&ids={body2}",
        PUBLIC,
        other=200,
        anonymous=200,
        setup=_other_body,
    ),
    Route("GET", "/admin/accreditations", {}, other=403, anonymous=302),
]
