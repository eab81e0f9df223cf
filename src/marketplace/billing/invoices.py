"""Issuing invoices (gapless numbers, frozen parties), voiding them with credit notes, reading and listing."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import msgspec

from marketplace.accounts.guards import Principal
from marketplace.accounts.tables import CertificationBody, Organisation, Site
from marketplace.billing.access import BILLERS, NO_INVOICE, NO_ROLES, authorise, next_status, refuse
from marketplace.billing.balance import amount_due, is_overdue, overpaid_minor
from marketplace.billing.schemas import InvoiceSeen, InvoiceView
from marketplace.billing.tables import Invoice, InvoiceCounter, InvoiceLine, Payment, Refund
from marketplace.core import clock
from marketplace.core.activity import Tenant, log_action
from marketplace.core.db import write_transaction
from marketplace.core.errors import Conflict, Invalid, NotFound
from marketplace.rules import invoice_status

DEFAULT_TERMS = dt.timedelta(days=30)


async def next_number(body_id: uuid.UUID) -> int:
    """Take the body's next number. Call inside a write transaction.

    The counter row is bumped by one atomic UPDATE ... RETURNING: on PostgreSQL the row lock is
    held to commit, so concurrent issuers queue and a rolled-back issue gives its number back
    (no gaps); on SQLite the IMMEDIATE transaction already serialises writers.
    """
    await (
        InvoiceCounter.insert(InvoiceCounter(body=body_id, next_number=1))
        .on_conflict(target=InvoiceCounter.body, action="DO NOTHING")
        .run()
    )
    rows = (
        await InvoiceCounter.update({InvoiceCounter.next_number: InvoiceCounter.next_number + 1})
        .where(InvoiceCounter.body == body_id)
        .returning(InvoiceCounter.next_number)
        .run()
    )
    return int(rows[0]["next_number"]) - 1


async def _parties(
    body_id: uuid.UUID, organisation_id: uuid.UUID
) -> tuple[dict[str, Any], dict[str, Any]]:
    body = (
        await CertificationBody.select(
            CertificationBody.name,
            CertificationBody.country,
            CertificationBody.website,
            CertificationBody.slug,
        )
        .where(CertificationBody.id == body_id)
        .first()
        .run()
    ) or {}
    org = (
        await Organisation.select(Organisation.name, Organisation.country)
        .where(Organisation.id == organisation_id)
        .first()
        .run()
    ) or {}
    site = (
        await Site.select(Site.name, Site.address, Site.country)
        .where(Site.organisation == organisation_id)
        .order_by(Site.central, ascending=False)
        .first()
        .run()
    ) or {}
    seller = {"id": str(body_id), **{k: body.get(k, "") for k in ("name", "country", "website")}}
    buyer = {
        "id": str(organisation_id),
        "name": org.get("name", ""),
        "country": org.get("country", ""),
        "address": site.get("address", ""),
    }
    return seller, buyer


async def issue_invoice(actor_id: uuid.UUID | None, invoice_id: uuid.UUID) -> int:
    """Issue a draft: take the body's next gapless number, freeze seller and buyer, set the due date.

    From here on the invoice is never edited; a wrong one is voided with a credit note (pretix).
    """
    async with write_transaction():
        row = await Invoice.select().where(Invoice.id == invoice_id).first().run()
        if row is None:
            raise NotFound(NO_INVOICE)
        status = next_status(row["kind"], row["status"], invoice_status.ISSUE)
        today = clock.today()
        due_on = row["due_on"] or today + DEFAULT_TERMS
        if due_on < today:
            raise Conflict(
                "The draft's due date has passed; make a new draft.", code="due_date_passed"
            )
        seller, buyer = await _parties(row["body"], row["organisation"])
        number = await next_number(row["body"])
        updated = (
            await Invoice.update(
                {
                    Invoice.status: status,
                    Invoice.number: number,
                    Invoice.issued_on: today,
                    Invoice.issued_at: clock.now(),
                    Invoice.due_on: due_on,
                    Invoice.seller: seller,
                    Invoice.buyer: buyer,
                }
            )
            .where((Invoice.id == invoice_id) & (Invoice.status == "draft"))
            .returning(Invoice.id)
            .run()
        )
        if not updated:  # issued by a concurrent request: roll back, giving the number back
            refuse(invoice_status.ISSUE)
        for tenant in (Tenant("body", row["body"]), Tenant("organisation", row["organisation"])):
            await log_action(
                "marketplace.invoice.issued",
                actor_id=actor_id,
                entity_type="invoice",
                entity_id=invoice_id,
                tenant=tenant,
                data={"number": number, "total_minor": row["total_minor"]},
            )
    return number


async def void_invoice(actor_id: uuid.UUID | None, invoice_id: uuid.UUID, reason: str) -> uuid.UUID:
    """Void an open invoice by issuing a credit note that refers to it (the invoice itself is not edited
    beyond its status). Paid invoices are refunded first; drafts need no credit note.
    """
    async with write_transaction():
        row = await Invoice.select().where(Invoice.id == invoice_id).first().run()
        if row is None:
            raise NotFound(NO_INVOICE)
        status = next_status(row["kind"], row["status"], invoice_status.VOID_ACTION)
        now = clock.now()
        updated = (
            await Invoice.update(
                {Invoice.status: status, Invoice.voided_at: now, Invoice.void_reason: reason}
            )
            .where((Invoice.id == invoice_id) & (Invoice.status == "open"))
            .returning(Invoice.id)
            .run()
        )
        if not updated:  # voided by a concurrent request
            refuse(invoice_status.VOID_ACTION)
        number = await next_number(row["body"])
        credit = Invoice(
            body=row["body"],
            organisation=row["organisation"],
            engagement=row["engagement"],
            audit=row["audit"],
            kind="credit_note",
            credit_for=invoice_id,
            number=number,
            status="issued",
            currency=row["currency"],
            subtotal_minor=-row["subtotal_minor"],
            tax_minor=-row["tax_minor"],
            total_minor=-row["total_minor"],
            issued_on=clock.today(),
            issued_at=now,
            seller=row["seller"],
            buyer=row["buyer"],
            notes=reason,
            created_by=actor_id,
        )
        await credit.save().run()
        lines = await InvoiceLine.select().where(InvoiceLine.invoice == invoice_id).run()
        if lines:
            await InvoiceLine.insert(
                *[
                    InvoiceLine(
                        invoice=credit.id,
                        position=line["position"],
                        description=line["description"],
                        quantity=-Decimal(line["quantity"]),
                        unit_amount_minor=line["unit_amount_minor"],
                        tax_rate=line["tax_rate"],
                        net_minor=-line["net_minor"],
                        tax_minor=-line["tax_minor"],
                        gross_minor=-line["gross_minor"],
                    )
                    for line in lines
                ]
            ).run()
        for tenant in (Tenant("body", row["body"]), Tenant("organisation", row["organisation"])):
            await log_action(
                "marketplace.invoice.voided",
                actor_id=actor_id,
                entity_type="invoice",
                entity_id=invoice_id,
                tenant=tenant,
                data={"credit_note_id": str(credit.id), "credit_note_number": number},
            )
    return credit.id


# --- reading -----------------------------------------------------------------------------------


async def invoice_detail(invoice_id: uuid.UUID) -> InvoiceView:
    """The invoice with lines, payments, refunds and its credit note: a fixed number of queries."""
    row = (
        await Invoice.select().where(Invoice.id == invoice_id).first().output(load_json=True).run()
    )
    if row is None:
        raise NotFound(NO_INVOICE)
    lines = (
        await InvoiceLine.select()
        .where(InvoiceLine.invoice == invoice_id)
        .order_by(InvoiceLine.position)
        .run()
    )
    payments = (
        await Payment.select()
        # A claim is a request's placeholder for an intent not yet made: nothing to show.
        .where((Payment.invoice == invoice_id) & (Payment.state != "claiming"))
        .order_by(Payment.created_at)
        .run()
    )
    credit = await Invoice.select(Invoice.id).where(Invoice.credit_for == invoice_id).first().run()
    refunds = (
        await Refund.select().where(Refund.invoice == invoice_id).order_by(Refund.created_at).run()
    )
    overpaid = await overpaid_minor(invoice_id)
    detail = {
        **row,
        "body_id": row["body"],
        "organisation_id": row["organisation"],
        "engagement_id": row["engagement"],
        "audit_id": row["audit"],
        "overdue": is_overdue(row["status"], row["due_on"]),
        "amount_due_minor": amount_due(row),
        "credit_note_id": credit["id"] if credit else None,
        "overpaid": overpaid > 0,
        "overpaid_minor": overpaid,
        "refund_in_progress": any(r["state"] == "requested" for r in refunds),
        "refunds": [
            {
                "id": r["id"],
                "amount_minor": r["amount_minor"],
                "status": r["state"],
                "reason": r["reason"],
                "provider_reference": r["provider_refund_id"] or "",
                "failure_message": r["failure_message"],
                "created_at": r["created_at"],
            }
            for r in refunds
        ],
        "lines": [
            {**line, "quantity": Decimal(line["quantity"]), "tax_rate": Decimal(line["tax_rate"])}
            for line in lines
        ],
        "payments": [
            {
                "id": p["id"],
                "provider": p["provider"],
                "amount_minor": p["amount_minor"],
                "status": p["state"],
                "provider_reference": p["payment_intent_id"],
                "failure_message": p["failure_message"],
                "refunded_minor": p["refunded_minor"],
            }
            for p in payments
        ],
    }
    return msgspec.convert(detail, InvoiceView, strict=False)


INVOICE_STATUSES = ("draft", "open", "paid", "void", "issued")


def invoice_where(
    *,
    body_id: uuid.UUID | None = None,
    organisation_id: uuid.UUID | None = None,
    status: str | None = None,
    overdue: bool | None = None,
) -> Any:
    """The invoice lists' filter, shared with the dashboards so a count equals its list.

    With both ids it is one client's invoices at one body (the body's view, drafts included).
    """
    where: Any
    if body_id is not None:
        where = Invoice.body == body_id
        if organisation_id is not None:
            where &= Invoice.organisation == organisation_id
    elif organisation_id is not None:
        where = (Invoice.organisation == organisation_id) & (Invoice.status != "draft")
    else:
        raise ValueError("name a body or an organisation")
    if status:
        if status not in INVOICE_STATUSES:
            raise Invalid.field("status", f"Choose one of {', '.join(INVOICE_STATUSES)}.")
        where &= Invoice.status == status
    if overdue:
        # The same rule as is_overdue, in SQL: open and past its due date.
        where &= (Invoice.status == "open") & (Invoice.due_on < clock.today())
    return where


async def list_invoices(
    *,
    body_id: uuid.UUID | None = None,
    organisation_id: uuid.UUID | None = None,
    status: str | None = None,
    overdue: bool | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """A body's invoices (drafts included) or a client's (issued only), newest first."""
    where = invoice_where(
        body_id=body_id, organisation_id=organisation_id, status=status, overdue=overdue
    )
    rows = (
        await Invoice.select(
            *Invoice.all_columns(exclude=[Invoice.seller, Invoice.buyer]),
            Invoice.organisation._.name.as_alias("organisation_name"),
            Invoice.body._.name.as_alias("body_name"),
        )
        .where(where)
        .order_by(Invoice.created_at, ascending=False)
        .limit(limit)
        .offset(offset)
        .run()
    )
    total = await Invoice.count().where(where).run()
    for row in rows:
        row["overdue"] = is_overdue(row["status"], row["due_on"])
        row["amount_due_minor"] = amount_due(row)
        row["body_id"] = row["body"]
        row["organisation_id"] = row["organisation"]
    return rows, total


# --- the actions, as the API and the pages call them --------------------------------------------


async def read_invoice(
    principal: Principal,
    invoice_id: uuid.UUID,
    *,
    client: frozenset[str] = NO_ROLES,
    body: frozenset[str] = NO_ROLES,
) -> InvoiceSeen:
    """The invoice as the caller may see it (a client never sees the body's drafts) and their side."""
    side = await authorise(principal, invoice_id, client=client, body=body)
    return InvoiceSeen(side=side, invoice=await invoice_detail(invoice_id))


async def issue_draft(principal: Principal, invoice_id: uuid.UUID) -> int:
    """The body's finance or owner issues its draft (see issue_invoice); the number it took."""
    await authorise(principal, invoice_id, body=BILLERS)
    return await issue_invoice(principal.user_id, invoice_id)


async def void_open(principal: Principal, invoice_id: uuid.UUID, reason: str) -> uuid.UUID:
    """The body's finance or owner voids an open invoice (see void_invoice); the credit note's id."""
    await authorise(principal, invoice_id, body=BILLERS)
    return await void_invoice(principal.user_id, invoice_id, reason)
