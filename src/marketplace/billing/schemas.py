"""Input and output shapes of the billing API."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, Any

import msgspec

Currency = Annotated[
    str, msgspec.Meta(pattern=r"^[A-Z]{3}$", description="ISO 4217 code such as GBP")
]


class InvoiceLineIn(msgspec.Struct, forbid_unknown_fields=True):
    description: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    quantity: Decimal
    unit_amount_minor: Annotated[int, msgspec.Meta(ge=0, le=10**12)]
    tax_rate: Decimal = Decimal(0)


class InvoiceIn(msgspec.Struct, forbid_unknown_fields=True):
    engagement_id: uuid.UUID
    audit_id: uuid.UUID | None = None
    currency: Currency | None = None  # the body's currency when left out
    due_on: dt.date | None = None  # 30 days after issue when left out
    # Left out: prefilled from the accepted quote's lines for this engagement (and audit).
    lines: Annotated[list[InvoiceLineIn], msgspec.Meta(max_length=100)] | None = None
    notes: Annotated[str, msgspec.Meta(max_length=2000)] = ""


class VoidIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(max_length=1000)] = ""


class InvoiceLineOut(msgspec.Struct):
    position: int
    description: str
    quantity: Decimal
    unit_amount_minor: int
    tax_rate: Decimal
    net_minor: int
    tax_minor: int
    gross_minor: int


class PaymentOut(msgspec.Struct):
    id: uuid.UUID
    provider: str
    amount_minor: int
    status: str
    provider_reference: str
    failure_message: str
    refunded_minor: int


class RefundOut(msgspec.Struct):
    id: uuid.UUID
    amount_minor: int
    status: str  # requested | succeeded | failed
    reason: str
    provider_reference: str
    failure_message: str


class RefundStartOut(msgspec.Struct):
    id: uuid.UUID
    amount_minor: int
    currency: str
    provider_reference: str
    status: str = "succeeded"


class InvoiceOut(msgspec.Struct):
    id: uuid.UUID
    kind: str  # invoice | credit_note
    number: int | None
    status: str  # draft | open | paid | void (credit notes: issued)
    overdue: bool
    body_id: uuid.UUID
    organisation_id: uuid.UUID
    engagement_id: uuid.UUID
    audit_id: uuid.UUID | None
    credit_for: uuid.UUID | None
    credit_note_id: uuid.UUID | None
    currency: str
    lines: list[InvoiceLineOut]
    subtotal_minor: int
    tax_minor: int
    total_minor: int
    amount_paid_minor: int
    amount_due_minor: int
    issued_on: dt.date | None
    due_on: dt.date | None
    seller: dict[str, Any]
    buyer: dict[str, Any]
    notes: str
    payment_failure: str
    payments: list[PaymentOut]
    # Money received beyond the amount due (less refunds made or under way): shown, never hidden.
    overpaid: bool
    overpaid_minor: int
    refund_in_progress: bool
    refunds: list[RefundOut]


class InvoiceView(InvoiceOut):
    """The invoice as its page shows it: the API's answer and the voiding reason beside it."""

    void_reason: str = ""

    def api(self) -> InvoiceOut:
        """The API's answer: the same fields but the page's extras."""
        return InvoiceOut(**{f: getattr(self, f) for f in InvoiceOut.__struct_fields__})


class InvoiceSeen(msgspec.Struct):
    """An invoice and the side ("body" or "client") the caller sees it from."""

    side: str
    invoice: InvoiceView


class PaymentStartOut(msgspec.Struct):
    provider: str
    payment_intent_id: str
    client_secret: str
    publishable_key: str


class InvoiceSummaryOut(msgspec.Struct):
    id: uuid.UUID
    kind: str
    number: int | None
    status: str
    overdue: bool
    organisation_id: uuid.UUID
    body_id: uuid.UUID
    currency: str
    total_minor: int
    amount_due_minor: int
    due_on: dt.date | None


class WebhookOut(msgspec.Struct):
    """What Stripe is told about a delivery: applied, ignored or duplicate."""

    status: str
