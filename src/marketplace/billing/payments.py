"""Paying invoices: one live payment intent per open invoice, and recording a payment's success or failure once."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from marketplace.accounts.guards import Principal
from marketplace.billing.access import CLIENT_ALL, NO_INVOICE, authorise, refuse
from marketplace.billing.balance import amount_due, overpaid_minor
from marketplace.billing.gateway import GatewayError, Intent, InvoiceToPay, PaymentGateway
from marketplace.billing.schemas import PaymentStartOut
from marketplace.billing.tables import Invoice, Payment
from marketplace.core import clock
from marketplace.core.activity import Tenant, log_action
from marketplace.core.db import lock_row, write_transaction
from marketplace.core.errors import DomainError, NotFound
from marketplace.rules import invoice_status

log = logging.getLogger("marketplace.billing")

NOT_CONFIGURED = "Online payment is not configured."


class PaymentUnavailable(DomainError):
    """Online payment is switched off (no Stripe keys) or the provider cannot be reached."""

    status_code = 503


def require_gateway(gateway: PaymentGateway | None) -> PaymentGateway:
    """The app's gateway, or a 503 when online payment is switched off."""
    if gateway is None:
        raise PaymentUnavailable(NOT_CONFIGURED, code="payment_not_configured")
    return gateway


# Payment states (pretix): a payment only moves forward; "failed" may still succeed on a retry.
OPEN_PAYMENT_STATES = ("created", "pending", "failed")
# At most one of these per invoice (partial unique index): "claiming" is the placeholder a
# request holds while it asks the provider for the intent.
LIVE_STATES = ("claiming", *OPEN_PAYMENT_STATES)
# Money may still arrive on these: the live attempt, and detached ones (retired, or made
# outside our flow) whose secret a browser may still hold.
RECEIVABLE_STATES = (*OPEN_PAYMENT_STATES, "detached")
# A claim older than this belongs to a request that died before filling it in.
CLAIM_ABANDONED_AFTER = dt.timedelta(seconds=60)
CLAIM_WAIT_SECONDS = 20.0
CLAIM_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class _Step:
    """What the locked look at an invoice decided: pay with `live`, create `claimed`, or wait."""

    live: dict[str, Any] | None = None
    claimed: uuid.UUID | None = None
    waiting_for: uuid.UUID | None = None
    amount_minor: int = 0
    currency: str = ""
    number: int | None = None
    retired: tuple[str, ...] = ()


async def _detach(payment_ids: list[uuid.UUID]) -> None:
    """Retire live attempts: no longer the invoice's live one, still able to record money."""
    if payment_ids:
        await (
            Payment.update({Payment.state: "detached"})
            .where(Payment.id.is_in(payment_ids) & Payment.state.is_in(list(OPEN_PAYMENT_STATES)))
            .run()
        )


async def _claim_or_find(provider: str, invoice_id: uuid.UUID) -> _Step:
    """Under the invoice's lock: its live attempt, or a fresh claim row for this request to fill.

    PostgreSQL queues concurrent callers on the invoice row (`FOR UPDATE`); SQLite's IMMEDIATE
    transaction admits one at a time; the partial unique index on live payments is the last word.
    The claim is committed before the provider is called, so no transaction waits on the network.
    """
    async with write_transaction():
        await lock_row(Invoice, invoice_id)
        row = await Invoice.select().where(Invoice.id == invoice_id).first().run()
        if row is None:
            raise NotFound(NO_INVOICE)
        due = amount_due(row)
        if not invoice_status.may(row["kind"], row["status"], invoice_status.PAY) or due <= 0:
            refuse(invoice_status.PAY)
        live = (
            await Payment.select()
            .where((Payment.invoice == invoice_id) & Payment.state.is_in(list(LIVE_STATES)))
            .first()
            .run()
        )
        retired: list[str] = []
        if live is not None:
            if live["state"] == "claiming":
                if live["created_at"] > clock.now() - CLAIM_ABANDONED_AFTER:
                    return _Step(waiting_for=live["id"])
                # Its request died between claiming and filling in: nobody holds a secret for
                # whatever it may have made at the provider, so the claim is simply taken over.
                await (
                    Payment.delete()
                    .where((Payment.id == live["id"]) & (Payment.state == "claiming"))
                    .run()
                )
            elif live["amount_minor"] == due and live["currency"] == row["currency"]:
                return _Step(live=live)
            else:
                # The amount due changed (a part payment arrived): that intent is for another sum.
                await _detach([live["id"]])
                retired.append(live["payment_intent_id"])
        claim_id = uuid.uuid4()
        await (
            Payment(
                id=claim_id,
                invoice=invoice_id,
                provider=provider,
                payment_intent_id=f"claim:{claim_id}",
                amount_minor=due,
                currency=row["currency"],
                state="claiming",
            )
            .save()
            .run()
        )
    return _Step(
        claimed=claim_id,
        amount_minor=due,
        currency=row["currency"],
        number=row["number"],
        retired=tuple(retired),
    )


async def _cancel_quietly(gateway: PaymentGateway, intent_ids: tuple[str, ...]) -> None:
    # Best effort: a retired intent that still succeeds is recorded and shown as overpaid.
    for intent_id in intent_ids:
        try:
            await gateway.cancel_intent(intent_id)
        except GatewayError as exc:
            log.warning("could not cancel retired intent %s: %s", intent_id, exc)


async def _fill_claim(gateway: PaymentGateway, invoice_id: uuid.UUID, step: _Step) -> Intent | None:
    """Create the provider's intent for our claim and write its id in; None if the claim was lost."""
    assert step.claimed is not None
    try:
        intent = await gateway.create_intent(
            InvoiceToPay(
                invoice_id=invoice_id,
                number=step.number,
                amount_minor=step.amount_minor,
                currency=step.currency,
                attempt_id=step.claimed,
            )
        )
    except BaseException:
        # Refused, unreachable or cancelled: give the claim back so the next request can try.
        await (
            Payment.delete()
            .where((Payment.id == step.claimed) & (Payment.state == "claiming"))
            .run()
        )
        raise
    filled = (
        await Payment.update({Payment.payment_intent_id: intent.id, Payment.state: "created"})
        .where((Payment.id == step.claimed) & (Payment.state == "claiming"))
        .returning(Payment.id)
        .run()
    )
    if not filled:
        # Taken over as abandoned while the provider was slow: ours must not take money too.
        await _cancel_quietly(gateway, (intent.id,))
        return None
    return intent


async def _wait_for_claim(claim_id: uuid.UUID, deadline: float) -> None:
    """Poll, without locking, until another request has filled in (or given up) its claim."""
    loop = asyncio.get_running_loop()
    while loop.time() <= deadline:
        await asyncio.sleep(CLAIM_POLL_SECONDS)
        if (
            not await Payment.exists()
            .where((Payment.id == claim_id) & (Payment.state == "claiming"))
            .run()
        ):
            return


def _started(gateway: PaymentGateway, intent: Intent) -> PaymentStartOut:
    return PaymentStartOut(
        provider=gateway.provider,
        payment_intent_id=intent.id,
        client_secret=intent.client_secret,
        publishable_key=gateway.publishable_key,
    )


async def start_payment(gateway: PaymentGateway, invoice_id: uuid.UUID) -> PaymentStartOut:
    """The open invoice's one live intent for its amount due, created once whatever the concurrency.

    The first request claims the invoice's live payment row (a placeholder under a partial unique
    index), calls the provider outside any transaction, then fills in the intent id; concurrent
    requests find the claim and wait for it, so every answer names the same intent. Provider
    idempotency keys are only a second line: the database decides.

    Nothing here marks the invoice paid: only a verified provider event or reconciliation does.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CLAIM_WAIT_SECONDS
    while True:
        try:
            step = await _claim_or_find(gateway.provider, invoice_id)
        except Exception as exc:
            if not unique_violation(exc):
                raise
            step = _Step()  # a concurrent claim won the index: look again
        if step.live is not None:
            intent = await gateway.fetch_intent(step.live["payment_intent_id"])
            if intent.status != "canceled":
                return _started(gateway, intent)
            await _detach([step.live["id"]])  # canceled at the provider: start a new attempt
            continue
        if step.claimed is not None:
            await _cancel_quietly(gateway, step.retired)
            made = await _fill_claim(gateway, invoice_id, step)
            if made is not None:
                return _started(gateway, made)
            continue
        if loop.time() > deadline:
            raise GatewayError(
                "Another payment for this invoice is still being set up; try again in a moment."
            )
        if step.waiting_for is not None:
            await _wait_for_claim(step.waiting_for, deadline)
        else:
            await asyncio.sleep(CLAIM_POLL_SECONDS)


async def record_success(payment_id: uuid.UUID, amount_minor: int, at: dt.datetime) -> bool:
    """Confirm a payment exactly once and mark its invoice paid once fully covered.

    The conditional UPDATE is the guard: whichever of webhook, duplicate or reconciliation comes
    second finds the payment already confirmed and changes nothing. Call inside a write transaction.
    Money beyond the amount due (a second intent, a retired one a browser still held) is recorded
    too and flagged: the invoice shows it as overpaid and the body's finance people are told.
    """
    invoice_id = await _confirm(payment_id, at)
    if invoice_id is None:
        return False
    invoice = await _credit_invoice(invoice_id, amount_minor)
    facts = {"payment_id": str(payment_id), "amount_minor": amount_minor}
    if invoice_status.may(invoice_status.INVOICE, invoice["status"], invoice_status.SETTLE):
        if invoice["amount_paid_minor"] >= invoice["total_minor"]:
            await _settle(invoice_id, invoice, facts)
    elif invoice["status"] == invoice_status.VOID:
        # Paid after voiding (the client had the payment form open): the money is recorded and
        # flagged for a refund rather than silently reopening a voided invoice.
        await log_action(
            "marketplace.payment.received_for_void_invoice",
            actor_id=None,
            entity_type="invoice",
            entity_id=invoice_id,
            tenant=Tenant("body", invoice["body"]),
            data=facts,
        )
    excess = await overpaid_minor(invoice_id)
    if excess > 0:
        await log_action(
            "marketplace.invoice.overpaid",
            actor_id=None,
            entity_type="invoice",
            entity_id=invoice_id,
            tenant=Tenant("body", invoice["body"]),
            data={"number": invoice["number"], **facts, "overpaid_minor": excess},
        )
    return True


async def _confirm(payment_id: uuid.UUID, at: dt.datetime) -> uuid.UUID | None:
    """Move a receivable payment to confirmed; its invoice, or None when it was not receivable."""
    rows = (
        await Payment.update(
            {
                Payment.state: "confirmed",
                Payment.confirmed_at: clock.now(),
                Payment.last_event_at: at,
                Payment.failure_message: "",
            }
        )
        .where((Payment.id == payment_id) & Payment.state.is_in(list(RECEIVABLE_STATES)))
        .returning(Payment.invoice)
        .run()
    )
    if not rows:
        return None
    invoice_id: uuid.UUID = rows[0]["invoice"]
    return invoice_id


async def _credit_invoice(invoice_id: uuid.UUID, amount_minor: int) -> dict[str, Any]:
    """Add the money to what the invoice has received; the invoice's figures after it."""
    rows = (
        await Invoice.update(
            {
                Invoice.amount_paid_minor: Invoice.amount_paid_minor + amount_minor,
                Invoice.payment_failure: "",
            }
        )
        .where(Invoice.id == invoice_id)
        .returning(
            Invoice.status,
            Invoice.total_minor,
            Invoice.amount_paid_minor,
            Invoice.body,
            Invoice.organisation,
            Invoice.number,
        )
        .run()
    )
    invoice: dict[str, Any] = rows[0]
    return invoice


async def _settle(invoice_id: uuid.UUID, invoice: dict[str, Any], facts: dict[str, Any]) -> None:
    """Mark the covered invoice paid, once: a concurrent settle finds it paid and logs nothing."""
    paid = (
        await Invoice.update({Invoice.status: invoice_status.PAID, Invoice.paid_at: clock.now()})
        .where((Invoice.id == invoice_id) & (Invoice.status == invoice_status.OPEN))
        .returning(Invoice.id)
        .run()
    )
    if paid:
        # One entry drives the notifications of both parties (pretix's log_action).
        await log_action(
            "marketplace.invoice.paid",
            actor_id=None,
            entity_type="invoice",
            entity_id=invoice_id,
            tenant=Tenant("body", invoice["body"]),
            data={
                "number": invoice["number"],
                "organisation_id": str(invoice["organisation"]),
                **facts,
            },
        )


async def record_failure(payment_id: uuid.UUID, message: str, at: dt.datetime) -> bool:
    rows = (
        await Payment.update(
            {Payment.state: "failed", Payment.failure_message: message, Payment.last_event_at: at}
        )
        .where(
            (Payment.id == payment_id)
            & Payment.state.is_in(list(OPEN_PAYMENT_STATES))
            # An older event never overwrites the state a newer one set.
            & (Payment.last_event_at.is_null() | (Payment.last_event_at <= at))
        )
        .returning(Payment.invoice)
        .run()
    )
    if not rows:
        return False
    invoice = (
        await Invoice.update({Invoice.payment_failure: message})
        .where((Invoice.id == rows[0]["invoice"]) & (Invoice.status == "open"))
        .returning(Invoice.body)
        .run()
    )
    if invoice:
        await log_action(
            "marketplace.payment.failed",
            actor_id=None,
            entity_type="invoice",
            entity_id=rows[0]["invoice"],
            tenant=Tenant("body", invoice[0]["body"]),
            data={"payment_id": str(payment_id), "message": message},
        )
    return True


async def record_processing(payment_id: uuid.UUID, at: dt.datetime) -> bool:
    rows = (
        await Payment.update({Payment.state: "pending", Payment.last_event_at: at})
        .where(
            (Payment.id == payment_id)
            & Payment.state.is_in(["created", "failed"])
            & (Payment.last_event_at.is_null() | (Payment.last_event_at <= at))
        )
        .returning(Payment.id)
        .run()
    )
    return bool(rows)


def unique_violation(exc: BaseException) -> bool:
    """A unique index refused the row (asyncpg 23505, SQLite IntegrityError), without importing drivers."""
    return (
        type(exc).__name__ in {"UniqueViolationError", "IntegrityError"}
        or getattr(exc, "sqlstate", "") == "23505"
    )


async def pay_invoice(
    principal: Principal, gateway: PaymentGateway | None, invoice_id: uuid.UUID
) -> PaymentStartOut:
    """The client starts (or resumes) paying an open invoice online (see start_payment); a switched
    off or unreachable provider is a 503."""
    await authorise(principal, invoice_id, client=CLIENT_ALL)
    live = require_gateway(gateway)
    try:
        return await start_payment(live, invoice_id)
    except GatewayError as exc:
        raise PaymentUnavailable(str(exc), code="provider_unavailable") from exc
