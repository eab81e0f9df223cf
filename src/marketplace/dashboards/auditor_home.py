"""The auditor's home: per body, the open audits on their team, reports to write, actions to check."""

from __future__ import annotations

import uuid
from typing import Any

from marketplace.accounts.guards import Principal
from marketplace.dashboards.body_actions import auditor_audit_ids, count_actions
from marketplace.dashboards.schemas import (
    AuditAhead,
    AuditorBoard,
    AuditorDashboard,
    Metric,
    ReportToWrite,
)
from marketplace.dashboards.sql import NO_ID, ROW_LIMIT
from marketplace.findings.tables import AuditReport
from marketplace.scheduling.board import board_where
from marketplace.scheduling.tables import Audit, AuditAssignment, Auditor


async def auditor_dashboard(principal: Principal) -> AuditorDashboard:
    """For each body the caller audits for: open audits, reports to write, actions to verify."""
    auditors = (
        await Auditor.select(Auditor.id, Auditor.body, Auditor.body._.name.as_alias("body_name"))
        .where((Auditor.user == principal.user_id) & Auditor.active.eq(True))
        .limit(20)
        .run()
    )
    return AuditorDashboard(auditors=[await _board(a) for a in auditors])


async def _board(auditor: dict[str, Any]) -> AuditorBoard:
    """One body's work for the auditor."""
    auditor_id, body_id = auditor["id"], auditor["body"]
    audit_ids = await auditor_audit_ids(auditor_id)
    base = f"/manage/bodies/{body_id}"
    ahead, ahead_count = await _audits_ahead(body_id, audit_ids)
    to_write = await _reports_to_write(auditor_id)
    return AuditorBoard(
        auditor_id=auditor_id,
        body_id=body_id,
        body_name=auditor["body_name"],
        assignments_ahead=Metric(
            "assignments_ahead",
            "Open audits on your team",
            ahead_count,
            f"{base}/planning?auditor={auditor_id}",
            f"/api/v1/bodies/{body_id}/audits?status=open&auditor_id={auditor_id}",
        ),
        audits=ahead,
        reports_to_write=Metric(
            "reports_to_write",
            "Reports to write (audits you led, held, no issued report)",
            len(to_write),
            f"/me/auditor#reports-{auditor_id}",
        ),
        reports=to_write,
        actions_to_verify=Metric(
            "actions_to_verify",
            "Corrective actions to verify",
            await count_actions(body_id, status="accepted", auditor_ids=audit_ids),
            f"{base}/corrective-actions?status=accepted&auditor={auditor_id}",
        ),
        actions_to_review=Metric(
            "actions_to_review",
            "Corrective actions to review",
            await count_actions(body_id, status="submitted", auditor_ids=audit_ids),
            f"{base}/corrective-actions?status=submitted&auditor={auditor_id}",
        ),
    )


async def _audits_ahead(
    body_id: uuid.UUID, audit_ids: list[uuid.UUID]
) -> tuple[list[AuditAhead], int]:
    """The open audits the auditor is on (the planning board's filter), and how many there are."""
    where = board_where(body_id, "open") & Audit.id.is_in(audit_ids or [NO_ID])
    rows = (
        await Audit.select(
            Audit.id,
            Audit.kind,
            Audit.status,
            Audit.starts_at,
            Audit.window_end,
            Audit.time_zone,
            Audit.cycle._.engagement._.organisation._.name.as_alias("organisation_name"),
        )
        .where(where)
        .order_by(Audit.window_end)
        .limit(ROW_LIMIT)
        .run()
    )
    return [AuditAhead(**r) for r in rows], int(await Audit.count().where(where).run())


async def _reports_to_write(auditor_id: uuid.UUID) -> list[ReportToWrite]:
    """Audits the auditor led that are held and have no issued (or amended) report yet."""
    lead_ids = [
        r["audit"]
        for r in await AuditAssignment.select(AuditAssignment.audit)
        .where(
            (AuditAssignment.auditor == auditor_id)
            & AuditAssignment.live.eq(True)
            & (AuditAssignment.role == "lead")
        )
        .run()
    ]
    issued = [
        r["audit"]
        for r in await AuditReport.select(AuditReport.audit)
        .where(
            AuditReport.audit.is_in(lead_ids or [NO_ID])
            & AuditReport.status.is_in(["issued", "amended"])
        )
        .run()
    ]
    rows = (
        await Audit.select(
            Audit.id,
            Audit.kind,
            Audit.completed_on,
            Audit.cycle._.engagement._.organisation._.name.as_alias("organisation_name"),
        )
        .where(
            Audit.id.is_in(lead_ids or [NO_ID])
            & (Audit.status == "completed")
            & Audit.id.not_in(issued or [NO_ID])
        )
        .order_by(Audit.completed_on)
        .limit(ROW_LIMIT)
        .run()
    )
    return [ReportToWrite(**r) for r in rows]
