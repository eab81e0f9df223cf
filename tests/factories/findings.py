"""Builders of findings' things: issued audit reports and corrective actions in every state."""

from __future__ import annotations

import datetime as dt
import uuid
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
from marketplace.scheduling.engagements import StartedEngagement
from tests.factories.scheduling import engagement

GRADES = ("major", "minor", "observation", "ofi")
ANSWER = {
    "correction": "Quarantined the batch",
    "root_cause_method": "five_whys",
    "root_cause": "No incoming inspection step",
    "action_plan": "Add incoming inspection and train staff",
}


def finding(grade: str, clause: str = "8.5.1", site_id: uuid.UUID | None = None) -> dict[str, Any]:
    """One finding as a report's body lists it."""
    return {
        "grade": grade,
        "clause": clause,
        "requirement": f"Requirement of {clause}",
        "evidence": "Seen during the audit",
        "site_id": str(site_id) if site_id else None,
    }


async def draft_report(
    org_id: uuid.UUID,
    body_id: uuid.UUID,
    grades: tuple[str, ...] = (),
    *,
    stage: str = "stage2",
    made: StartedEngagement | None = None,
) -> tuple[StartedEngagement, uuid.UUID]:
    """A draft report of a held stage 1 or stage 2 (a new engagement unless `made` is given),
    one finding per grade; returns the engagement and the report."""
    made = made or await engagement(org_id, body_id, held=1 if stage == "stage1" else 2)
    report_id = await create_report(
        None,
        made.audit_ids[stage],
        {
            "summary": "Stage 1" if stage == "stage1" else "Stage 2",
            "findings": [finding(g) for g in grades],
        },
    )
    return made, report_id


async def issued_report(
    org_id: uuid.UUID,
    body_id: uuid.UUID,
    grades: tuple[str, ...] = GRADES,
    made: StartedEngagement | None = None,
) -> tuple[StartedEngagement, uuid.UUID, dict[str, uuid.UUID]]:
    """An issued stage 2 report of a held engagement (a new one unless `made` is given), one
    finding per grade; returns the engagement, the report and the first action id per grade."""
    made, report_id = await draft_report(org_id, body_id, grades, made=made)
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


async def answered(ca_id: uuid.UUID | str, status: str) -> None:
    """Drive a corrective action to open (answered), submitted, accepted, rejected or closed."""
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
