"""Billing tables: invoices and their lines, per-body number counters, payments, refunds and provider events."""

from __future__ import annotations

from piccolo.columns import (
    JSONB,
    UUID,
    BigInt,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from marketplace.accounts.tables import CertificationBody, Organisation, User
from marketplace.core import clock
from marketplace.scheduling.tables import Audit, Engagement


class InvoiceCounter(Table):
    """The next invoice number of one body; updated in the issuing transaction so numbers have no gaps."""

    id = UUID(primary_key=True)
    body = ForeignKey(CertificationBody, null=False, on_delete=OnDelete.cascade, unique=True)
    next_number = Integer(default=1)


class Invoice(Table):
    """An invoice or a credit note (pretix's model): frozen once issued, only ever voided by a credit note."""

    id = UUID(primary_key=True)
    # Restrict: an issued invoice is an accounting record both parties keep.
    body = ForeignKey(CertificationBody, null=False, on_delete=OnDelete.restrict, index=True)
    organisation = ForeignKey(Organisation, null=False, on_delete=OnDelete.restrict, index=True)
    engagement = ForeignKey(Engagement, null=False, on_delete=OnDelete.restrict, index=True)
    audit = ForeignKey(Audit, null=True, on_delete=OnDelete.set_null)
    kind = Varchar(length=12, default="invoice")  # invoice | credit_note
    # The invoice a credit note cancels (kind credit_note only). A plain id: both rows are
    # restrict-protected already, and a self reference would complicate the portable migrations.
    credit_for = UUID(null=True, default=None, index=True)
    # Gapless per body, shared by invoices and credit notes; null while a draft.
    number = Integer(null=True, default=None)
    status = Varchar(length=10, default="draft", index=True)  # draft|open|paid|void|issued
    currency = Varchar(length=3)
    subtotal_minor = BigInt(default=0)
    tax_minor = BigInt(default=0)
    total_minor = BigInt(default=0)
    amount_paid_minor = BigInt(default=0)
    issued_on = Date(null=True, default=None)
    due_on = Date(null=True, default=None)
    # Copies of both parties taken at issue, so later profile edits never rewrite an invoice.
    seller = JSONB(default={})
    buyer = JSONB(default={})
    notes = Text(default="")
    payment_failure = Text(default="")  # the last failed attempt's message, shown to both sides
    void_reason = Text(default="")
    created_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=clock.now)
    issued_at = Timestamptz(null=True, default=None)
    paid_at = Timestamptz(null=True, default=None)
    voided_at = Timestamptz(null=True, default=None)


class InvoiceLine(Table):
    """One line with its amounts computed once (half-even per line) and never recomputed after issue."""

    id = UUID(primary_key=True)
    invoice = ForeignKey(Invoice, null=False, on_delete=OnDelete.cascade, index=True)
    position = Integer(default=0)
    description = Text()
    quantity = Numeric(digits=(12, 3))
    unit_amount_minor = BigInt()
    tax_rate = Numeric(digits=(5, 2))  # a percentage such as 20
    net_minor = BigInt()
    tax_minor = BigInt()
    gross_minor = BigInt()


class Payment(Table):
    """One attempt to pay an invoice through a provider; maps the provider's id to our invoice.

    At most one attempt per invoice is live (claiming, created, pending or failed): a partial
    unique index (migration 2026-12-03T12:00:02) makes the database the last word on that.
    """

    id = UUID(primary_key=True)
    invoice = ForeignKey(Invoice, null=False, on_delete=OnDelete.restrict, index=True)
    provider = Varchar(length=20, default="stripe")
    # "claim:<id>" while the attempt is being created at the provider, then the intent id.
    payment_intent_id = Varchar(length=255, unique=True)
    amount_minor = BigInt()
    currency = Varchar(length=3)
    # claiming|created|pending|failed (live), detached (no longer the live attempt, or made
    # outside our flow, yet may still take money), confirmed, refunded.
    state = Varchar(length=10, default="created", index=True)
    failure_message = Text(default="")
    refunded_minor = BigInt(default=0)
    # The provider's time of the newest event applied: an older event never overwrites it.
    last_event_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=clock.now)
    confirmed_at = Timestamptz(null=True, default=None)


class Refund(Table):
    """Money handed back from a payment: requested before the provider is asked, so a second
    request finds it (one requested refund per invoice, a partial unique index), then the outcome.
    """

    id = UUID(primary_key=True)
    invoice = ForeignKey(Invoice, null=False, on_delete=OnDelete.restrict, index=True)
    payment = ForeignKey(Payment, null=False, on_delete=OnDelete.restrict, index=True)
    amount_minor = BigInt()
    currency = Varchar(length=3)
    state = Varchar(length=10, default="requested")  # requested | succeeded | failed
    reason = Varchar(length=20, default="overpayment")
    provider_refund_id = Varchar(length=255, null=True, default=None, unique=True)
    # The payment's refunded_minor when this refund was requested: after it, at least this plus
    # the amount has been refunded (a concurrent charge.refunded webhook may already say so).
    refunded_before_minor = BigInt(default=0)
    failure_message = Text(default="")
    created_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=clock.now)
    completed_at = Timestamptz(null=True, default=None)


class ProviderEvent(Table):
    """A provider event id, stored once in the same transaction as its effect (duplicates are no-ops)."""

    id = UUID(primary_key=True)
    provider = Varchar(length=20, default="stripe")
    event_id = Varchar(length=255, unique=True)
    type = Varchar(length=100)
    created = Timestamptz()  # the provider's time of the event
    outcome = Varchar(length=20, default="applied")  # applied | ignored | stale
    processed_at = Timestamptz(default=clock.now)
