"""Demo certificates: Northbridge's clients certified, suspended, withdrawn, expired, at risk and refused."""

from __future__ import annotations

import datetime as dt
import random
import sys
import uuid
from typing import Any

from marketplace.accounts.tables import Organisation, User
from marketplace.certificates.decisions import decide
from marketplace.certificates.status import suspend, withdraw
from marketplace.core import clock
from marketplace.findings import demo as findings_demo
from marketplace.findings import reports as findings
from marketplace.rules.cycle import add_months

DECIDER_EMAIL = "decisions@demo.certmarket.test"
STANDARDS = ("ISO 9001:2015", "ISO 14001:2015", "ISO 45001:2018")
SCOPES = (
    "Design and manufacture of precision machined components",
    "Distribution of industrial fasteners",
    "Provision of facilities management services",
    "Fabrication of structural steelwork",
    "Software development and IT support services",
    "Injection moulding of plastic parts",
)


async def _plan(rng: random.Random, organisation_id: uuid.UUID) -> list[tuple[Any, int, str]]:
    """(organisation, months since the decision, final status) for Acme and up to 8 others."""
    others = (
        await Organisation.select(Organisation.id, Organisation.iaf_sector)
        .where(Organisation.id != organisation_id)
        .order_by(Organisation.name)
        .limit(12)
        .run()
    )
    acme = (
        await Organisation.select(Organisation.id, Organisation.iaf_sector)
        .where(Organisation.id == organisation_id)
        .first()
        .run()
    )
    return [
        (acme, 2, "active"),
        *[(o, rng.randint(1, 10), "active") for o in others[:3]],
        (others[3] if len(others) > 3 else None, 14, "at_risk"),
        (others[4] if len(others) > 4 else None, 8, "suspended"),
        (others[5] if len(others) > 5 else None, 20, "withdrawn"),
        (others[6] if len(others) > 6 else None, 37, "expired"),
        (others[7] if len(others) > 7 else None, 1, "refused"),
    ]


async def _certify(
    rng: random.Random,
    demo: findings_demo.DemoParties,
    decider: uuid.UUID | None,
    org: dict[str, Any],
    months: int,
    status: str,
) -> bool:
    """Take one client through stage 2 to a decision and the status asked; True if certified."""
    decided = add_months(clock.today(), -months)
    started = await findings_demo.engagement_through_stage2(
        org["id"],
        demo.body_id,
        rng.choice(STANDARDS),
        org["iaf_sector"],
        decided - dt.timedelta(days=20),
    )
    report = await findings.create_report(
        demo.auditor_user,
        started.audit_ids["stage2"],
        {
            "summary": "Effective system; no nonconformities.",
            "findings": [findings_demo.demo_finding(findings_demo.FINDINGS[9])],
        },
    )
    await findings.issue_report(demo.auditor_user, report)
    if status == "refused":
        await decide(
            decider,
            started.cycle_id,
            decision="refuse",
            decided_on=decided,
            scope="",
            comment="Scope could not be confirmed on site.",
        )
        return False
    result = await decide(
        decider, started.cycle_id, decision="grant", decided_on=decided, scope=rng.choice(SCOPES)
    )
    number = str(result["certificate"])
    if status == "at_risk" and months > 12:
        return True  # surveillance 1 was never held: the certificate reads "at risk"
    if status == "suspended":
        await suspend(
            decider, number, "Surveillance audit not allowed within the required frequency."
        )
    elif status == "withdrawn":
        await suspend(decider, number, "Client did not respond to surveillance planning.")
        await withdraw(decider, number, "Suspension unresolved; client ceased trading.")
    elif status == "active" and months > 10:
        await findings_demo.mark_completed(
            started.audit_ids["surveillance1"], add_months(decided, 11)
        )
    return True


async def generate(rng: random.Random, progress: bool) -> None:
    """Findings first (Acme's tracker), then certificates in every status for Northbridge."""
    await findings_demo.generate(rng, progress)
    demo = await findings_demo.parties()
    if demo is None:
        return
    decider_row = await User.select(User.id).where(User.email == DECIDER_EMAIL).first().run()
    decider = decider_row["id"] if decider_row else None
    made = 0
    for org, months, status in await _plan(rng, demo.organisation_id):
        if org is not None and await _certify(rng, demo, decider, org, months, status):
            made += 1
    if progress:
        print(f"Certificates: {made} issued by {findings_demo.NORTHBRIDGE}", file=sys.stderr)
