"""Isolation rows for every quotes route: a client never sees another client's request, a body never another body's quote."""

from __future__ import annotations

from typing import Any

from tests.factories import World
from tests.factories.quotes import make_quote, make_request, quote_payload
from tests.integration.isolation_matrix import ORG_ALL, Route

# The setups below create what a route needs inside tenant a and remember the ids here, so a
# JSON body (built after the setup runs) can name tenant a's organisation or body.
_ids: dict[str, Any] = {}

HANDLERS = {
    "body:owner": 200,
    "body:scheduler": 200,
    "body:auditor": 403,
    "body:decision_maker": 403,
    "body:finance": 403,
}
REQUESTERS_201 = {"org:owner": 201, "org:quality_manager": 201, "org:member": 403}


async def _tenant_a(world: World) -> dict[str, Any]:
    _ids.update(org=world.a.org_id, body=world.a.body_id)
    return {}


async def _request(world: World) -> dict[str, Any]:
    await _tenant_a(world)
    return {"request": await make_request(world)}


async def _quote(world: World) -> dict[str, Any]:
    ids = await _request(world)
    return {**ids, "quote": await make_quote(world, ids["request"])}


def _new_request() -> dict[str, Any]:
    return {
        "organisation_id": str(_ids["org"]),
        "standard": "ISO 9001:2015",
        "body_ids": [str(_ids["body"])],
    }


def _new_quote() -> dict[str, Any]:
    return quote_payload(_ids["body"])


def _decline() -> dict[str, Any]:
    return {"body_id": str(_ids["body"]), "reason": "Fully booked."}


AUDIT_TIME = "/api/v1/audit-time?standard=ISO%209001:2015&effective_personnel=50"

ROUTES: list[Route] = [
    Route("GET", AUDIT_TIME, {}, other=200, anonymous=200, note="public estimate"),
    Route(
        "GET",
        "/audit-time?standard=ISO%209001:2015&effective_personnel=50",
        {},
        other=200,
        anonymous=200,
    ),
    Route("POST", "/api/v1/quote-requests", REQUESTERS_201, body=_new_request, setup=_tenant_a),
    Route("GET", "/api/v1/quote-requests/{request}", {**ORG_ALL, **HANDLERS}, setup=_request),
    Route("GET", "/api/v1/organisations/{org}/quote-requests", ORG_ALL),
    Route("GET", "/api/v1/bodies/{body}/quote-requests", HANDLERS),
    Route(
        "POST",
        "/api/v1/quote-requests/{request}/quotes",
        {k: 201 if v == 200 else v for k, v in HANDLERS.items()},
        body=_new_quote,
        setup=_request,
    ),
    Route(
        "POST",
        "/api/v1/quote-requests/{request}/decline",
        HANDLERS,
        body=_decline,
        setup=_request,
    ),
    Route("POST", "/api/v1/quotes/{quote}/accept", REQUESTERS_201, setup=_quote),
    Route(
        "POST",
        "/api/v1/quote-requests/{request}/withdraw",
        {"org:owner": 200, "org:quality_manager": 200, "org:member": 403},
        setup=_request,
    ),
    # Pages: signed-out browsers go to /login; a body opening the client's URL is sent to its own view.
    Route("GET", "/quote-requests", {}, other=200, anonymous=302),
    Route(
        "GET",
        "/quote-requests/new?organisation={org}",
        {"org:owner": 200, "org:quality_manager": 200, "org:member": 403},
        anonymous=302,
    ),
    Route(
        "GET",
        "/quote-requests/{request}",
        {**ORG_ALL, **{k: 302 if v == 200 else v for k, v in HANDLERS.items()}},
        anonymous=302,
        setup=_request,
    ),
    Route("GET", "/manage/bodies/{body}/quote-requests", HANDLERS, anonymous=302),
    Route(
        "GET",
        "/manage/bodies/{body}/quote-requests/{request}",
        HANDLERS,
        anonymous=302,
        setup=_request,
    ),
]
