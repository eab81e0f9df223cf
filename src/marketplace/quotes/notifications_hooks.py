"""E-mails of the quote workflow: a body hears of a new request, a client of a new quote."""

from __future__ import annotations

import uuid

from marketplace.accounts.names import body_name
from marketplace.accounts.roles import TenantKind
from marketplace.core.activity import ActionEntry, on_action
from marketplace.notifications.services import members_with_roles, notify
from marketplace.quotes.tables import Quote, QuoteRequest
from marketplace.web.templating import money

BODY_RECIPIENTS = ("owner", "scheduler")
CLIENT_RECIPIENTS = ("owner", "quality_manager")


async def _request_received(entry: ActionEntry) -> None:
    # Logged once per recipient body, inside create_request's transaction.
    if entry.tenant is None or entry.tenant.kind != TenantKind.body:
        return
    body_id = entry.tenant.id
    await notify(
        "quote_request_received",
        user_ids=await members_with_roles(TenantKind.body, body_id, BODY_RECIPIENTS),
        data={
            "request_id": entry.entity_id,
            "organisation": entry.data.get("organisation", ""),
            "standard": entry.data.get("standard", ""),
            "body_name": await body_name(body_id),
            "path": f"/manage/bodies/{body_id}/quote-requests/{entry.entity_id}",
        },
    )


async def _quote_submitted(entry: ActionEntry) -> None:
    # Logged for both parties; the client's entry is the one that becomes an e-mail.
    if entry.tenant is None or entry.tenant.kind != TenantKind.organisation:
        return
    request_id = uuid.UUID(str(entry.data["request_id"]))
    req = (
        await QuoteRequest.select(QuoteRequest.standard)
        .where(QuoteRequest.id == request_id)
        .first()
        .run()
    )
    body = await _body_of_quote(uuid.UUID(entry.entity_id))
    await notify(
        "quote_received",
        user_ids=await members_with_roles(
            TenantKind.organisation, entry.tenant.id, CLIENT_RECIPIENTS
        ),
        data={
            "quote_id": entry.entity_id,
            "request_id": str(request_id),
            "standard": req["standard"] if req else "",
            "body_name": body,
            "total": money(entry.data.get("total_minor"), str(entry.data.get("currency", "EUR"))),
            "quoted_days": entry.data.get("quoted_days"),
            "baseline_days": entry.data.get("baseline_days"),
            "below_baseline": bool(entry.data.get("below_baseline")),
            "path": f"/quote-requests/{request_id}",
        },
    )


async def _body_of_quote(quote_id: uuid.UUID) -> str:
    row = (
        await Quote.select(Quote.body._.name.as_alias("name"))
        .where(Quote.id == quote_id)
        .first()
        .run()
    )
    return str(row["name"]) if row else ""


def install() -> None:
    on_action("marketplace.quote_request.received", _request_received)
    on_action("marketplace.quote.submitted", _quote_submitted)
