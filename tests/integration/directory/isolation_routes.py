"""Isolation matrix rows for the directory and reviews routes (public reads, body edits, admin)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from marketplace.core import clock
from tests.factories import ROLE_KEYS
from tests.integration.directory.helpers import FIXED_ENGAGEMENT, REVIEW, accredit, engagement
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


async def _completed(world: Any) -> dict[str, Any]:
    await engagement(world.a.org_id, world.a.body_id, fixed_id=True)
    return {}


async def _review(world: Any) -> dict[str, Any]:
    from marketplace.accounts.sessions import load_principal
    from marketplace.reviews.services import write_review

    engagement_id = await engagement(world.a.org_id, world.a.body_id)
    principal = await load_principal(world.actor("a", "org:owner").user_id)
    assert principal is not None
    review_id = await write_review(
        principal, world.a.body_id, {**REVIEW, "engagement_id": engagement_id}
    )
    return {"review": review_id}


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
    Route("GET", "/api/v1/bodies/{body}/reviews", PUBLIC, other=200, anonymous=200),
    Route(
        "POST",
        "/api/v1/bodies/{body}/reviews",
        {"org:owner": 201, "org:quality_manager": 201, "org:member": 403},
        body={**REVIEW, "engagement_id": str(FIXED_ENGAGEMENT)},
        setup=_completed,
    ),
    Route(
        "POST",
        "/api/v1/reviews/{review}/reply",
        {
            "body:owner": 200,
            "body:scheduler": 200,
            "body:auditor": 403,
            "body:decision_maker": 403,
            "body:finance": 403,
        },
        body={"text": "Thank you."},
        setup=_review,
    ),
    Route(
        "POST",
        "/api/v1/admin/reviews/{review}/hide",
        {},
        body={"reason": "abuse"},
        other=403,
        setup=_review,
    ),
    Route("POST", "/api/v1/admin/reviews/{review}/show", {}, other=403, setup=_review),
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
