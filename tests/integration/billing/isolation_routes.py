"""Isolation rows for every billing route: an engagement in tenant a with a draft and an open invoice."""

from __future__ import annotations

from typing import Any

from tests.factories.billing import LINES, draft_invoice, issued_invoice
from tests.factories.scheduling import engagement
from tests.integration.isolation_matrix import ORG_ALL, Route

# Filled by each setup so that request bodies (built after it) can name the objects it made.
_MADE: dict[str, Any] = {}

BILLERS = {
    "body:owner": 200,
    "body:finance": 200,
    "body:scheduler": 403,
    "body:auditor": 403,
    "body:decision_maker": 403,
}
CLIENTS_403 = {"org:owner": 403, "org:quality_manager": 403, "org:member": 403}
BODY_403 = {k: 403 for k in BILLERS}


async def _setup(world: Any) -> dict[str, Any]:
    started = await engagement(world.a.org_id, world.a.body_id)
    draft_id = await draft_invoice(world.a.org_id, world.a.body_id, started.engagement_id)
    open_id = await issued_invoice(world.a.org_id, world.a.body_id, started.engagement_id)
    _MADE.update(engagement=started.engagement_id)
    return {"draft": draft_id, "invoice": open_id}


def _new_invoice() -> dict[str, Any]:
    return {"engagement_id": str(_MADE["engagement"]), "currency": "GBP", "lines": LINES}


ROUTES: list[Route] = [
    # Only the body's finance staff and owners draft; the client is not in the body (404).
    Route(
        "POST",
        "/api/v1/invoices",
        {
            "body:owner": 201,
            "body:finance": 201,
            **{k: v for k, v in BODY_403.items() if k not in {"body:owner", "body:finance"}},
        },
        body=_new_invoice,
        setup=_setup,
    ),
    # A draft is the body's working copy: the client cannot tell it exists.
    Route("GET", "/api/v1/invoices/{draft}", BILLERS, setup=_setup),
    Route("POST", "/api/v1/invoices/{draft}/issue", BILLERS, setup=_setup),
    # An issued invoice: both parties read it; only finance and owners void it.
    Route("GET", "/api/v1/invoices/{invoice}", {**BILLERS, **ORG_ALL}, setup=_setup),
    Route(
        "POST",
        "/api/v1/invoices/{invoice}/void",
        {**BILLERS, **CLIENTS_403},
        body={"reason": "wrong rate"},
        setup=_setup,
    ),
    Route(
        "POST",
        "/api/v1/invoices/{invoice}/issue",
        {**{k: 409 if v == 200 else v for k, v in BILLERS.items()}, **CLIENTS_403},
        setup=_setup,
        note="already issued: billers get 409, everyone else is refused first",
    ),
    # The client pays; the matrix app has no Stripe keys, so the client is told it is off (503).
    Route(
        "POST",
        "/api/v1/invoices/{invoice}/payment",
        {"org:owner": 503, "org:quality_manager": 503, "org:member": 503, **BODY_403},
        setup=_setup,
    ),
    # Refunding an overpayment is the body's finance work; without Stripe keys billers hear 503.
    Route(
        "POST",
        "/api/v1/invoices/{invoice}/refund-overpayment",
        {**{k: 503 if v == 200 else v for k, v in BILLERS.items()}, **CLIENTS_403},
        setup=_setup,
    ),
    Route("GET", "/api/v1/bodies/{body}/invoices", BILLERS),
    Route("GET", "/api/v1/organisations/{org}/invoices", ORG_ALL),
    # Stripe's webhook authenticates by signature only; without a secret it refuses everyone.
    Route("POST", "/webhooks/stripe", {}, body={}, other=400, anonymous=400),
    # Pages follow the same rules; anonymous browsers are sent to the login page. Their form
    # posts run the same checks as the API rows above (and need a CSRF token besides).
    Route("GET", "/invoices", {}, other=200, anonymous=302, note="each caller's own invoices"),
    Route("GET", "/manage/bodies/{body}/invoices", BILLERS, anonymous=302),
    Route("GET", "/organisations/{org}/invoices", ORG_ALL, anonymous=302),
    Route("GET", "/invoices/{invoice}", {**BILLERS, **ORG_ALL}, anonymous=302, setup=_setup),
    Route("GET", "/invoices/{draft}", BILLERS, anonymous=302, setup=_setup),
    Route("GET", "/billing/pay.js", {}, other=200, anonymous=302),
]
