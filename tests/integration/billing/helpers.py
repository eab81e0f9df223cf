"""Builders for billing tests: an engagement in tenant a, draft and issued invoices, counts."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import httpx

from marketplace.billing.drafts import create_draft
from marketplace.billing.invoices import issue_invoice
from marketplace.billing.schemas import InvoiceIn, InvoiceLineIn
from marketplace.billing.tables import Invoice, Payment, ProviderEvent
from marketplace.core import clock
from marketplace.core.tables import ActivityLog
from marketplace.scheduling.engagements import StartedEngagement, get_engagement, start_engagement

STANDARD = "ISO 9001:2015"

LINES = [
    {"description": "Stage 1 audit", "quantity": 1.5, "unit_amount_minor": 95000, "tax_rate": 20},
    {"description": "Travel", "quantity": 1, "unit_amount_minor": 12345, "tax_rate": 0},
]


async def engagement(org_id: uuid.UUID, body_id: uuid.UUID) -> StartedEngagement:
    return await start_engagement(
        actor_id=None,
        organisation_id=org_id,
        body_id=body_id,
        standard=STANDARD,
        iaf_sector=28,
        agreed_days={"stage1": 1.5, "stage2": 2},
        start=clock.today(),
    )


async def draft(
    org_id: uuid.UUID, body_id: uuid.UUID, engagement_id: uuid.UUID | None = None
) -> uuid.UUID:
    if engagement_id is None:
        engagement_id = (await engagement(org_id, body_id)).engagement_id
    eng = await get_engagement(engagement_id)
    data = InvoiceIn(
        engagement_id=engagement_id,
        currency="GBP",
        lines=[
            InvoiceLineIn(
                "Stage 1 audit",
                quantity=Decimal("1.5"),
                unit_amount_minor=95000,
                tax_rate=Decimal(20),
            ),
        ],
    )
    return await create_draft(None, eng, data)


async def issued(org_id: uuid.UUID, body_id: uuid.UUID) -> uuid.UUID:
    invoice_id = await draft(org_id, body_id)
    await issue_invoice(None, invoice_id)
    return invoice_id


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
