"""Answers to a request: a body's quote (lines checked, priced, judged against the baseline) or its decline."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Iterable
from typing import Any

import msgspec

from marketplace.accounts.guards import Principal, require_role
from marketplace.accounts.roles import TenantKind
from marketplace.core import clock
from marketplace.core.activity import Tenant, log_action
from marketplace.core.db import write_transaction
from marketplace.core.errors import Conflict, Invalid, NotFound
from marketplace.quotes.access import QUOTE_HANDLERS
from marketplace.quotes.baseline import AUDIT_KINDS, baseline_for_request
from marketplace.quotes.requests import get_request_row
from marketplace.quotes.schemas import DeclineIn, QuoteCreatedOut, QuoteIn
from marketplace.quotes.tables import Quote, QuoteLine, QuoteRequestRecipient
from marketplace.quotes.values import as_date, as_uuid, clean_text
from marketplace.rules.quote_status import answer_refusal

MAX_LINE_DAYS = 1000.0
MAX_MONEY_MINOR = 100_000_000_000  # a billion in major units: far beyond any real audit fee
MAX_VALIDITY_DAYS = 366


def _half_days(value: float) -> bool:
    return math.isfinite(value) and float(value * 2).is_integer()


def check_lines(lines: Iterable[dict[str, Any]]) -> list[dict[str, str]]:
    """Field errors of a quote's lines: one line per audit of the cycle, days > 0, money >= 0."""
    errors: list[dict[str, str]] = []
    seen: set[str] = set()
    for i, line in enumerate(lines):
        at = f"lines[{i}]"
        kind = str(line.get("audit_kind", ""))
        if kind not in AUDIT_KINDS:
            errors.append(
                {"field": f"{at}.audit_kind", "message": f"Choose one of {', '.join(AUDIT_KINDS)}."}
            )
        elif kind in seen:
            errors.append({"field": f"{at}.audit_kind", "message": f"{kind} is quoted twice."})
        seen.add(kind)
        days = float(line.get("auditor_days", 0))
        if not math.isfinite(days) or days <= 0:
            errors.append(
                {"field": f"{at}.auditor_days", "message": "Auditor days must be more than zero."}
            )
        elif days > MAX_LINE_DAYS or not _half_days(days):
            errors.append(
                {
                    "field": f"{at}.auditor_days",
                    "message": f"Give auditor days in half days, at most {MAX_LINE_DAYS:g} (IAF MD 5 rounds to the half day).",
                }
            )
        for money in ("day_rate_minor", "fees_minor", "travel_minor"):
            value = int(line.get(money, 0))
            if value < 0:
                errors.append({"field": f"{at}.{money}", "message": "Money cannot be negative."})
            elif value > MAX_MONEY_MINOR:
                errors.append({"field": f"{at}.{money}", "message": "This amount is too large."})
    missing = [k for k in AUDIT_KINDS if k not in seen]
    if missing:
        errors.append(
            {
                "field": "lines",
                "message": f"Quote every audit of the cycle; missing: {', '.join(missing)}.",
            }
        )
    return errors


def line_total(line: dict[str, Any]) -> int:
    """Auditor days x day rate plus fees and travel, in whole minor units (half-cent rounds up)."""
    # Days are whole half days, so twice the days is an integer and the product stays exact.
    half_days = round(float(line["auditor_days"]) * 2)
    fee = (half_days * int(line["day_rate_minor"]) + 1) // 2
    return fee + int(line.get("fees_minor", 0)) + int(line.get("travel_minor", 0))


async def _answerable(request_id: uuid.UUID, body_id: uuid.UUID) -> tuple[dict[str, Any], Any]:
    """The request and this body's recipient row, refusing closed requests and second answers."""
    req = await get_request_row(request_id)
    rows = (
        await QuoteRequestRecipient.select()
        .where(
            (QuoteRequestRecipient.request == request_id) & (QuoteRequestRecipient.body == body_id)
        )
        .run()
    )
    if not rows:
        # A body may only answer requests sent to it; others' requests do not exist for it.
        raise NotFound("No such quote request.")
    refusal = answer_refusal(req["status"], rows[0]["status"])
    if refusal is not None:
        raise Conflict(refusal.message, code=refusal.code)
    return req, rows[0]


async def _claim_answer(recipient_id: uuid.UUID, status: str, reason: str = "") -> None:
    # Compare-and-set: of two concurrent answers only one finds the row still pending.
    claimed = (
        await QuoteRequestRecipient.update(
            {
                QuoteRequestRecipient.status: status,
                QuoteRequestRecipient.decline_reason: reason,
                QuoteRequestRecipient.responded_at: clock.now(),
            }
        )
        .where(
            (QuoteRequestRecipient.id == recipient_id) & (QuoteRequestRecipient.status == "pending")
        )
        .returning(QuoteRequestRecipient.id)
        .run()
    )
    if not claimed:
        raise Conflict("Your body has already answered this request.", code="already_answered")


async def submit_quote(
    actor_id: uuid.UUID | None, request_id: uuid.UUID, data: dict[str, Any]
) -> dict[str, Any]:
    """A recipient body prices every audit of the cycle; the quote is judged against IAF MD 5.

    Only a body the request was sent to may answer, once, while the request is open. Its stage 1
    + stage 2 days are compared with the IAF MD 5 minimum (table time less the maximum 30%
    reduction, rounded to the half day): below it the quote is stored ``below_baseline``.
    """
    body_id = as_uuid(data["body_id"], "body_id")
    lines: list[dict[str, Any]] = list(data.get("lines") or [])
    errors = check_lines(lines)
    valid_until = as_date(data["valid_until"], "valid_until")
    if valid_until is None:
        raise Invalid.field("valid_until", "Say until when the quote is valid.")
    today = clock.today()
    if valid_until < today:
        errors.append(
            {"field": "valid_until", "message": "The quote must be valid today or later."}
        )
    elif valid_until > today + dt.timedelta(days=MAX_VALIDITY_DAYS):
        errors.append({"field": "valid_until", "message": "A quote is valid for a year at most."})
    async with write_transaction():
        req, recipient = await _answerable(request_id, body_id)
        if errors:
            raise Invalid("; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors)
        base = await baseline_for_request(req)
        days = {ln["audit_kind"]: float(ln["auditor_days"]) for ln in lines}
        quoted = days["stage1"] + days["stage2"]
        minimum = base.estimate.minimum_initial_days
        totals = [line_total(ln) for ln in lines]
        await _claim_answer(recipient["id"], "quoted")
        quote = Quote(
            request=request_id,
            body=body_id,
            currency=data["currency"],
            valid_until=valid_until,
            message=clean_text(data.get("message"), "message"),
            total_minor=sum(totals),
            quoted_days=quoted,
            cycle_days=sum(days.values()),
            baseline_days=minimum,
            below_baseline=quoted < minimum,
            created_by=actor_id,
            created_at=clock.now(),
        )
        await quote.save().run()
        await QuoteLine.insert(
            *(
                QuoteLine(
                    quote=quote.id,
                    audit_kind=ln["audit_kind"],
                    auditor_days=float(ln["auditor_days"]),
                    day_rate_minor=int(ln["day_rate_minor"]),
                    fees_minor=int(ln.get("fees_minor", 0)),
                    travel_minor=int(ln.get("travel_minor", 0)),
                    total_minor=total,
                )
                for ln, total in zip(lines, totals, strict=True)
            )
        ).run()
        summary = {
            "total_minor": quote.total_minor,
            "currency": quote.currency,
            "quoted_days": quoted,
            "baseline_days": minimum,
            "below_baseline": quote.below_baseline,
        }
        for tenant in (Tenant("organisation", req["organisation"]), Tenant("body", body_id)):
            await log_action(
                "marketplace.quote.submitted",
                actor_id=actor_id,
                entity_type="quote",
                entity_id=quote.id,
                tenant=tenant,
                data={"request_id": str(request_id), **summary},
            )
    return {"id": quote.id, "status": quote.status, "cycle_days": quote.cycle_days, **summary}


async def decline_request(
    actor_id: uuid.UUID | None, request_id: uuid.UUID, body_id: uuid.UUID, reason: str
) -> None:
    """A recipient body declines to quote, with a reason the client sees (once, while open)."""
    reason = clean_text(reason, "reason")
    async with write_transaction():
        req, recipient = await _answerable(request_id, body_id)
        if not reason:
            raise Invalid.field("reason", "Tell the client why you decline.")
        await _claim_answer(recipient["id"], "declined", reason)
        for tenant in (Tenant("organisation", req["organisation"]), Tenant("body", body_id)):
            await log_action(
                "marketplace.quote_request.declined",
                actor_id=actor_id,
                entity_type="quote_request",
                entity_id=request_id,
                tenant=tenant,
                data={"body_id": str(body_id), "reason": reason},
            )


def _check_handler(principal: Principal, body_id: uuid.UUID, what: str) -> None:
    require_role(principal, TenantKind.body, body_id, QUOTE_HANDLERS, what=what)


async def send_quote(
    principal: Principal,
    request_id: uuid.UUID,
    data: QuoteIn,
    *,
    what: str = "No such quote request.",
) -> QuoteCreatedOut:
    """An owner or scheduler of the quoting body answers with a quote (see submit_quote).

    ``what`` is the 404 sentence for a caller outside the body: the pages name the body in
    their address and say "No such certification body." instead.
    """
    _check_handler(principal, data.body_id, what)
    result = await submit_quote(principal.user_id, request_id, msgspec.to_builtins(data))
    return msgspec.convert(result, QuoteCreatedOut)


async def decline(
    principal: Principal,
    request_id: uuid.UUID,
    data: DeclineIn,
    *,
    what: str = "No such quote request.",
) -> None:
    """An owner or scheduler of a recipient body declines to quote, with the reason."""
    _check_handler(principal, data.body_id, what)
    await decline_request(principal.user_id, request_id, data.body_id, data.reason)
