"""Builders for findings tests: completed audits, issued reports and their corrective actions."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from marketplace.core import clock
from marketplace.findings.corrective_actions import (
    review_corrective_action,
    submit_corrective_action,
    update_corrective_action,
    verify_corrective_action,
)
from marketplace.findings.reports import create_report, issue_report
from marketplace.findings.tables import CorrectiveAction
from marketplace.scheduling.engagements import start_engagement
from marketplace.scheduling.tables import Audit

STANDARD = "ISO 9001:2015"


@dataclass(frozen=True)
class Made:
    engagement_id: uuid.UUID
    cycle_id: uuid.UUID
    audit_ids: dict[str, uuid.UUID]


async def complete(audit_id: uuid.UUID, last_day: dt.date) -> None:
    """Mark an audit held, directly: robust against the booking flow's own rules."""
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


async def engagement(
    org_id: uuid.UUID, body_id: uuid.UUID, *, stage2_ended: dt.date | None = None, stages: int = 2
) -> Made:
    """An engagement whose stage 1 (and stage 2 unless stages=1) are completed."""
    today = clock.today()
    started = await start_engagement(
        actor_id=None,
        organisation_id=org_id,
        body_id=body_id,
        standard=STANDARD,
        iaf_sector=28,
        agreed_days={"stage1": 1, "stage2": 2},
        start=today - dt.timedelta(days=120),
    )
    stage2_day = stage2_ended or today - dt.timedelta(days=3)
    await complete(started.audit_ids["stage1"], stage2_day - dt.timedelta(days=30))
    if stages >= 2:
        await complete(started.audit_ids["stage2"], stage2_day)
    return Made(started.engagement_id, started.cycle_id, dict(started.audit_ids))


def finding(grade: str, clause: str = "8.5.1", site_id: uuid.UUID | None = None) -> dict[str, Any]:
    return {
        "grade": grade,
        "clause": clause,
        "requirement": f"Requirement of {clause}",
        "evidence": "Seen during the audit",
        "site_id": str(site_id) if site_id else None,
    }


async def issued_report(
    org_id: uuid.UUID,
    body_id: uuid.UUID,
    grades: tuple[str, ...] = ("major", "minor", "observation", "ofi"),
    made: Made | None = None,
) -> tuple[Made, uuid.UUID, dict[str, uuid.UUID]]:
    """An issued stage 2 report; returns the corrective action id per grade (first of each)."""
    made = made or await engagement(org_id, body_id)
    report_id = await create_report(
        None,
        made.audit_ids["stage2"],
        {"summary": "Stage 2", "findings": [finding(g) for g in grades]},
    )
    await issue_report(None, report_id)
    actions: dict[str, uuid.UUID] = {}
    for row in (
        await CorrectiveAction.select(CorrectiveAction.id, CorrectiveAction.grade)
        .where(CorrectiveAction.finding._.report == report_id)
        .order_by(CorrectiveAction.finding._.number)
        .run()
    ):
        actions.setdefault(row["grade"], row["id"])
    return made, report_id, actions


ANSWER = {
    "correction": "Quarantined the batch",
    "root_cause_method": "five_whys",
    "root_cause": "No incoming inspection step",
    "action_plan": "Add incoming inspection and train staff",
}


async def answered(ca_id: uuid.UUID | str, status: str) -> None:
    """Drive an action to submitted, accepted, rejected or closed through the services."""
    ca_id = uuid.UUID(str(ca_id))
    changes = {**ANSWER, "target_date": clock.today() + dt.timedelta(days=20)}
    await update_corrective_action(None, ca_id, changes)
    if status == "open":
        return
    await submit_corrective_action(None, ca_id)
    if status == "submitted":
        return
    if status == "rejected":
        await review_corrective_action(None, ca_id, "reject", "Root cause too shallow")
        return
    await review_corrective_action(None, ca_id, "accept", "")
    if status == "closed":
        await verify_corrective_action(None, ca_id, True, "Effective")
