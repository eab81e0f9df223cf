"""Demo findings: Acme's audit reports (issued and amended) with corrective actions in every state."""

from __future__ import annotations

import datetime as dt
import random
import sys
import uuid
from dataclasses import dataclass
from typing import Any

from marketplace.accounts.tables import CertificationBody, Organisation, User
from marketplace.core import clock
from marketplace.findings import corrective_actions as actions
from marketplace.findings import evidence, reports
from marketplace.findings.tables import CorrectiveAction
from marketplace.scheduling.engagements import StartedEngagement, start_engagement
from marketplace.scheduling.tables import Audit

NORTHBRIDGE = "Northbridge Certification"
ACME = "Acme Precision Ltd"
CLIENT_EMAIL = "client@demo.certmarket.test"
AUDITOR_EMAIL = "auditor@demo.certmarket.test"

FINDINGS = [
    (
        "major",
        "8.5.1",
        "Production is carried out under controlled conditions.",
        "Work instructions at cell 3 were two revisions out of date.",
    ),
    (
        "major",
        "7.1.5",
        "Monitoring and measuring resources are calibrated.",
        "Two micrometers in goods-in had no calibration records.",
    ),
    (
        "major",
        "9.2",
        "The organisation conducts internal audits at planned intervals.",
        "No internal audit of purchasing in the last 14 months.",
    ),
    (
        "minor",
        "7.2",
        "Persons doing work are competent.",
        "Training record for one new operator not signed off.",
    ),
    (
        "minor",
        "8.4.2",
        "External providers are evaluated.",
        "Supplier evaluation for the plating subcontractor overdue.",
    ),
    (
        "minor",
        "10.2",
        "Nonconformities are recorded with their causes.",
        "Two customer complaints closed without a recorded cause.",
    ),
    (
        "minor",
        "7.5.3",
        "Documented information is controlled.",
        "Obsolete drawing found on the shop floor notice board.",
    ),
    (
        "minor",
        "9.1.3",
        "Analysis and evaluation of data.",
        "On-time delivery trend not reviewed since Q1.",
    ),
    (
        "observation",
        "6.1",
        "Risks and opportunities are addressed.",
        "The risk register could link to the process owners.",
    ),
    ("ofi", "7.4", "Communication.", "A shift handover board could reduce repeat queries."),
]


@dataclass(frozen=True)
class DemoParties:
    body_id: uuid.UUID
    organisation_id: uuid.UUID
    client_user: uuid.UUID | None
    auditor_user: uuid.UUID | None


async def parties() -> DemoParties | None:
    body = (
        await CertificationBody.select(CertificationBody.id)
        .where(CertificationBody.name == NORTHBRIDGE)
        .first()
        .run()
    )
    org = await Organisation.select(Organisation.id).where(Organisation.name == ACME).first().run()
    if body is None or org is None:
        return None
    users = {
        r["email"]: r["id"]
        for r in await User.select(User.id, User.email)
        .where(User.email.is_in([CLIENT_EMAIL, AUDITOR_EMAIL]))
        .run()
    }
    return DemoParties(body["id"], org["id"], users.get(CLIENT_EMAIL), users.get(AUDITOR_EMAIL))


async def mark_completed(audit_id: uuid.UUID, last_day: dt.date) -> None:
    """Demo audits are recorded as held directly: the demo needs history, not a booking flow."""
    await (
        Audit.update(
            {
                Audit.status: "completed",
                Audit.completed_on: last_day,
                Audit.starts_at: dt.datetime.combine(last_day, dt.time(8), tzinfo=dt.UTC),
                Audit.ends_at: dt.datetime.combine(last_day, dt.time(16), tzinfo=dt.UTC),
            }
        )
        .where(Audit.id == audit_id)
        .run()
    )


async def engagement_through_stage2(
    organisation_id: uuid.UUID, body_id: uuid.UUID, standard: str, sector: int, stage2_day: dt.date
) -> StartedEngagement:
    started = await start_engagement(
        actor_id=None,
        organisation_id=organisation_id,
        body_id=body_id,
        standard=standard,
        iaf_sector=sector,
        agreed_days={"stage1": 1.5, "stage2": 3},
        start=stage2_day - dt.timedelta(days=75),
    )
    await mark_completed(started.audit_ids["stage1"], stage2_day - dt.timedelta(days=35))
    await mark_completed(started.audit_ids["stage2"], stage2_day)
    return started


def demo_finding(row: tuple[str, str, str, str], site_id: Any = None) -> dict[str, Any]:
    grade, clause, requirement, evidence = row
    return {
        "grade": grade,
        "clause": clause,
        "requirement": requirement,
        "evidence": evidence,
        "site_id": site_id,
    }


async def _drive(
    ca_id: uuid.UUID, status: str, owner: uuid.UUID | None, auditor: uuid.UUID | None
) -> None:
    answer = {
        "owner_id": owner,
        "correction": "Contained: affected items quarantined and re-inspected.",
        "root_cause_method": "five_whys",
        "root_cause": "The change process did not reach the shop floor copies.",
        "action_plan": "Withdraw paper copies; issue work instructions from the controlled system only.",
        "target_date": clock.today() + dt.timedelta(days=30),
    }
    if status == "open":
        await actions.update_corrective_action(owner, ca_id, {"owner_id": owner})
        return
    await actions.update_corrective_action(owner, ca_id, answer)
    await evidence.add_evidence(
        owner,
        ca_id,
        b"Training attendance 2026-05-04: 12 of 12 operators signed.\n",
        "attendance.txt",
    )
    await actions.submit_corrective_action(owner, ca_id)
    if status == "submitted":
        return
    if status == "rejected":
        await actions.review_corrective_action(
            auditor, ca_id, "reject", "The root cause stops at the symptom; ask why once more."
        )
        return
    await actions.review_corrective_action(auditor, ca_id, "accept", "Plan accepted.")
    if status == "closed":
        await actions.verify_corrective_action(
            auditor, ca_id, True, "Verified on the follow-up visit."
        )


async def generate(rng: random.Random, progress: bool) -> None:
    """Acme's ISO 9001 stage 2 report with actions open, submitted, accepted, rejected, closed,
    overdue and escalated, plus an amended stage 1 report; nothing when the demo tenants are absent."""
    demo = await parties()
    if demo is None:
        return
    del rng  # the demo's findings are hand-written, not random
    today = clock.today()
    started = await engagement_through_stage2(
        demo.organisation_id, demo.body_id, "ISO 9001:2015", 17, today - dt.timedelta(days=21)
    )

    # Stage 1: an issued report with an observation, then an amendment (revision 2).
    first = await reports.create_report(
        demo.auditor_user,
        started.audit_ids["stage1"],
        {
            "summary": "Stage 1: documentation ready for stage 2.",
            "findings": [demo_finding(FINDINGS[8])],
        },
    )
    await reports.issue_report(demo.auditor_user, first)
    amended = await reports.amend_report(demo.auditor_user, first, "Clause reference corrected.")
    await reports.update_report(
        demo.auditor_user,
        amended,
        {"findings": [demo_finding(FINDINGS[8]), demo_finding(FINDINGS[9])]},
    )
    await reports.issue_report(demo.auditor_user, amended)

    # Stage 2: the report the tracker is about.
    report = await reports.create_report(
        demo.auditor_user,
        started.audit_ids["stage2"],
        {
            "summary": "The QMS is implemented; control of production documents needs attention.",
            "scope": "Design and manufacture of precision machined components.",
            "clauses_covered": "4 to 10",
            "recommendation": "Recommend certification once the majors are verified.",
            "findings": [demo_finding(f) for f in FINDINGS],
        },
    )
    await reports.issue_report(demo.auditor_user, report)
    opened = (
        await CorrectiveAction.select(CorrectiveAction.id)
        .where(CorrectiveAction.finding._.report == report)
        .order_by(CorrectiveAction.finding._.number)
        .run()
    )
    ids = [a["id"] for a in opened]
    # majors: open, submitted, closed; minors: accepted, rejected, overdue, escalated, open
    plan = ["open", "submitted", "closed", "accepted", "rejected", "overdue", "escalated", "open"]
    for ca_id, state in zip(ids, plan, strict=False):
        if state in ("overdue", "escalated"):
            await (
                CorrectiveAction.update({CorrectiveAction.due_on: today - dt.timedelta(days=5)})
                .where(CorrectiveAction.id == ca_id)
                .run()
            )
            if state == "escalated":
                await actions.escalate_corrective_action(
                    demo.auditor_user, ca_id, "No plan received within 30 days."
                )
            continue
        await _drive(ca_id, state, demo.client_user, demo.auditor_user)
    if progress:
        print(f"Findings: 2 reports and {len(ids)} corrective actions for {ACME}", file=sys.stderr)
