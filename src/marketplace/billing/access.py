"""Who may act on an invoice, and which actions its status allows (rules.invoice_status)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import NoReturn

from marketplace.accounts.guards import Principal
from marketplace.billing.tables import Invoice
from marketplace.core.errors import Conflict, NotFound
from marketplace.rules import invoice_status
from marketplace.scheduling.context import check_access

# Who may do what with invoices. Drafting, issuing and voiding are the body's finance work.
BILLERS = frozenset({"owner", "finance"})
CLIENT_ALL = frozenset({"owner", "quality_manager", "member"})
NO_ROLES: frozenset[str] = frozenset()
NO_INVOICE = "No such invoice."


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


async def authorise(
    principal: Principal,
    invoice_id: uuid.UUID,
    *,
    client: frozenset[str] = NO_ROLES,
    body: frozenset[str] = NO_ROLES,
) -> str:
    """Load the invoice and check the caller may act on it with these roles; the side they act for."""
    return check_invoice_access(principal, await invoice_ref(invoice_id), client=client, body=body)


def refuse(action: str) -> NoReturn:
    """The table's refusal of `action`, as a 409."""
    refused = invoice_status.refusal(action)
    raise Conflict(refused.message, code=refused.code)


def next_status(kind: str, status: str, action: str) -> str:
    """The status `action` moves the invoice to, or the table's refusal as a 409."""
    after = invoice_status.next_status(kind, status, action)
    if after is None:
        refuse(action)
    return after
