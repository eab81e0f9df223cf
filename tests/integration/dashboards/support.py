"""Builders for dashboard tests: one client of a body with something on every attention line."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from marketplace.billing.drafts import create_draft
from marketplace.billing.invoices import issue_invoice
from marketplace.billing.schemas import InvoiceIn, InvoiceLineIn
from marketplace.billing.tables import Invoice
from marketplace.certificates.decisions import decide
from marketplace.certificates.tables import Certificate
from marketplace.core import clock
from marketplace.scheduling.engagements import get_engagement, start_engagement
from marketplace.scheduling.tables import Audit, CertificationCycle
from tests.factories import sign_in
from tests.integration.certificates.support import ready_cycle
from tests.integration.findings.support import answered, issued_report


@dataclass
class Client:
    engagement_id: uuid.UUID
    cycle_id: uuid.UUID
    certificate: str
    invoice_id: uuid.UUID


async def busy_client(org_id: uuid.UUID, body_id: uuid.UUID) -> Client:
    """A certified client whose certificate is at risk and expiring, with open work everywhere."""
    made = await ready_cycle(org_id, body_id)
    result = await decide(
        None, made.cycle_id, decision="grant", decided_on=None, scope="Precision parts"
    )
    today = clock.today()
    # Surveillance 1 missed: the decision was 13 months ago (the certificate stays valid).
    await (
        CertificationCycle.update(
            {CertificationCycle.decision_date: today - dt.timedelta(days=400)}
        )
        .where(CertificationCycle.id == made.cycle_id)
        .run()
    )
    await (
        Certificate.update({Certificate.expires_on: today + dt.timedelta(days=30)})
        .where(Certificate.number == result["certificate"])
        .run()
    )
    # Surveillance 2 closes within 60 days; surveillance 1 is proposed, awaiting the client.
    await (
        Audit.update(
            {
                Audit.window_start: today - dt.timedelta(days=10),
                Audit.window_end: today + dt.timedelta(days=20),
            }
        )
        .where((Audit.cycle == made.cycle_id) & (Audit.kind == "surveillance2"))
        .run()
    )
    await (
        Audit.update({Audit.status: "proposed"})
        .where((Audit.cycle == made.cycle_id) & (Audit.kind == "surveillance1"))
        .run()
    )
    # A second engagement's stage 1 is planned, no team, its window already open.
    await start_engagement(
        actor_id=None,
        organisation_id=org_id,
        body_id=body_id,
        standard="ISO 14001:2015",
        iaf_sector=28,
        agreed_days={"stage1": 1},
        start=today,
    )
    # ready_cycle left its minor accepted (to verify); another engagement's major is submitted.
    _m, _r, actions = await issued_report(org_id, body_id, ("major",))
    await answered(actions["major"], "submitted")
    eng = await get_engagement(made.engagement_id)
    invoice_id = await create_draft(
        None,
        eng,
        InvoiceIn(
            engagement_id=made.engagement_id,
            currency="GBP",
            lines=[
                InvoiceLineIn(
                    "Stage 2", quantity=Decimal(2), unit_amount_minor=95000, tax_rate=Decimal(20)
                )
            ],
        ),
    )
    await issue_invoice(None, invoice_id)
    await (
        Invoice.update({Invoice.due_on: today - dt.timedelta(days=5)})
        .where(Invoice.id == invoice_id)
        .run()
    )
    return Client(made.engagement_id, made.cycle_id, str(result["certificate"]), invoice_id)


def rows_on_page(path: str, html: str) -> int:
    """How many items the linked HTML list shows (its stated total where it pages)."""
    total = re.search(r'data-total="(\d+)"', html)
    if total:
        return int(total.group(1))
    caption = re.search(r"<caption>(\d+) corrective action", html)
    if caption:
        return int(caption.group(1))
    pending = re.search(r"<p>(\d+) pending\.", html)
    if pending:
        return int(pending.group(1))
    if "/planning" in path:
        return len(re.findall(r'<td><a href="/audits/', html))
    if "/certificates" in path:
        return len(re.findall(r'<td><a href="/certificates/', html))
    if "/invoices" in path:
        return len(re.findall(r'<td><a href="/invoices/', html))
    raise AssertionError(f"no way to count the list at {path}")


async def count_of(
    client: httpx.AsyncClient, user_id: uuid.UUID, path: str, headers: dict[str, str] | None = None
) -> int:
    """Fetch a linked list as its user would and count it: pages by session, API by token."""
    if path.startswith("/api/"):
        client.cookies.clear()
        response = await client.get(path, headers=headers)
        assert response.status_code == 200, (path, response.text[:300])
        body: Any = response.json()
        return int(body["total"]) if isinstance(body, dict) else len(body)
    await sign_in(client, user_id)
    response = await client.get(path.split("#")[0])
    assert response.status_code == 200, (path, response.text[:300])
    return rows_on_page(path, response.text)
