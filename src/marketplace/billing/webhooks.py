"""Stripe's events: each verified event applied exactly once (payments succeeded, failed, processing, refunded)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from marketplace.billing.payments import (
    record_failure,
    record_processing,
    record_success,
    unique_violation,
)
from marketplace.billing.refunds import record_charge_refunded
from marketplace.billing.tables import Invoice, Payment, ProviderEvent
from marketplace.core.db import write_transaction


async def _payment_for_intent(intent: dict[str, Any]) -> dict[str, Any] | None:
    """Our payment for a provider intent; recreated from its metadata if we lost the row."""
    intent_id = str(intent.get("id") or "")
    payment = await Payment.select().where(Payment.payment_intent_id == intent_id).first().run()
    if payment is not None:
        return payment
    metadata = intent.get("metadata")
    try:
        invoice_id = uuid.UUID(
            str((metadata if isinstance(metadata, dict) else {}).get("invoice_id"))
        )
    except ValueError:
        return None
    invoice = (
        await Invoice.select(Invoice.id, Invoice.currency)
        .where(Invoice.id == invoice_id)
        .first()
        .run()
    )
    if invoice is None or not intent_id:
        return None
    # Detached, not live: the invoice may already have its live attempt (the partial unique
    # index allows one), and money on this intent must be recorded all the same.
    row = Payment(
        invoice=invoice_id,
        provider="stripe",
        payment_intent_id=intent_id,
        amount_minor=int(intent.get("amount") or 0),
        currency=str(intent.get("currency") or invoice["currency"]).upper(),
        state="detached",
    )
    await row.save().run()
    return await Payment.select().where(Payment.id == row.id).first().run()


class MalformedEvent(ValueError):
    """A verified payload that is not a Stripe event we can read."""


def _event_parts(event: dict[str, Any]) -> tuple[str, str, dt.datetime, dict[str, Any]]:
    try:
        event_id, kind, created = event["id"], event["type"], event["created"]
        obj = event["data"]["object"]
    except (KeyError, TypeError) as exc:
        raise MalformedEvent("The event lacks id, type, created or data.object.") from exc
    if not (isinstance(event_id, str) and event_id and isinstance(kind, str)):
        raise MalformedEvent("The event id and type must be strings.")
    if not isinstance(created, int) or isinstance(created, bool) or not isinstance(obj, dict):
        raise MalformedEvent("The event's created time or object is malformed.")
    if len(event_id) > 255 or len(kind) > 100:
        raise MalformedEvent("The event id or type is too long.")
    try:
        at = dt.datetime.fromtimestamp(created, dt.UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise MalformedEvent("The event's created time is out of range.") from exc
    return event_id, kind, at, obj


async def _apply(kind: str, obj: dict[str, Any], at: dt.datetime) -> bool:
    if kind == "charge.refunded":
        return await record_charge_refunded(obj, at)
    if kind not in {
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.processing",
    }:
        return False
    payment = await _payment_for_intent(obj)
    if payment is None:
        return False
    if kind == "payment_intent.succeeded":
        amount = int(obj.get("amount_received") or obj.get("amount") or 0)
        return await record_success(payment["id"], amount, at)
    if kind == "payment_intent.processing":
        return await record_processing(payment["id"], at)
    error = obj.get("last_payment_error") or {}
    message = str(error.get("message") or "") if isinstance(error, dict) else ""
    return await record_failure(payment["id"], message or "The payment failed.", at)


async def handle_event(event: dict[str, Any]) -> str:
    """Apply one verified provider event exactly once: "applied", "ignored" or "duplicate".

    The event id is stored (unique) in the same transaction as its effect, so a redelivery finds it
    and changes nothing; on PostgreSQL a concurrent twin waits on the unique index and then fails,
    which is answered as a duplicate too.
    """
    event_id, kind, at, obj = _event_parts(event)
    try:
        async with write_transaction():
            if await ProviderEvent.exists().where(ProviderEvent.event_id == event_id).run():
                return "duplicate"
            record = ProviderEvent(provider="stripe", event_id=event_id, type=kind, created=at)
            await record.save().run()
            try:
                applied = await _apply(kind, obj, at)
            except (ValueError, TypeError, AttributeError, KeyError) as exc:
                # A verified event whose object has unexpected shapes: refuse it whole (rolled
                # back, 400) rather than half-apply it or fail with a 500.
                raise MalformedEvent(f"The event's object is malformed: {exc}") from exc
            if not applied:
                await (
                    ProviderEvent.update({ProviderEvent.outcome: "ignored"})
                    .where(ProviderEvent.id == record.id)
                    .run()
                )
    except Exception as exc:
        if unique_violation(exc):
            return "duplicate"
        raise
    return "applied" if applied else "ignored"
