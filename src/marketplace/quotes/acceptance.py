"""The client's decision: accept one quote (the engagement starts) or withdraw the request."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from marketplace.accounts.guards import Principal, require_role
from marketplace.accounts.roles import TenantKind
from marketplace.core import clock
from marketplace.core.activity import Tenant, log_action
from marketplace.core.db import write_transaction
from marketplace.core.errors import Conflict
from marketplace.quotes.access import REQUESTERS
from marketplace.quotes.requests import get_quote_row, get_request_row
from marketplace.quotes.schemas import AcceptOut
from marketplace.quotes.tables import Quote, QuoteLine, QuoteRequest, QuoteRequestRecipient
from marketplace.rules.quote_status import (
    QUOTE_NO_LONGER_ACCEPTABLE,
    REQUEST_ALREADY_CLOSED,
    REQUEST_CLOSED,
    acceptance_refusal,
)
from marketplace.rules.refusal import Refusal
from marketplace.scheduling.engagements import StartedEngagement, start_engagement


def _conflict(refusal: Refusal) -> Conflict:
    return Conflict(refusal.message, code=refusal.code)


async def _close_request(request_id: uuid.UUID, now: dt.datetime, refusal: Refusal) -> None:
    """Compare-and-set on the request: of two concurrent closings only one finds it open."""
    closed = (
        await QuoteRequest.update({QuoteRequest.status: "closed", QuoteRequest.closed_at: now})
        .where((QuoteRequest.id == request_id) & (QuoteRequest.status == "open"))
        .returning(QuoteRequest.id)
        .run()
    )
    if not closed:
        raise _conflict(refusal)


async def _start(
    actor_id: uuid.UUID, quote: dict[str, Any], req: dict[str, Any]
) -> StartedEngagement:
    """Scheduling starts the engagement with the accepted days per audit, at the desired start."""
    lines = await QuoteLine.select().where(QuoteLine.quote == quote["id"]).run()
    agreed = {ln["audit_kind"]: float(ln["auditor_days"]) for ln in lines}
    today = clock.today()
    start = req["desired_start"] if req["desired_start"] and req["desired_start"] > today else today
    return await start_engagement(
        actor_id=actor_id,
        organisation_id=req["organisation"],
        body_id=quote["body"],
        standard=req["standard"],
        iaf_sector=req["iaf_sector"],
        agreed_days=agreed,
        start=start,
    )


async def _mark_accepted(quote_id: uuid.UUID, engagement_id: uuid.UUID, now: dt.datetime) -> None:
    # Status and validity are compared in the query too, so the stored row has the last word
    # (raising here rolls the engagement back with everything else).
    accepted = (
        await Quote.update(
            {Quote.status: "accepted", Quote.engagement: engagement_id, Quote.decided_at: now}
        )
        .where(
            (Quote.id == quote_id)
            & (Quote.status == "submitted")
            & (Quote.valid_until >= clock.today())
        )
        .returning(Quote.id)
        .run()
    )
    if not accepted:
        raise _conflict(QUOTE_NO_LONGER_ACCEPTABLE)


async def _close_the_others(
    quote: dict[str, Any], req: dict[str, Any], now: dt.datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Decline the other submitted quotes and settle every recipient's row.

    Answers (declined quotes, bodies never answered) for the outcome's log entries.
    """
    others: list[dict[str, Any]] = (
        await Quote.update({Quote.status: "declined", Quote.decided_at: now})
        .where(
            (Quote.request == req["id"]) & (Quote.id != quote["id"]) & (Quote.status == "submitted")
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
    unanswered: list[dict[str, Any]] = (
        await QuoteRequestRecipient.update({QuoteRequestRecipient.status: "not_selected"})
        .where(
            (QuoteRequestRecipient.request == req["id"])
            & (QuoteRequestRecipient.body != quote["body"])
            & QuoteRequestRecipient.status.is_in(["pending", "quoted"])
        )
        .returning(QuoteRequestRecipient.body)
        .run()
    )
    return others, unanswered


async def _log_outcome(
    actor_id: uuid.UUID,
    quote: dict[str, Any],
    req: dict[str, Any],
    engagement_id: uuid.UUID,
    others: list[dict[str, Any]],
    unanswered: list[dict[str, Any]],
) -> None:
    """Every body involved hears the outcome; the outbox that e-mails them reads these entries."""
    common = {"request_id": str(req["id"]), "organisation": req["organisation_name"]}
    accepted = {**common, "engagement_id": str(engagement_id)}
    for tenant, data in (
        (Tenant("body", quote["body"]), accepted),
        (Tenant("organisation", req["organisation"]), {**accepted, "body_id": str(quote["body"])}),
    ):
        await log_action(
            "marketplace.quote.accepted",
            actor_id=actor_id,
            entity_type="quote",
            entity_id=quote["id"],
            tenant=tenant,
            data=data,
        )
    answered = {o["body"] for o in others}
    # The bodies that quoted hear their quote is declined; those that never answered, that the
    # request is closed.
    told = [("marketplace.quote.declined", "quote", o["id"], o["body"]) for o in others] + [
        ("marketplace.quote_request.closed", "quote_request", req["id"], r["body"])
        for r in unanswered
        if r["body"] not in answered
    ]
    for action, entity_type, entity_id, body_id in told:
        await log_action(
            action,
            actor_id=actor_id,
            entity_type=entity_type,
            entity_id=entity_id,
            tenant=Tenant("body", body_id),
            data={**common, "reason": "another quote was accepted"},
        )


async def accept_quote(actor_id: uuid.UUID, quote_id: uuid.UUID) -> AcceptOut:
    """The client accepts one quote: the engagement and its cycle start, every other quote closes.

    Guarded transitions (``rules.quote_status``): a decided, declined or expired quote, or a
    closed request, is a 409. The engagement starts with the accepted days per audit (ISO/IEC
    17021-1 9.1.3 cycle of five audits) in the same transaction, so there is never an accepted
    quote without its engagement.
    """
    async with write_transaction():
        quote = await get_quote_row(quote_id)
        req = await get_request_row(quote["request"])
        refusal = acceptance_refusal(
            quote["status"], req["status"], quote["valid_until"], clock.today()
        )
        if refusal is not None:
            raise _conflict(refusal)
        now = clock.now()
        await _close_request(req["id"], now, REQUEST_CLOSED)
        started = await _start(actor_id, quote, req)
        await _mark_accepted(quote_id, started.engagement_id, now)
        others, unanswered = await _close_the_others(quote, req, now)
        await _log_outcome(actor_id, quote, req, started.engagement_id, others, unanswered)
    return AcceptOut(
        quote_id=quote_id,
        status="accepted",
        engagement_id=started.engagement_id,
        cycle_id=started.cycle_id,
    )


async def withdraw_request(actor_id: uuid.UUID | None, request_id: uuid.UUID) -> None:
    """The client withdraws an open request: no quote can be sent or accepted any more.

    Submitted quotes become ``declined`` and every body still involved is told, as when a quote
    is accepted; a closed request cannot be withdrawn (409 ``request_closed``).
    """
    async with write_transaction():
        req = await get_request_row(request_id)
        now = clock.now()
        await _close_request(request_id, now, REQUEST_ALREADY_CLOSED)
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


def _requester(principal: Principal, organisation_id: uuid.UUID, what: str) -> None:
    """Only the client's owner or quality manager decides; others of the client get 403."""
    require_role(principal, TenantKind.organisation, organisation_id, REQUESTERS, what=what)


async def accept(principal: Principal, quote_id: uuid.UUID) -> AcceptOut:
    """A client owner or quality manager accepts a quote sent to their organisation."""
    quote = await get_quote_row(quote_id)
    _requester(principal, quote["organisation"], "No such quote.")
    return await accept_quote(principal.user_id, quote_id)


async def withdraw(principal: Principal, request_id: uuid.UUID) -> None:
    """A client owner or quality manager withdraws their organisation's open request."""
    req = await get_request_row(request_id)
    _requester(principal, req["organisation"], "No such quote request.")
    await withdraw_request(principal.user_id, request_id)
