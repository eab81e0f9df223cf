"""The client's decision: accept one quote (the engagement starts) or withdraw the request."""

from __future__ import annotations

import uuid
from typing import Any

from marketplace.core import clock
from marketplace.core.activity import Tenant, log_action
from marketplace.core.db import write_transaction
from marketplace.core.errors import Conflict
from marketplace.quotes.requests import get_quote_row, get_request_row, is_expired
from marketplace.quotes.tables import Quote, QuoteLine, QuoteRequest, QuoteRequestRecipient
from marketplace.scheduling.services import start_engagement


async def accept_quote(actor_id: uuid.UUID, quote_id: uuid.UUID) -> dict[str, Any]:
    """The client accepts one quote: the engagement and its cycle start, every other quote closes.

    Guarded transitions: a decided, declined or expired quote, or a closed request, is a 409.
    The engagement starts with the accepted days per audit (ISO/IEC 17021-1 9.1.3 cycle of five
    audits) in the same transaction, so there is never an accepted quote without its engagement.
    """
    async with write_transaction():
        quote = await get_quote_row(quote_id)
        req = await get_request_row(quote["request"])
        if quote["status"] == "accepted":
            raise Conflict("This quote is already accepted.", code="already_decided")
        if quote["status"] == "declined":
            raise Conflict(
                "This quote was declined when another quote was accepted or the request closed.",
                code="quote_declined",
            )
        if req["status"] != "open":
            raise Conflict("This request is closed.", code="request_closed")
        if is_expired(quote):
            raise Conflict(
                f"This quote expired on {quote['valid_until']}; ask the body for a new one.",
                code="quote_expired",
            )
        now = clock.now()
        # Compare-and-set on the request: of two concurrent acceptances only one closes it.
        closed = (
            await QuoteRequest.update({QuoteRequest.status: "closed", QuoteRequest.closed_at: now})
            .where((QuoteRequest.id == req["id"]) & (QuoteRequest.status == "open"))
            .returning(QuoteRequest.id)
            .run()
        )
        if not closed:
            raise Conflict("This request is closed.", code="request_closed")
        lines = await QuoteLine.select().where(QuoteLine.quote == quote_id).run()
        agreed = {ln["audit_kind"]: float(ln["auditor_days"]) for ln in lines}
        today = clock.today()
        start = (
            req["desired_start"] if req["desired_start"] and req["desired_start"] > today else today
        )
        started = await start_engagement(
            actor_id=actor_id,
            organisation_id=req["organisation"],
            body_id=quote["body"],
            standard=req["standard"],
            iaf_sector=req["iaf_sector"],
            agreed_days=agreed,
            start=start,
        )
        # Status and validity are compared in the query too, so the stored row has the last word
        # (raising here rolls the engagement back with everything else).
        accepted = (
            await Quote.update(
                {
                    Quote.status: "accepted",
                    Quote.engagement: started.engagement_id,
                    Quote.decided_at: now,
                }
            )
            .where(
                (Quote.id == quote_id)
                & (Quote.status == "submitted")
                & (Quote.valid_until >= today)
            )
            .returning(Quote.id)
            .run()
        )
        if not accepted:
            raise Conflict("This quote can no longer be accepted.", code="quote_expired")
        others = (
            await Quote.update({Quote.status: "declined", Quote.decided_at: now})
            .where(
                (Quote.request == req["id"])
                & (Quote.id != quote_id)
                & (Quote.status == "submitted")
            )
            .returning(Quote.id, Quote.body)
            .run()
        )
        await (
            QuoteRequestRecipient.update({QuoteRequestRecipient.status: "accepted"})
            .where(
                (QuoteRequestRecipient.request == req["id"])
                & (QuoteRequestRecipient.body == quote["body"])
            )
            .run()
        )
        unanswered = (
            await QuoteRequestRecipient.update({QuoteRequestRecipient.status: "not_selected"})
            .where(
                (QuoteRequestRecipient.request == req["id"])
                & (QuoteRequestRecipient.body != quote["body"])
                & QuoteRequestRecipient.status.is_in(["pending", "quoted"])
            )
            .returning(QuoteRequestRecipient.body)
            .run()
        )
        # Every body involved hears the outcome; the outbox that e-mails them reads these entries.
        common = {"request_id": str(req["id"]), "organisation": req["organisation_name"]}
        await log_action(
            "marketplace.quote.accepted",
            actor_id=actor_id,
            entity_type="quote",
            entity_id=quote_id,
            tenant=Tenant("body", quote["body"]),
            data={**common, "engagement_id": str(started.engagement_id)},
        )
        await log_action(
            "marketplace.quote.accepted",
            actor_id=actor_id,
            entity_type="quote",
            entity_id=quote_id,
            tenant=Tenant("organisation", req["organisation"]),
            data={
                **common,
                "body_id": str(quote["body"]),
                "engagement_id": str(started.engagement_id),
            },
        )
        for other in others:
            await log_action(
                "marketplace.quote.declined",
                actor_id=actor_id,
                entity_type="quote",
                entity_id=other["id"],
                tenant=Tenant("body", other["body"]),
                data={**common, "reason": "another quote was accepted"},
            )
        answered = {o["body"] for o in others}
        for row in unanswered:
            if row["body"] not in answered:
                await log_action(
                    "marketplace.quote_request.closed",
                    actor_id=actor_id,
                    entity_type="quote_request",
                    entity_id=req["id"],
                    tenant=Tenant("body", row["body"]),
                    data={**common, "reason": "another quote was accepted"},
                )
    return {
        "quote_id": quote_id,
        "status": "accepted",
        "engagement_id": started.engagement_id,
        "cycle_id": started.cycle_id,
    }


async def withdraw_request(actor_id: uuid.UUID | None, request_id: uuid.UUID) -> None:
    """The client withdraws an open request: no quote can be sent or accepted any more.

    Submitted quotes become ``declined`` and every body still involved is told, as when a quote
    is accepted; a closed request cannot be withdrawn (409 ``request_closed``).
    """
    async with write_transaction():
        req = await get_request_row(request_id)
        now = clock.now()
        closed = (
            await QuoteRequest.update({QuoteRequest.status: "closed", QuoteRequest.closed_at: now})
            .where((QuoteRequest.id == request_id) & (QuoteRequest.status == "open"))
            .returning(QuoteRequest.id)
            .run()
        )
        if not closed:
            raise Conflict("This request is already closed.", code="request_closed")
        await (
            Quote.update({Quote.status: "declined", Quote.decided_at: now})
            .where((Quote.request == request_id) & (Quote.status == "submitted"))
            .run()
        )
        involved = (
            await QuoteRequestRecipient.update({QuoteRequestRecipient.status: "not_selected"})
            .where(
                (QuoteRequestRecipient.request == request_id)
                & QuoteRequestRecipient.status.is_in(["pending", "quoted"])
            )
            .returning(QuoteRequestRecipient.body)
            .run()
        )
        await log_action(
            "marketplace.quote_request.withdrawn",
            actor_id=actor_id,
            entity_type="quote_request",
            entity_id=request_id,
            tenant=Tenant("organisation", req["organisation"]),
        )
        for row in involved:
            await log_action(
                "marketplace.quote_request.withdrawn",
                actor_id=actor_id,
                entity_type="quote_request",
                entity_id=request_id,
                tenant=Tenant("body", row["body"]),
                data={"organisation": req["organisation_name"]},
            )
