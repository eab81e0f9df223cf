"""What an invoice owes and holds: the amount due, overdue (shown, never stored) and overpaid."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from marketplace.billing.tables import Invoice, Payment, Refund
from marketplace.core import clock


def is_overdue(status: str, due_on: dt.date | None, today: dt.date | None = None) -> bool:
    """Shown, never stored: an open invoice whose due date has passed."""
    return status == "open" and due_on is not None and due_on < (today or clock.today())


def amount_due(row: dict[str, Any]) -> int:
    if row["kind"] != "invoice" or row["status"] != "open":
        return 0
    return max(int(row["total_minor"]) - int(row["amount_paid_minor"]), 0)


async def overpaid_minor(invoice_id: uuid.UUID) -> int:
    """Money held beyond what the invoice asks for: received, less refunds made or requested, less
    the total (nothing of a voided invoice is owed). Call inside the transaction that relies on it.
    """
    row = (
        await Invoice.select(
            Invoice.kind, Invoice.status, Invoice.total_minor, Invoice.amount_paid_minor
        )
        .where(Invoice.id == invoice_id)
        .first()
        .run()
    )
    if row is None or row["kind"] != "invoice":
        return 0
    refunded = sum(
        int(p["refunded_minor"])
        for p in await Payment.select(Payment.refunded_minor)
        .where(Payment.invoice == invoice_id)
        .run()
    )
    in_flight = sum(
        int(r["amount_minor"])
        for r in await Refund.select(Refund.amount_minor)
        .where((Refund.invoice == invoice_id) & (Refund.state == "requested"))
        .run()
    )
    owed = int(row["total_minor"]) if row["status"] in {"open", "paid"} else 0
    return max(int(row["amount_paid_minor"]) - refunded - in_flight - owed, 0)
