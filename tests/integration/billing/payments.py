"""What billing's payment tests read back: an invoice's row, the once-only counts, a payment start."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from marketplace.billing.tables import Invoice, Payment, ProviderEvent
from marketplace.core.tables import ActivityLog


async def invoice_row(invoice_id: uuid.UUID) -> dict[str, Any]:
    row = await Invoice.select().where(Invoice.id == invoice_id).first().run()
    assert row is not None
    return row


async def counts(invoice_id: uuid.UUID) -> dict[str, int]:
    """What must happen exactly once: confirmations, the status change, the activity entry."""
    return {
        "confirmed": await Payment.count()
        .where((Payment.invoice == invoice_id) & (Payment.state == "confirmed"))
        .run(),
        "paid_entries": await ActivityLog.count()
        .where(
            (ActivityLog.entity_id == str(invoice_id))
            & (ActivityLog.action == "marketplace.invoice.paid")
        )
        .run(),
        "events": await ProviderEvent.count().run(),
    }


async def start_payment(
    client: httpx.AsyncClient, headers: dict[str, str], invoice_id: uuid.UUID
) -> dict[str, Any]:
    response = await client.post(f"/api/v1/invoices/{invoice_id}/payment", headers=headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data
