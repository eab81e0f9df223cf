"""Drafting invoices: checked lines, lines prefilled from the accepted quote, the body's engagements."""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from marketplace.accounts.guards import Principal, require_role
from marketplace.accounts.roles import TenantKind
from marketplace.accounts.tables import CertificationBody
from marketplace.billing.access import BILLERS
from marketplace.billing.schemas import InvoiceIn, InvoiceLineIn
from marketplace.billing.tables import Invoice, InvoiceLine
from marketplace.billing.totals import line_amounts, totals
from marketplace.core import clock
from marketplace.core.activity import Tenant, log_action
from marketplace.core.db import write_transaction
from marketplace.core.errors import Invalid
from marketplace.quotes.tables import Quote, QuoteLine
from marketplace.scheduling.engagements import get_engagement
from marketplace.scheduling.schemas import EngagementRecord
from marketplace.scheduling.tables import Audit, Engagement

MAX_QUANTITY = Decimal(1_000_000)
MAX_TOTAL_MINOR = 10**15


def _decimal(value: Decimal, field: str, places: int, low: Decimal, high: Decimal) -> Decimal:
    try:
        ok = value.is_finite() and low <= value <= high
        exponent = value.normalize().as_tuple().exponent
    except (InvalidOperation, ValueError):
        ok, exponent = False, 0
    if not ok:
        raise Invalid.field(field, f"Give a number from {low} to {high}.")
    if isinstance(exponent, int) and exponent < -places:
        raise Invalid.field(field, f"Use at most {places} decimal places.")
    return value


def check_lines(lines: list[InvoiceLineIn]) -> list[tuple[InvoiceLineIn, Any]]:
    """Every line: a description, 0 < quantity <= 1,000,000 (3 places), 0 <= tax rate <= 100 (2 places)."""
    if not lines:
        raise Invalid.field("lines", "Add at least one line.")
    checked = []
    for i, line in enumerate(lines):
        if not line.description.strip():
            raise Invalid.field(f"lines[{i}].description", "Describe what is billed.")
        quantity = _decimal(line.quantity, f"lines[{i}].quantity", 3, Decimal(0), MAX_QUANTITY)
        if quantity == 0:
            raise Invalid.field(f"lines[{i}].quantity", "The quantity must be more than zero.")
        rate = _decimal(line.tax_rate, f"lines[{i}].tax_rate", 2, Decimal(0), Decimal(100))
        checked.append((line, line_amounts(quantity, line.unit_amount_minor, rate)))
    total = totals(a for _, a in checked).total_minor
    if total <= 0:
        raise Invalid.field("lines", "An invoice must total more than zero.")
    if total > MAX_TOTAL_MINOR:  # far beyond any audit fee, and within 64-bit columns
        raise Invalid.field("lines", "The invoice total is too large.")
    return checked


async def quote_lines(engagement_id: uuid.UUID, audit_kind: str | None) -> list[InvoiceLineIn]:
    """Lines from the accepted quote that started this engagement (empty when there is none)."""
    quote = (
        await Quote.select(Quote.id)
        .where((Quote.engagement == engagement_id) & (Quote.status == "accepted"))
        .first()
        .run()
    )
    if quote is None:  # engaged without a quote through us: nothing to copy
        return []
    rows = await QuoteLine.select().where(QuoteLine.quote == quote["id"]).run()
    lines: list[InvoiceLineIn] = []
    for row in rows:
        kind = str(row["audit_kind"] or "")
        if audit_kind and kind != audit_kind:
            continue
        label = kind.replace("1", " 1").replace("2", " 2").replace("_", " ").capitalize()
        days = Decimal(str(row["auditor_days"] or 0))
        if days > 0 and int(row["day_rate_minor"] or 0) > 0:
            lines.append(
                InvoiceLineIn(
                    f"{label}: auditor days",
                    days.quantize(Decimal("0.001")).normalize(),
                    int(row["day_rate_minor"]),
                )
            )
        for key, what in (("fees_minor", "fees"), ("travel_minor", "travel")):
            if int(row[key] or 0) > 0:
                lines.append(InvoiceLineIn(f"{label}: {what}", Decimal(1), int(row[key])))
    return lines


async def create_draft(
    actor_id: uuid.UUID | None, engagement: EngagementRecord, data: InvoiceIn
) -> uuid.UUID:
    """A draft invoice for an engagement (optionally one of its audits), prefilled from the accepted
    quote when no lines are given. Drafts carry no number and may be discarded; nothing is frozen yet.
    """
    audit_kind = None
    if data.audit_id is not None:
        audit = (
            await Audit.select(Audit.kind)
            .where((Audit.id == data.audit_id) & (Audit.cycle._.engagement == engagement.id))
            .first()
            .run()
        )
        if audit is None:
            raise Invalid.field("audit_id", "This audit is not part of the engagement.")
        audit_kind = audit["kind"]
    if data.due_on is not None and data.due_on < clock.today():
        raise Invalid.field("due_on", "The due date cannot be in the past.")
    lines = data.lines
    if lines is None:
        lines = await quote_lines(engagement.id, audit_kind)
        if not lines:
            raise Invalid.field("lines", "Add lines: there is no accepted quote to copy them from.")
    checked = check_lines(lines)
    currency = data.currency
    if currency is None:
        body = (
            await CertificationBody.select(CertificationBody.currency)
            .where(CertificationBody.id == engagement.body_id)
            .first()
            .run()
        )
        currency = (body or {}).get("currency") or "EUR"
    sums = totals(a for _, a in checked)
    invoice = Invoice(
        body=engagement.body_id,
        organisation=engagement.organisation_id,
        engagement=engagement.id,
        audit=data.audit_id,
        currency=currency,
        due_on=data.due_on,
        notes=data.notes,
        subtotal_minor=sums.subtotal_minor,
        tax_minor=sums.tax_minor,
        total_minor=sums.total_minor,
        created_by=actor_id,
    )
    async with write_transaction():
        await invoice.save().run()
        await InvoiceLine.insert(
            *[
                InvoiceLine(
                    invoice=invoice.id,
                    position=i + 1,
                    description=line.description.strip(),
                    quantity=line.quantity,
                    unit_amount_minor=line.unit_amount_minor,
                    tax_rate=line.tax_rate,
                    net_minor=amounts.net_minor,
                    tax_minor=amounts.tax_minor,
                    gross_minor=amounts.gross_minor,
                )
                for i, (line, amounts) in enumerate(checked)
            ]
        ).run()
        await log_action(
            "marketplace.invoice.drafted",
            actor_id=actor_id,
            entity_type="invoice",
            entity_id=invoice.id,
            tenant=Tenant("body", engagement.body_id),
            data={"total_minor": sums.total_minor, "currency": currency},
        )
    return invoice.id


async def body_engagements(body_id: uuid.UUID) -> list[dict[str, Any]]:
    """The body's engagements to bill, with the client's name (one query)."""
    rows: list[dict[str, Any]] = (
        await Engagement.select(
            Engagement.id,
            Engagement.standard,
            Engagement.started_on,
            Engagement.organisation._.name.as_alias("organisation_name"),
        )
        .where(Engagement.body == body_id)
        .order_by(Engagement.created_at, ascending=False)
        .run()
    )
    return rows


async def draft_invoice(
    principal: Principal, data: InvoiceIn, *, body_id: uuid.UUID | None = None
) -> uuid.UUID:
    """The body's finance or owner drafts an invoice against one of its engagements (see
    create_draft). From a body's page (`body_id`) an engagement of another body is a wrong choice.
    """
    engagement = await get_engagement(data.engagement_id)
    if body_id is not None and engagement.body_id != body_id:
        raise Invalid.field("engagement_id", "Choose an engagement.")
    require_role(
        principal, TenantKind.body, engagement.body_id, BILLERS, what="No such engagement."
    )
    return await create_draft(principal.user_id, engagement, data)
