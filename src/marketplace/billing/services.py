"""Billing services: drafting and issuing invoices, credit notes, payments and provider events, exactly once."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from marketplace.accounts.guards import Principal
from marketplace.accounts.tables import CertificationBody, Organisation, Site
from marketplace.billing.gateway import GatewayError, Intent, InvoiceToPay, PaymentGateway
from marketplace.billing.schemas import InvoiceIn, InvoiceLineIn
from marketplace.billing.tables import (
    Invoice,
    InvoiceCounter,
    InvoiceLine,
    Payment,
    ProviderEvent,
    Refund,
)
from marketplace.billing.totals import line_amounts, totals
from marketplace.core import clock
from marketplace.core.activity import Tenant, log_action
from marketplace.core.db import lock_row, write_transaction
from marketplace.core.errors import Conflict, Invalid, NotFound
from marketplace.scheduling.context import check_access
from marketplace.scheduling.tables import Audit

log = logging.getLogger("marketplace.billing")

# Who may do what with invoices. Drafting, issuing and voiding are the body's finance work.
BILLERS = frozenset({"owner", "finance"})
CLIENT_ALL = frozenset({"owner", "quality_manager", "member"})
NO_ROLES: frozenset[str] = frozenset()
NO_INVOICE = "No such invoice."

DEFAULT_TERMS = dt.timedelta(days=30)
MAX_QUANTITY = Decimal(1_000_000)
MAX_TOTAL_MINOR = 10**15

# Payment states (pretix): a payment only moves forward; "failed" may still succeed on a retry.
OPEN_PAYMENT_STATES = ("created", "pending", "failed")
# At most one of these per invoice (partial unique index): "claiming" is the placeholder a
# request holds while it asks the provider for the intent.
LIVE_STATES = ("claiming", *OPEN_PAYMENT_STATES)
# Money may still arrive on these: the live attempt, and detached ones (retired, or made
# outside our flow) whose secret a browser may still hold.
RECEIVABLE_STATES = (*OPEN_PAYMENT_STATES, "detached")
# A claim older than this belongs to a request that died before filling it in.
CLAIM_ABANDONED_AFTER = dt.timedelta(seconds=60)
CLAIM_WAIT_SECONDS = 20.0
CLAIM_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class InvoiceRef:
    id: uuid.UUID
    body_id: uuid.UUID
    organisation_id: uuid.UUID
    kind: str
    status: str


async def invoice_ref(invoice_id: uuid.UUID) -> InvoiceRef:
    row = (
        await Invoice.select(
            Invoice.id, Invoice.body, Invoice.organisation, Invoice.kind, Invoice.status
        )
        .where(Invoice.id == invoice_id)
        .first()
        .run()
    )
    if row is None:
        raise NotFound(NO_INVOICE)
    return InvoiceRef(row["id"], row["body"], row["organisation"], row["kind"], row["status"])


def check_invoice_access(
    principal: Principal,
    ref: InvoiceRef,
    *,
    client: frozenset[str] = NO_ROLES,
    body: frozenset[str] = NO_ROLES,
) -> str:
    """Which side the caller acts for. A client never sees the body's drafts (404, as if unknown)."""
    if ref.status == "draft" and not principal.roles_in("body", ref.body_id):
        raise NotFound(NO_INVOICE)
    return check_access(
        principal, ref.organisation_id, ref.body_id, client=client, body=body, what=NO_INVOICE
    )


def is_overdue(status: str, due_on: dt.date | None, today: dt.date | None = None) -> bool:
    """Shown, never stored: an open invoice whose due date has passed."""
    return status == "open" and due_on is not None and due_on < (today or clock.today())


def amount_due(row: dict[str, Any]) -> int:
    if row["kind"] != "invoice" or row["status"] != "open":
        return 0
    return max(int(row["total_minor"]) - int(row["amount_paid_minor"]), 0)


# --- drafting ----------------------------------------------------------------------------------


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
    """Lines from the accepted quote that started this engagement (empty when there is none).

    Read defensively: quotes is another team's domain, so a missing table or column means "no
    prefill" rather than an error.
    """
    try:
        from marketplace.quotes.tables import Quote, QuoteLine
    except ImportError:
        return []
    try:
        quote = (
            await Quote.select(Quote.id)
            .where((Quote.engagement == engagement_id) & (Quote.status == "accepted"))
            .first()
            .run()
        )
        if quote is None:
            return []
        rows = await QuoteLine.select().where(QuoteLine.quote == quote["id"]).run()
    except (AttributeError, ValueError):
        return []
    lines: list[InvoiceLineIn] = []
    for row in rows:
        kind = str(row.get("audit_kind") or "")
        if audit_kind and kind != audit_kind:
            continue
        label = kind.replace("1", " 1").replace("2", " 2").replace("_", " ").capitalize()
        days = Decimal(str(row.get("auditor_days") or 0))
        if days > 0 and int(row.get("day_rate_minor") or 0) > 0:
            lines.append(
                InvoiceLineIn(
                    f"{label}: auditor days",
                    days.quantize(Decimal("0.001")).normalize(),
                    int(row["day_rate_minor"]),
                )
            )
        for key, what in (("fees_minor", "fees"), ("travel_minor", "travel")):
            if int(row.get(key) or 0) > 0:
                lines.append(InvoiceLineIn(f"{label}: {what}", Decimal(1), int(row[key])))
    return lines


async def create_draft(
    actor_id: uuid.UUID | None, engagement: dict[str, Any], data: InvoiceIn
) -> uuid.UUID:
    """A draft invoice for an engagement (optionally one of its audits), prefilled from the accepted
    quote when no lines are given. Drafts carry no number and may be discarded; nothing is frozen yet.
    """
    audit_kind = None
    if data.audit_id is not None:
        audit = (
            await Audit.select(Audit.kind)
            .where((Audit.id == data.audit_id) & (Audit.cycle._.engagement == engagement["id"]))
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
        lines = await quote_lines(engagement["id"], audit_kind)
        if not lines:
            raise Invalid.field("lines", "Add lines: there is no accepted quote to copy them from.")
    checked = check_lines(lines)
    currency = data.currency
    if currency is None:
        body = (
            await CertificationBody.select(CertificationBody.currency)
            .where(CertificationBody.id == engagement["body"])
            .first()
            .run()
        )
        currency = (body or {}).get("currency") or "EUR"
    sums = totals(a for _, a in checked)
    invoice = Invoice(
        body=engagement["body"],
        organisation=engagement["organisation"],
        engagement=engagement["id"],
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
            tenant=Tenant("body", engagement["body"]),
            data={"total_minor": sums.total_minor, "currency": currency},
        )
    return invoice.id


# --- issuing, numbering, voiding ---------------------------------------------------------------


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
        if row["status"] != "draft" or row["kind"] != "invoice":
            raise Conflict("Only a draft invoice can be issued.", code="not_draft")
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
                    Invoice.status: "open",
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
            raise Conflict("Only a draft invoice can be issued.", code="not_draft")
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
        if row["kind"] != "invoice" or row["status"] != "open":
            raise Conflict("Only an open invoice can be voided.", code="not_open")
        now = clock.now()
        updated = (
            await Invoice.update(
                {Invoice.status: "void", Invoice.voided_at: now, Invoice.void_reason: reason}
            )
            .where((Invoice.id == invoice_id) & (Invoice.status == "open"))
            .returning(Invoice.id)
            .run()
        )
        if not updated:
            raise Conflict("Only an open invoice can be voided.", code="not_open")
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


async def invoice_detail(invoice_id: uuid.UUID) -> dict[str, Any]:
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
    return {
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


# --- payments ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentStart:
    payment_intent_id: str
    client_secret: str


@dataclass(frozen=True)
class _Step:
    """What the locked look at an invoice decided: pay with `live`, create `claimed`, or wait."""

    live: dict[str, Any] | None = None
    claimed: uuid.UUID | None = None
    waiting_for: uuid.UUID | None = None
    amount_minor: int = 0
    currency: str = ""
    number: int | None = None
    retired: tuple[str, ...] = ()


async def _detach(payment_ids: list[uuid.UUID]) -> None:
    """Retire live attempts: no longer the invoice's live one, still able to record money."""
    if payment_ids:
        await (
            Payment.update({Payment.state: "detached"})
            .where(Payment.id.is_in(payment_ids) & Payment.state.is_in(list(OPEN_PAYMENT_STATES)))
            .run()
        )


async def _claim_or_find(provider: str, invoice_id: uuid.UUID) -> _Step:
    """Under the invoice's lock: its live attempt, or a fresh claim row for this request to fill.

    PostgreSQL queues concurrent callers on the invoice row (`FOR UPDATE`); SQLite's IMMEDIATE
    transaction admits one at a time; the partial unique index on live payments is the last word.
    The claim is committed before the provider is called, so no transaction waits on the network.
    """
    async with write_transaction():
        await lock_row(Invoice, invoice_id)
        row = await Invoice.select().where(Invoice.id == invoice_id).first().run()
        if row is None:
            raise NotFound(NO_INVOICE)
        due = amount_due(row)
        if row["kind"] != "invoice" or row["status"] != "open" or due <= 0:
            raise Conflict("Only an open invoice with an amount due can be paid.", code="not_open")
        live = (
            await Payment.select()
            .where((Payment.invoice == invoice_id) & Payment.state.is_in(list(LIVE_STATES)))
            .first()
            .run()
        )
        retired: list[str] = []
        if live is not None:
            if live["state"] == "claiming":
                if live["created_at"] > clock.now() - CLAIM_ABANDONED_AFTER:
                    return _Step(waiting_for=live["id"])
                # Its request died between claiming and filling in: nobody holds a secret for
                # whatever it may have made at the provider, so the claim is simply taken over.
                await (
                    Payment.delete()
                    .where((Payment.id == live["id"]) & (Payment.state == "claiming"))
                    .run()
                )
            elif live["amount_minor"] == due and live["currency"] == row["currency"]:
                return _Step(live=live)
            else:
                # The amount due changed (a part payment arrived): that intent is for another sum.
                await _detach([live["id"]])
                retired.append(live["payment_intent_id"])
        claim_id = uuid.uuid4()
        await (
            Payment(
                id=claim_id,
                invoice=invoice_id,
                provider=provider,
                payment_intent_id=f"claim:{claim_id}",
                amount_minor=due,
                currency=row["currency"],
                state="claiming",
            )
            .save()
            .run()
        )
    return _Step(
        claimed=claim_id,
        amount_minor=due,
        currency=row["currency"],
        number=row["number"],
        retired=tuple(retired),
    )


async def _cancel_quietly(gateway: PaymentGateway, intent_ids: tuple[str, ...]) -> None:
    # Best effort: a retired intent that still succeeds is recorded and shown as overpaid.
    for intent_id in intent_ids:
        try:
            await gateway.cancel_intent(intent_id)
        except GatewayError as exc:
            log.warning("could not cancel retired intent %s: %s", intent_id, exc)


async def _fill_claim(gateway: PaymentGateway, invoice_id: uuid.UUID, step: _Step) -> Intent | None:
    """Create the provider's intent for our claim and write its id in; None if the claim was lost."""
    assert step.claimed is not None
    try:
        intent = await gateway.create_intent(
            InvoiceToPay(
                invoice_id=invoice_id,
                number=step.number,
                amount_minor=step.amount_minor,
                currency=step.currency,
                attempt_id=step.claimed,
            )
        )
    except BaseException:
        # Refused, unreachable or cancelled: give the claim back so the next request can try.
        await (
            Payment.delete()
            .where((Payment.id == step.claimed) & (Payment.state == "claiming"))
            .run()
        )
        raise
    filled = (
        await Payment.update({Payment.payment_intent_id: intent.id, Payment.state: "created"})
        .where((Payment.id == step.claimed) & (Payment.state == "claiming"))
        .returning(Payment.id)
        .run()
    )
    if not filled:
        # Taken over as abandoned while the provider was slow: ours must not take money too.
        await _cancel_quietly(gateway, (intent.id,))
        return None
    return intent


async def _wait_for_claim(claim_id: uuid.UUID, deadline: float) -> None:
    """Poll, without locking, until another request has filled in (or given up) its claim."""
    loop = asyncio.get_running_loop()
    while loop.time() <= deadline:
        await asyncio.sleep(CLAIM_POLL_SECONDS)
        if (
            not await Payment.exists()
            .where((Payment.id == claim_id) & (Payment.state == "claiming"))
            .run()
        ):
            return


async def start_payment(gateway: PaymentGateway, invoice_id: uuid.UUID) -> PaymentStart:
    """The open invoice's one live intent for its amount due, created once whatever the concurrency.

    The first request claims the invoice's live payment row (a placeholder under a partial unique
    index), calls the provider outside any transaction, then fills in the intent id; concurrent
    requests find the claim and wait for it, so every answer names the same intent. Provider
    idempotency keys are only a second line: the database decides.

    Nothing here marks the invoice paid: only a verified provider event or reconciliation does.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CLAIM_WAIT_SECONDS
    while True:
        try:
            step = await _claim_or_find(gateway.provider, invoice_id)
        except Exception as exc:
            if not _unique_violation(exc):
                raise
            step = _Step()  # a concurrent claim won the index: look again
        if step.live is not None:
            intent = await gateway.fetch_intent(step.live["payment_intent_id"])
            if intent.status != "canceled":
                return PaymentStart(intent.id, intent.client_secret)
            await _detach([step.live["id"]])  # canceled at the provider: start a new attempt
            continue
        if step.claimed is not None:
            await _cancel_quietly(gateway, step.retired)
            made = await _fill_claim(gateway, invoice_id, step)
            if made is not None:
                return PaymentStart(made.id, made.client_secret)
            continue
        if loop.time() > deadline:
            raise GatewayError(
                "Another payment for this invoice is still being set up; try again in a moment."
            )
        if step.waiting_for is not None:
            await _wait_for_claim(step.waiting_for, deadline)
        else:
            await asyncio.sleep(CLAIM_POLL_SECONDS)


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


async def record_success(payment_id: uuid.UUID, amount_minor: int, at: dt.datetime) -> bool:
    """Confirm a payment exactly once and mark its invoice paid once fully covered.

    The conditional UPDATE is the guard: whichever of webhook, duplicate or reconciliation comes
    second finds the payment already confirmed and changes nothing. Call inside a write transaction.
    Money beyond the amount due (a second intent, a retired one a browser still held) is recorded
    too and flagged: the invoice shows it as overpaid and the body's finance people are told.
    """
    rows = (
        await Payment.update(
            {
                Payment.state: "confirmed",
                Payment.confirmed_at: clock.now(),
                Payment.last_event_at: at,
                Payment.failure_message: "",
            }
        )
        .where((Payment.id == payment_id) & Payment.state.is_in(list(RECEIVABLE_STATES)))
        .returning(Payment.invoice)
        .run()
    )
    if not rows:
        return False
    invoice_id = rows[0]["invoice"]
    invoice = (
        await Invoice.update(
            {
                Invoice.amount_paid_minor: Invoice.amount_paid_minor + amount_minor,
                Invoice.payment_failure: "",
            }
        )
        .where(Invoice.id == invoice_id)
        .returning(
            Invoice.status,
            Invoice.total_minor,
            Invoice.amount_paid_minor,
            Invoice.body,
            Invoice.organisation,
            Invoice.number,
        )
        .run()
    )[0]
    if invoice["status"] == "open" and invoice["amount_paid_minor"] >= invoice["total_minor"]:
        paid = (
            await Invoice.update({Invoice.status: "paid", Invoice.paid_at: clock.now()})
            .where((Invoice.id == invoice_id) & (Invoice.status == "open"))
            .returning(Invoice.id)
            .run()
        )
        if paid:
            # One entry drives the notifications of both parties (pretix's log_action).
            await log_action(
                "marketplace.invoice.paid",
                actor_id=None,
                entity_type="invoice",
                entity_id=invoice_id,
                tenant=Tenant("body", invoice["body"]),
                data={
                    "number": invoice["number"],
                    "organisation_id": str(invoice["organisation"]),
                    "payment_id": str(payment_id),
                    "amount_minor": amount_minor,
                },
            )
    elif invoice["status"] == "void":
        # Paid after voiding (the client had the payment form open): the money is recorded and
        # flagged for a refund rather than silently reopening a voided invoice.
        await log_action(
            "marketplace.payment.received_for_void_invoice",
            actor_id=None,
            entity_type="invoice",
            entity_id=invoice_id,
            tenant=Tenant("body", invoice["body"]),
            data={"payment_id": str(payment_id), "amount_minor": amount_minor},
        )
    excess = await overpaid_minor(invoice_id)
    if excess > 0:
        await log_action(
            "marketplace.invoice.overpaid",
            actor_id=None,
            entity_type="invoice",
            entity_id=invoice_id,
            tenant=Tenant("body", invoice["body"]),
            data={
                "number": invoice["number"],
                "payment_id": str(payment_id),
                "amount_minor": amount_minor,
                "overpaid_minor": excess,
            },
        )
    return True


async def _record_failure(payment_id: uuid.UUID, message: str, at: dt.datetime) -> bool:
    rows = (
        await Payment.update(
            {Payment.state: "failed", Payment.failure_message: message, Payment.last_event_at: at}
        )
        .where(
            (Payment.id == payment_id)
            & Payment.state.is_in(list(OPEN_PAYMENT_STATES))
            # An older event never overwrites the state a newer one set.
            & (Payment.last_event_at.is_null() | (Payment.last_event_at <= at))
        )
        .returning(Payment.invoice)
        .run()
    )
    if not rows:
        return False
    invoice = (
        await Invoice.update({Invoice.payment_failure: message})
        .where((Invoice.id == rows[0]["invoice"]) & (Invoice.status == "open"))
        .returning(Invoice.body)
        .run()
    )
    if invoice:
        await log_action(
            "marketplace.payment.failed",
            actor_id=None,
            entity_type="invoice",
            entity_id=rows[0]["invoice"],
            tenant=Tenant("body", invoice[0]["body"]),
            data={"payment_id": str(payment_id), "message": message},
        )
    return True


async def _record_processing(payment_id: uuid.UUID, at: dt.datetime) -> bool:
    rows = (
        await Payment.update({Payment.state: "pending", Payment.last_event_at: at})
        .where(
            (Payment.id == payment_id)
            & Payment.state.is_in(["created", "failed"])
            & (Payment.last_event_at.is_null() | (Payment.last_event_at <= at))
        )
        .returning(Payment.id)
        .run()
    )
    return bool(rows)


async def _record_refund(charge: dict[str, Any], at: dt.datetime) -> bool:
    intent_id = charge.get("payment_intent")
    if isinstance(intent_id, dict):
        intent_id = intent_id.get("id")
    payment = (
        await Payment.select(Payment.id, Payment.invoice, Payment.invoice._.body.as_alias("body"))
        .where(Payment.payment_intent_id == str(intent_id or ""))
        .first()
        .run()
    )
    if payment is None:
        return False
    # The refund service reads the invoice's refunds under this lock (see refund_overpayment).
    await lock_row(Invoice, payment["invoice"])
    refunded = int(charge.get("amount_refunded") or 0)
    values: dict[Any, Any] = {Payment.refunded_minor: refunded, Payment.last_event_at: at}
    if charge.get("refunded"):
        values[Payment.state] = "refunded"
    # Refunds only ever grow, so a smaller figure is an older event and is ignored.
    rows = (
        await Payment.update(values)
        .where((Payment.id == payment["id"]) & (Payment.refunded_minor < refunded))
        .returning(Payment.id)
        .run()
    )
    if not rows:
        return False
    await log_action(
        "marketplace.payment.refunded",
        actor_id=None,
        entity_type="invoice",
        entity_id=payment["invoice"],
        tenant=Tenant("body", payment["body"]),
        data={"payment_id": str(payment["id"]), "refunded_minor": refunded},
    )
    return True


@dataclass(frozen=True)
class RefundDone:
    id: uuid.UUID
    amount_minor: int
    currency: str
    provider_reference: str


async def _request_refund(actor_id: uuid.UUID | None, invoice_id: uuid.UUID) -> dict[str, Any]:
    """Under the invoice's lock: record a requested refund of the excess, or refuse (409)."""
    async with write_transaction():
        await lock_row(Invoice, invoice_id)
        excess = await overpaid_minor(invoice_id)
        if excess <= 0:
            if (
                await Refund.exists()
                .where((Refund.invoice == invoice_id) & (Refund.state == "requested"))
                .run()
            ):
                raise Conflict(
                    "A refund of this invoice's overpayment is already being issued.",
                    code="refund_in_progress",
                )
            raise Conflict("Nothing has been paid beyond the amount due.", code="not_overpaid")
        payments = (
            await Payment.select()
            .where((Payment.invoice == invoice_id) & (Payment.state == "confirmed"))
            .order_by(Payment.confirmed_at, ascending=False)
            .run()
        )
        # The newest confirmed payment first: it is the one that went beyond the amount due.
        payment = next((p for p in payments if p["amount_minor"] > p["refunded_minor"]), None)
        if payment is None:
            raise Conflict("No confirmed payment is left to refund.", code="not_overpaid")
        amount = min(excess, int(payment["amount_minor"]) - int(payment["refunded_minor"]))
        refund = Refund(
            invoice=invoice_id,
            payment=payment["id"],
            amount_minor=amount,
            currency=payment["currency"],
            state="requested",
            reason="overpayment",
            refunded_before_minor=payment["refunded_minor"],
            created_by=actor_id,
        )
        await refund.save().run()
    return {
        "id": refund.id,
        "amount_minor": amount,
        "currency": payment["currency"],
        "payment_id": payment["id"],
        "intent_id": payment["payment_intent_id"],
        "payment_amount_minor": payment["amount_minor"],
        "refunded_before_minor": payment["refunded_minor"],
    }


async def refund_overpayment(
    actor_id: uuid.UUID | None, gateway: PaymentGateway, invoice_id: uuid.UUID
) -> RefundDone:
    """Hand back what was paid beyond the amount due, once, through the provider.

    The refund is recorded as requested before the provider is asked (committed, so no
    transaction waits on the network): a concurrent second request finds nothing left to refund,
    and the partial unique index admits one requested refund per invoice. A refusal marks it
    failed, so the excess can be refunded again.
    """
    try:
        claim = await _request_refund(actor_id, invoice_id)
    except Exception as exc:
        if _unique_violation(exc):
            raise Conflict(
                "A refund of this invoice's overpayment is already being issued.",
                code="refund_in_progress",
            ) from exc
        raise
    try:
        result = await gateway.refund(
            claim["intent_id"], claim["amount_minor"], f"refund-{claim['id']}"
        )
    except BaseException as exc:
        async with write_transaction():
            await lock_row(Invoice, invoice_id)
            await (
                Refund.update(
                    {
                        Refund.state: "failed",
                        Refund.failure_message: str(exc)[:500],
                        Refund.completed_at: clock.now(),
                    }
                )
                .where((Refund.id == claim["id"]) & (Refund.state == "requested"))
                .run()
            )
        raise
    refunded = int(claim["refunded_before_minor"]) + int(claim["amount_minor"])
    async with write_transaction():
        # Under the invoice's lock, like the request: on PostgreSQL a concurrent request reads
        # refunds and payments in separate statements, and must never see this refund neither
        # as requested nor as refunded.
        await lock_row(Invoice, invoice_id)
        invoice = (
            await Invoice.select(Invoice.body, Invoice.number)
            .where(Invoice.id == invoice_id)
            .first()
            .run()
        )
        assert invoice is not None
        await (
            Refund.update(
                {
                    Refund.state: "succeeded",
                    Refund.provider_refund_id: result.id,
                    Refund.completed_at: clock.now(),
                }
            )
            .where((Refund.id == claim["id"]) & (Refund.state == "requested"))
            .run()
        )
        values: dict[Any, Any] = {Payment.refunded_minor: refunded}
        if refunded >= int(claim["payment_amount_minor"]):
            values[Payment.state] = "refunded"
        # Grows only: the charge.refunded webhook may have recorded this refund already.
        await (
            Payment.update(values)
            .where((Payment.id == claim["payment_id"]) & (Payment.refunded_minor < refunded))
            .run()
        )
        await log_action(
            "marketplace.invoice.overpayment_refunded",
            actor_id=actor_id,
            entity_type="invoice",
            entity_id=invoice_id,
            tenant=Tenant("body", invoice["body"]),
            data={
                "number": invoice["number"],
                "refund_id": str(claim["id"]),
                "payment_id": str(claim["payment_id"]),
                "amount_minor": claim["amount_minor"],
                "provider_reference": result.id,
            },
        )
    return RefundDone(claim["id"], claim["amount_minor"], claim["currency"], result.id)


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
        return await _record_refund(obj, at)
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
        return await _record_processing(payment["id"], at)
    error = obj.get("last_payment_error") or {}
    message = str(error.get("message") or "") if isinstance(error, dict) else ""
    return await _record_failure(payment["id"], message or "The payment failed.", at)


def _unique_violation(exc: BaseException) -> bool:
    """A unique index refused the row (asyncpg 23505, SQLite IntegrityError), without importing drivers."""
    return (
        type(exc).__name__ in {"UniqueViolationError", "IntegrityError"}
        or getattr(exc, "sqlstate", "") == "23505"
    )


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
        if _unique_violation(exc):
            return "duplicate"
        raise
    return "applied" if applied else "ignored"


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


async def body_engagements(body_id: uuid.UUID) -> list[dict[str, Any]]:
    """The body's engagements to bill, with the client's name (one query)."""
    from marketplace.scheduling.tables import Engagement

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
