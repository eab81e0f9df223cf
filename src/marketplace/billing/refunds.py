"""Refunds: handing back an overpayment once through the provider, and recording the provider's refunds."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from marketplace.accounts.guards import Principal
from marketplace.billing.access import BILLERS, authorise
from marketplace.billing.balance import overpaid_minor
from marketplace.billing.gateway import GatewayError, PaymentGateway, RefundResult
from marketplace.billing.payments import PaymentUnavailable, require_gateway, unique_violation
from marketplace.billing.schemas import RefundStartOut
from marketplace.billing.tables import Invoice, Payment, Refund
from marketplace.core import clock
from marketplace.core.activity import Tenant, log_action
from marketplace.core.db import lock_row, write_transaction
from marketplace.core.errors import Conflict


async def record_charge_refunded(charge: dict[str, Any], at: dt.datetime) -> bool:
    intent_id = charge.get("payment_intent")
    if isinstance(intent_id, dict):
        intent_id = intent_id.get("id")
    payment = (
        await Payment.select(Payment.id, Payment.invoice, Payment.invoice._.body.as_alias("body"))
        .where(Payment.payment_intent_id == str(intent_id or ""))
        .first()
        .run()
    )
    if payment is None:
        return False
    # The refund service reads the invoice's refunds under this lock (see refund_overpayment).
    await lock_row(Invoice, payment["invoice"])
    refunded = int(charge.get("amount_refunded") or 0)
    values: dict[Any, Any] = {Payment.refunded_minor: refunded, Payment.last_event_at: at}
    if charge.get("refunded"):
        values[Payment.state] = "refunded"
    # Refunds only ever grow, so a smaller figure is an older event and is ignored.
    rows = (
        await Payment.update(values)
        .where((Payment.id == payment["id"]) & (Payment.refunded_minor < refunded))
        .returning(Payment.id)
        .run()
    )
    if not rows:
        return False
    await log_action(
        "marketplace.payment.refunded",
        actor_id=None,
        entity_type="invoice",
        entity_id=payment["invoice"],
        tenant=Tenant("body", payment["body"]),
        data={"payment_id": str(payment["id"]), "refunded_minor": refunded},
    )
    return True


@dataclass(frozen=True)
class _Claim:
    """A refund recorded as requested, and the payment it hands money back from."""

    id: uuid.UUID
    amount_minor: int
    currency: str
    payment_id: uuid.UUID
    intent_id: str
    payment_amount_minor: int
    refunded_before_minor: int


async def _request_refund(actor_id: uuid.UUID | None, invoice_id: uuid.UUID) -> _Claim:
    """Under the invoice's lock: record a requested refund of the excess, or refuse (409)."""
    async with write_transaction():
        await lock_row(Invoice, invoice_id)
        excess = await overpaid_minor(invoice_id)
        if excess <= 0:
            if (
                await Refund.exists()
                .where((Refund.invoice == invoice_id) & (Refund.state == "requested"))
                .run()
            ):
                raise Conflict(
                    "A refund of this invoice's overpayment is already being issued.",
                    code="refund_in_progress",
                )
            raise Conflict("Nothing has been paid beyond the amount due.", code="not_overpaid")
        payments = (
            await Payment.select()
            .where((Payment.invoice == invoice_id) & (Payment.state == "confirmed"))
            .order_by(Payment.confirmed_at, ascending=False)
            .run()
        )
        # The newest confirmed payment first: it is the one that went beyond the amount due.
        payment = next((p for p in payments if p["amount_minor"] > p["refunded_minor"]), None)
        if payment is None:
            raise Conflict("No confirmed payment is left to refund.", code="not_overpaid")
        amount = min(excess, int(payment["amount_minor"]) - int(payment["refunded_minor"]))
        refund = Refund(
            invoice=invoice_id,
            payment=payment["id"],
            amount_minor=amount,
            currency=payment["currency"],
            state="requested",
            reason="overpayment",
            refunded_before_minor=payment["refunded_minor"],
            created_by=actor_id,
        )
        await refund.save().run()
    return _Claim(
        id=refund.id,
        amount_minor=amount,
        currency=payment["currency"],
        payment_id=payment["id"],
        intent_id=payment["payment_intent_id"],
        payment_amount_minor=int(payment["amount_minor"]),
        refunded_before_minor=int(payment["refunded_minor"]),
    )


async def refund_overpayment(
    actor_id: uuid.UUID | None, gateway: PaymentGateway, invoice_id: uuid.UUID
) -> RefundStartOut:
    """Hand back what was paid beyond the amount due, once, through the provider.

    The refund is recorded as requested before the provider is asked (committed, so no
    transaction waits on the network): a concurrent second request finds nothing left to refund,
    and the partial unique index admits one requested refund per invoice. A refusal marks it
    failed, so the excess can be refunded again.
    """
    try:
        claim = await _request_refund(actor_id, invoice_id)
    except Exception as exc:
        if unique_violation(exc):
            raise Conflict(
                "A refund of this invoice's overpayment is already being issued.",
                code="refund_in_progress",
            ) from exc
        raise
    try:
        result = await gateway.refund(claim.intent_id, claim.amount_minor, f"refund-{claim.id}")
    except BaseException as exc:
        await _mark_failed(invoice_id, claim, exc)
        raise
    await _record_made(actor_id, invoice_id, claim, result)
    return RefundStartOut(
        id=claim.id,
        amount_minor=claim.amount_minor,
        currency=claim.currency,
        provider_reference=result.id,
    )


async def _mark_failed(invoice_id: uuid.UUID, claim: _Claim, exc: BaseException) -> None:
    """The provider refused or failed: the excess may be refunded again."""
    async with write_transaction():
        await lock_row(Invoice, invoice_id)
        await (
            Refund.update(
                {
                    Refund.state: "failed",
                    Refund.failure_message: str(exc)[:500],
                    Refund.completed_at: clock.now(),
                }
            )
            .where((Refund.id == claim.id) & (Refund.state == "requested"))
            .run()
        )


async def _record_made(
    actor_id: uuid.UUID | None, invoice_id: uuid.UUID, claim: _Claim, result: RefundResult
) -> None:
    """The provider made the refund: mark it succeeded, grow the payment's refunded sum, log it."""
    refunded = claim.refunded_before_minor + claim.amount_minor
    async with write_transaction():
        # Under the invoice's lock, like the request: on PostgreSQL a concurrent request reads
        # refunds and payments in separate statements, and must never see this refund neither
        # as requested nor as refunded.
        await lock_row(Invoice, invoice_id)
        invoice = (
            await Invoice.select(Invoice.body, Invoice.number)
            .where(Invoice.id == invoice_id)
            .first()
            .run()
        )
        assert invoice is not None
        await (
            Refund.update(
                {
                    Refund.state: "succeeded",
                    Refund.provider_refund_id: result.id,
                    Refund.completed_at: clock.now(),
                }
            )
            .where((Refund.id == claim.id) & (Refund.state == "requested"))
            .run()
        )
        values: dict[Any, Any] = {Payment.refunded_minor: refunded}
        if refunded >= claim.payment_amount_minor:
            values[Payment.state] = "refunded"
        # Grows only: the charge.refunded webhook may have recorded this refund already.
        await (
            Payment.update(values)
            .where((Payment.id == claim.payment_id) & (Payment.refunded_minor < refunded))
            .run()
        )
        await log_action(
            "marketplace.invoice.overpayment_refunded",
            actor_id=actor_id,
            entity_type="invoice",
            entity_id=invoice_id,
            tenant=Tenant("body", invoice["body"]),
            data={
                "number": invoice["number"],
                "refund_id": str(claim.id),
                "payment_id": str(claim.payment_id),
                "amount_minor": claim.amount_minor,
                "provider_reference": result.id,
            },
        )


async def refund_excess(
    principal: Principal, gateway: PaymentGateway | None, invoice_id: uuid.UUID
) -> RefundStartOut:
    """The body's finance or owner refunds an overpayment (see refund_overpayment); a switched
    off or unreachable provider is a 503."""
    await authorise(principal, invoice_id, body=BILLERS)
    live = require_gateway(gateway)
    try:
        return await refund_overpayment(principal.user_id, live, invoice_id)
    except GatewayError as exc:
        raise PaymentUnavailable(str(exc), code="provider_unavailable") from exc
