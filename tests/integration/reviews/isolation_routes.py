"""Isolation matrix rows for the reviews routes (public reads, the client's review, replies, moderation)."""

from __future__ import annotations

from typing import Any

from tests.factories import ROLE_KEYS
from tests.factories.reviews import REVIEW, review
from tests.factories.scheduling import FIXED_ENGAGEMENT, engagement
from tests.integration.isolation_matrix import Route

PUBLIC = {key: 200 for key in ROLE_KEYS}


async def _completed(world: Any) -> dict[str, Any]:
    await engagement(world.a.org_id, world.a.body_id, held=2, engagement_id=FIXED_ENGAGEMENT)
    return {}


async def _review(world: Any) -> dict[str, Any]:
    started = await engagement(world.a.org_id, world.a.body_id, held=2)
    author = world.actor("a", "org:owner").user_id
    return {"review": await review(author, world.a.body_id, started.engagement_id)}


ROUTES: list[Route] = [
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
]
