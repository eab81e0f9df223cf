"""Isolation rows for every certificates route; public verification answers everyone alike."""

from __future__ import annotations

from typing import Any

from marketplace.certificates.status import suspend
from tests.factories import ROLE_KEYS
from tests.factories.certificates import granted, ready_cycle
from tests.integration.isolation_matrix import BODY_ALL, ORG_ALL, Route

DECIDERS = {
    "body:owner": 200,
    "body:decision_maker": 200,
    "body:scheduler": 403,
    "body:auditor": 403,
    "body:finance": 403,
}
ORG_403 = {"org:owner": 403, "org:quality_manager": 403, "org:member": 403}
EVERYONE = {key: 200 for key in ROLE_KEYS}


async def _ready(world: Any) -> dict[str, Any]:
    made = await ready_cycle(world.a.org_id, world.a.body_id)
    return {"cycle": made.cycle_id}


async def _granted(world: Any) -> dict[str, Any]:
    _made, number = await granted(world.a.org_id, world.a.body_id)
    return {"number": number}


async def _suspended(world: Any) -> dict[str, Any]:
    ids = await _granted(world)
    await suspend(None, ids["number"], "Surveillance missed")
    return ids


ROUTES: list[Route] = [
    Route(
        "POST",
        "/api/v1/cycles/{cycle}/decision",
        {**{k: 201 if v == 200 else v for k, v in DECIDERS.items()}, **ORG_403},
        body={"decision": "grant", "scope": "Precision parts"},
        setup=_ready,
    ),
    Route(
        "GET", "/api/v1/certificates/{number}", EVERYONE, other=200, anonymous=200, setup=_granted
    ),
    Route("GET", "/api/v1/certificates/{number}/manage", {**ORG_ALL, **BODY_ALL}, setup=_granted),
    Route(
        "POST",
        "/api/v1/certificates/{number}/suspend",
        DECIDERS,
        body={"reason": "Missed"},
        setup=_granted,
    ),
    Route(
        "POST",
        "/api/v1/certificates/{number}/withdraw",
        DECIDERS,
        body={"reason": "Closed"},
        setup=_granted,
    ),
    Route(
        "POST",
        "/api/v1/certificates/{number}/restore",
        DECIDERS,
        body={"reason": "Held"},
        setup=_suspended,
    ),
    Route("GET", "/certificates/{number}", EVERYONE, other=200, anonymous=200, setup=_granted),
    Route("GET", "/cycles/{cycle}/decision", {**ORG_ALL, **BODY_ALL}, anonymous=302, setup=_ready),
    Route("GET", "/api/v1/bodies/{body}/certificates", BODY_ALL, setup=_granted),
    Route("GET", "/manage/bodies/{body}/certificates", BODY_ALL, anonymous=302, setup=_granted),
]
