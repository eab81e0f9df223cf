"""Reconciliation: asking the provider about unfinished payments and recording the successes webhooks missed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from marketplace.billing.gateway import PaymentGateway
from marketplace.billing.payments import RECEIVABLE_STATES, record_success
from marketplace.billing.tables import Payment
from marketplace.core import clock
from marketplace.core.db import write_transaction


@dataclass(frozen=True)
class ReconcileResult:
    checked: int
    recorded: int


async def reconcile_payments(
    gateway: PaymentGateway, progress: Callable[[int, int], None] | None = None
) -> ReconcileResult:
    """Ask the provider about every unfinished payment of an issued invoice; record missed successes.

    Uses the same exactly-once transition as the webhook, so running it twice, or racing a late
    webhook, records each payment once. Paid and voided invoices are asked about too: money on a
    second intent is exactly what must not go unnoticed (it is flagged as an overpayment).
    """
    rows = (
        await Payment.select(Payment.id, Payment.payment_intent_id)
        .where(
            Payment.state.is_in(list(RECEIVABLE_STATES))
            & Payment.invoice._.status.is_in(["open", "paid", "void"])
        )
        .order_by(Payment.created_at)
        .run()
    )
    recorded = 0
    for i, row in enumerate(rows):
        intent = await gateway.fetch_intent(row["payment_intent_id"])
        if intent.status == "succeeded":
            async with write_transaction():
                if await record_success(row["id"], intent.amount_minor, clock.now()):
                    recorded += 1
        if progress is not None:
            progress(i + 1, len(rows))
    return ReconcileResult(len(rows), recorded)
