"""E-mails of billing (invoice issued and payment receipts to the client; paid and overpaid to the body's finance) and the reconciliation sweep."""

from __future__ import annotations

import datetime as dt
import uuid

from marketplace.accounts.roles import TenantKind
from marketplace.billing.reconciliation import reconcile_payments
from marketplace.billing.stripe_gateway import gateway_for
from marketplace.billing.tables import Invoice
from marketplace.core.activity import ActionEntry, on_action
from marketplace.notifications.services import members_with_roles, notify
from marketplace.notifications.worker import register_sweep
from marketplace.settings import Settings
from marketplace.web.templating import money

CLIENT_RECIPIENTS = ("owner", "quality_manager")
FINANCE_RECIPIENTS = ("owner", "finance")
# Webhooks do the work; reconciliation only catches what a lost webhook missed.
RECONCILE_INTERVAL = dt.timedelta(minutes=15)


async def _invoice(invoice_id: uuid.UUID) -> dict[str, object] | None:
    row: dict[str, object] | None = (
        await Invoice.select(
            Invoice.id,
            Invoice.number,
            Invoice.currency,
            Invoice.total_minor,
            Invoice.due_on,
            Invoice.organisation,
            Invoice.body,
            Invoice.organisation._.name.as_alias("organisation_name"),
            Invoice.body._.name.as_alias("body_name"),
        )
        .where(Invoice.id == invoice_id)
        .first()
        .run()
    )
    return row


async def _invoice_issued(entry: ActionEntry) -> None:
    # Logged for both parties; the client's entry is the one that becomes an e-mail.
    if entry.tenant is None or entry.tenant.kind != TenantKind.organisation:
        return
    row = await _invoice(uuid.UUID(entry.entity_id))
    if row is None:
        return
    await notify(
        "invoice_issued",
        user_ids=await members_with_roles(
            TenantKind.organisation, entry.tenant.id, CLIENT_RECIPIENTS
        ),
        data={
            "invoice_id": entry.entity_id,
            "number_label": f"No. {row['number']}",
            "body_name": row["body_name"],
            "organisation": row["organisation_name"],
            "total": money(int(str(row["total_minor"])), str(row["currency"])),
            "due_on": str(row["due_on"]),
            "path": f"/invoices/{entry.entity_id}",
        },
    )


async def _invoice_paid(entry: ActionEntry) -> None:
    """A payment recorded (webhook, reconciliation or any other way in): the body's finance
    hears that money arrived and the client gets a receipt, whichever process recorded it."""
    row = await _invoice(uuid.UUID(entry.entity_id))
    if row is None:
        return
    data = {
        "invoice_id": entry.entity_id,
        "number_label": f"No. {row['number']}",
        "organisation": row["organisation_name"],
        "body_name": row["body_name"],
        "amount": money(int(entry.data.get("amount_minor") or 0), str(row["currency"])),
        "path": f"/invoices/{entry.entity_id}",
    }
    body_id = uuid.UUID(str(row["body"]))
    await notify(
        "invoice_paid",
        user_ids=await members_with_roles(TenantKind.body, body_id, FINANCE_RECIPIENTS),
        data=data,
    )
    organisation_id = uuid.UUID(str(row["organisation"]))
    await notify(
        "payment_receipt",
        user_ids=await members_with_roles(
            TenantKind.organisation, organisation_id, CLIENT_RECIPIENTS
        ),
        data=data,
    )


async def _invoice_overpaid(entry: ActionEntry) -> None:
    """Money beyond the amount due arrived: the body's finance people are asked to refund it."""
    row = await _invoice(uuid.UUID(entry.entity_id))
    if row is None:
        return
    currency = str(row["currency"])
    await notify(
        # Not behind the "Payments" preference: money held without right must be refunded.
        "invoice_overpaid",
        template="invoice_overpaid",
        user_ids=await members_with_roles(
            TenantKind.body, uuid.UUID(str(row["body"])), FINANCE_RECIPIENTS
        ),
        data={
            "invoice_id": entry.entity_id,
            "number_label": f"No. {row['number']}",
            "organisation": row["organisation_name"],
            "body_name": row["body_name"],
            "amount": money(int(entry.data.get("amount_minor") or 0), currency),
            "overpaid": money(int(entry.data.get("overpaid_minor") or 0), currency),
            "path": f"/invoices/{entry.entity_id}",
        },
    )


async def reconcile_sweep(settings: Settings) -> int:
    """`marketplace reconcile-payments` on a timer; nothing to do without Stripe configured."""
    gateway = gateway_for(settings.stripe)
    if gateway is None:
        return 0
    try:
        result = await reconcile_payments(gateway)
    finally:
        await gateway.aclose()
    return result.recorded


def install() -> None:
    on_action("marketplace.invoice.issued", _invoice_issued)
    on_action("marketplace.invoice.paid", _invoice_paid)
    on_action("marketplace.invoice.overpaid", _invoice_overpaid)
    register_sweep("reconcile_payments", RECONCILE_INTERVAL, reconcile_sweep)
