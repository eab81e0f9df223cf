"""E-mails of findings: the client hears of an issued report; owners are reminded of corrective actions."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from marketplace.accounts.names import body_name, organisation_name
from marketplace.accounts.roles import TenantKind
from marketplace.core import clock
from marketplace.core.activity import ActionEntry, on_action
from marketplace.findings.tables import AuditReport, CorrectiveAction
from marketplace.notifications.services import members_with_roles, notify
from marketplace.notifications.worker import register_sweep
from marketplace.rules.corrective_actions import resolved
from marketplace.scheduling.context import KIND_LABELS
from marketplace.settings import Settings

CLIENT_RECIPIENTS = ("owner", "quality_manager")
REMINDER_DAYS = 7
SWEEP_INTERVAL = dt.timedelta(hours=1)


async def _report_issued(entry: ActionEntry) -> None:
    report = (
        await AuditReport.select(
            AuditReport.id,
            AuditReport.audit._.kind.as_alias("kind"),
            AuditReport.audit._.cycle._.engagement._.standard.as_alias("standard"),
            # Deeper joins would pass PostgreSQL's 63-character alias limit: names come next.
            AuditReport.audit._.cycle._.engagement._.organisation.as_alias("organisation_id"),
            AuditReport.audit._.cycle._.engagement._.body.as_alias("body_id"),
        )
        .where(AuditReport.id == uuid.UUID(entry.entity_id))
        .first()
        .run()
    )
    if report is None:
        return
    await notify(
        "report_issued",
        user_ids=await members_with_roles(
            TenantKind.organisation, report["organisation_id"], CLIENT_RECIPIENTS
        ),
        data={
            "report_id": entry.entity_id,
            "audit_label": f"{str(report['standard']).split(':')[0]} "
            f"{KIND_LABELS.get(report['kind'], report['kind'])}",
            "organisation": await organisation_name(report["organisation_id"]),
            "body_name": await body_name(report["body_id"]),
            "findings": entry.data.get("findings", 0),
            "corrective_actions": entry.data.get("corrective_actions_opened", 0),
            "path": f"/reports/{entry.entity_id}",
        },
    )


async def _remind(row: dict[str, Any], template: str, today: dt.date) -> int:
    owners = [row["owner"]] if row["owner"] else []
    users = owners or await members_with_roles(
        TenantKind.organisation, row["organisation"], CLIENT_RECIPIENTS
    )
    due: dt.date = row["due_on"]
    return await notify(
        "corrective_action_reminder",
        template=template,
        user_ids=users,
        # One reminder of each sort per action and due date: a new due date earns a new one.
        dedupe_key=f"{template}:{row['id']}:{due.isoformat()}",
        data={
            "corrective_action_id": str(row["id"]),
            "grade": row["grade"],
            "clause": row["clause"],
            "due_on": due.isoformat(),
            "days_left": (due - today).days,
            "body_name": row["body_name"],
            "path": f"/corrective-actions/{row['id']}",
        },
    )


async def corrective_action_reminders(_: Settings) -> int:
    """Due within 7 days: a reminder; past due without the answer its grade needs: overdue
    (ISO/IEC 17021-1 9.4.9, deadlines from rules.deadlines). Dedupe keys make it safe to repeat."""
    today = clock.today()
    rows = (
        await CorrectiveAction.select(
            CorrectiveAction.id,
            CorrectiveAction.organisation,
            CorrectiveAction.owner,
            CorrectiveAction.grade,
            CorrectiveAction.status,
            CorrectiveAction.due_on,
            CorrectiveAction.finding._.clause.as_alias("clause"),
            CorrectiveAction.body._.name.as_alias("body_name"),
        )
        .where(
            CorrectiveAction.due_on.is_not_null()
            & (CorrectiveAction.due_on <= today + dt.timedelta(days=REMINDER_DAYS))
            & (CorrectiveAction.status != "closed")
        )
        .order_by(CorrectiveAction.due_on)
        .run()
    )
    written = 0
    for row in rows:
        if resolved(row["grade"], row["status"]):
            continue
        template = "corrective_action_overdue" if row["due_on"] < today else "corrective_action_due"
        written += await _remind(row, template, today)
    return written


def install() -> None:
    on_action("marketplace.report.issued", _report_issued)
    register_sweep("corrective_action_reminders", SWEEP_INTERVAL, corrective_action_reminders)
