"""Builders for the home pages: one client of a body with something on every attention line."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

from marketplace.billing.schemas import InvoiceLineIn
from marketplace.billing.tables import Invoice
from marketplace.certificates.tables import Certificate
from marketplace.core import clock
from marketplace.scheduling.tables import Audit, CertificationCycle
from tests.factories.billing import issued_invoice
from tests.factories.certificates import granted
from tests.factories.findings import answered, issued_report
from tests.factories.scheduling import engagement


@dataclass
class Client:
    engagement_id: uuid.UUID
    cycle_id: uuid.UUID
    certificate: str
    invoice_id: uuid.UUID


async def busy_client(org_id: uuid.UUID, body_id: uuid.UUID) -> Client:
    """A certified client whose certificate is at risk and expiring, with open work everywhere.

    The dates are moved in the tables afterwards: a decision 13 months ago and an invoice
    overdue are states the services reach only as time passes.
    """
    made, certificate = await granted(org_id, body_id, scope="Precision parts")
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
        .where(Certificate.number == certificate)
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
    await engagement(org_id, body_id, standard="ISO 14001:2015", agreed_days={"stage1": 1})
    # granted left its minor accepted (to verify); another engagement's major is submitted.
    _m, _r, actions = await issued_report(org_id, body_id, ("major",))
    await answered(actions["major"], "submitted")
    stage2 = InvoiceLineIn(
        "Stage 2", quantity=Decimal(2), unit_amount_minor=95000, tax_rate=Decimal(20)
    )
    invoice_id = await issued_invoice(org_id, body_id, made.engagement_id, lines=[stage2])
    await (
        Invoice.update({Invoice.due_on: today - dt.timedelta(days=5)})
        .where(Invoice.id == invoice_id)
        .run()
    )
    return Client(made.engagement_id, made.cycle_id, certificate, invoice_id)
