"""Builders of billing's things: draft and issued invoices, and the lines an invoice body sends."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal

from marketplace.billing.drafts import create_draft
from marketplace.billing.invoices import issue_invoice
from marketplace.billing.schemas import InvoiceIn, InvoiceLineIn
from marketplace.scheduling.engagements import get_engagement
from tests.factories.scheduling import engagement

# The lines of POST /api/v1/invoices: 1.5 x 950.00 + 20% VAT, and 123.45 travel untaxed.
LINES = [
    {"description": "Stage 1 audit", "quantity": 1.5, "unit_amount_minor": 95000, "tax_rate": 20},
    {"description": "Travel", "quantity": 1, "unit_amount_minor": 12345, "tax_rate": 0},
]
STAGE1_LINE = InvoiceLineIn(
    "Stage 1 audit", quantity=Decimal("1.5"), unit_amount_minor=95000, tax_rate=Decimal(20)
)


async def draft_invoice(
    org_id: uuid.UUID,
    body_id: uuid.UUID,
    engagement_id: uuid.UUID | None = None,
    *,
    lines: Sequence[InvoiceLineIn] = (STAGE1_LINE,),
) -> uuid.UUID:
    """A draft invoice for the engagement (a new one unless given): one stage 1 line by default."""
    if engagement_id is None:
        engagement_id = (await engagement(org_id, body_id)).engagement_id
    eng = await get_engagement(engagement_id)
    data = InvoiceIn(engagement_id=engagement_id, currency="GBP", lines=list(lines))
    return await create_draft(None, eng, data)


async def issued_invoice(
    org_id: uuid.UUID,
    body_id: uuid.UUID,
    engagement_id: uuid.UUID | None = None,
    *,
    lines: Sequence[InvoiceLineIn] = (STAGE1_LINE,),
) -> uuid.UUID:
    """A draft invoice issued (numbered, due, sent)."""
    invoice_id = await draft_invoice(org_id, body_id, engagement_id, lines=lines)
    await issue_invoice(None, invoice_id)
    return invoice_id
