"""The client's home: audits ahead, corrective actions, certificates, invoices, improvement, readiness."""

from __future__ import annotations

# ruff: noqa: S608  -- SQL here is assembled from fixed fragments; every value is a bound {} argument.
import uuid

import msgspec
from piccolo.query.functions.aggregate import Count

from marketplace.accounts.guards import Principal
from marketplace.accounts.tables import Organisation
from marketplace.billing.invoices import invoice_where
from marketplace.billing.tables import Invoice
from marketplace.certificates.registry import certificates_for
from marketplace.core import clock, db
from marketplace.core.errors import NotFound
from marketplace.dashboards import access
from marketplace.dashboards.schemas import (
    AmountDue,
    AssessmentScore,
    HeldCertificate,
    Improvement,
    Metric,
    NextAudit,
    OrganisationDashboard,
    OwnerMetric,
    ReadinessSummary,
    RepeatClause,
    ReportNonconformities,
    Stage1Panel,
)
from marketplace.dashboards.sql import ROW_LIMIT, as_date, days_between, raw, table
from marketplace.findings.tables import AuditReport, CorrectiveAction, Finding
from marketplace.findings.tracker import list_corrective_actions
from marketplace.readiness.assessments import list_assessments
from marketplace.readiness.stage1 import stage1_panel
from marketplace.scheduling.tables import Audit


async def organisation_dashboard(
    principal: Principal, organisation_id: uuid.UUID
) -> OrganisationDashboard:
    """The client's home, for every member of the organisation."""
    access.require_client_member(principal, organisation_id)
    org = (
        await Organisation.select(Organisation.id, Organisation.name)
        .where(Organisation.id == organisation_id)
        .first()
        .run()
    )
    if org is None:
        raise NotFound(access.NO_ORGANISATION)
    _, closed_total = await list_corrective_actions(
        organisation_id=organisation_id, status="closed", limit=0
    )
    return OrganisationDashboard(
        organisation_id=organisation_id,
        organisation_name=org["name"],
        next_audits=await _next_audits(organisation_id),
        programme_href=f"/organisations/{organisation_id}/audit-programme",
        actions=await _action_metrics(organisation_id),
        actions_by_owner=await _actions_by_owner(organisation_id),
        certificates=await _certificates(organisation_id),
        invoices=await _invoice_metrics(organisation_id),
        amounts_due=await _amounts_due(organisation_id),
        improvement=await improvement(organisation_id, closed_total),
        readiness=await readiness_summary(organisation_id),
    )


def _tracker(organisation_id: uuid.UUID) -> tuple[str, str]:
    """The corrective action tracker's page and API list."""
    return (
        f"/organisations/{organisation_id}/corrective-actions",
        f"/api/v1/organisations/{organisation_id}/corrective-actions",
    )


async def _next_audits(organisation_id: uuid.UUID) -> list[NextAudit]:
    """The client's ten audits closing soonest that are neither held nor cancelled."""
    rows = (
        await Audit.select(
            Audit.id,
            Audit.kind,
            Audit.status,
            Audit.window_start,
            Audit.window_end,
            Audit.starts_at,
            Audit.time_zone,
            Audit.cycle._.engagement._.standard.as_alias("standard"),
            Audit.cycle._.engagement._.body._.name.as_alias("body_name"),
        )
        .where(
            (Audit.cycle._.engagement._.organisation == organisation_id)
            & Audit.status.not_in(["completed", "cancelled"])
            & Audit.window_end.is_not_null()
        )
        .order_by(Audit.window_end)
        .limit(10)
        .run()
    )
    return [NextAudit(**r) for r in rows]


async def _action_metrics(organisation_id: uuid.UUID) -> list[Metric]:
    tracker, tracker_api = _tracker(organisation_id)
    _, open_total = await list_corrective_actions(
        organisation_id=organisation_id, status="open", limit=0
    )
    _, overdue_total = await list_corrective_actions(
        organisation_id=organisation_id, overdue_only=True, limit=0
    )
    return [
        Metric(
            "actions_open",
            "Corrective actions open",
            open_total,
            f"{tracker}?status=open",
            f"{tracker_api}?status=open",
        ),
        Metric(
            "actions_overdue",
            "Corrective actions overdue",
            overdue_total,
            f"{tracker}?overdue=1",
            f"{tracker_api}?overdue=true",
        ),
    ]


async def _actions_by_owner(organisation_id: uuid.UUID) -> list[OwnerMetric]:
    """Open corrective actions counted per owner."""
    tracker, tracker_api = _tracker(organisation_id)
    return [
        OwnerMetric(
            owner_id=r["owner"],
            owner_name=r["owner_name"],
            key="actions_open_owner",
            label=f"Open, owned by {r['owner_name']}",
            count=int(r["count"]),
            href=f"{tracker}?status=open&owner={r['owner']}",
            api=f"{tracker_api}?status=open&owner_id={r['owner']}",
        )
        for r in await CorrectiveAction.select(
            CorrectiveAction.owner,
            CorrectiveAction.owner._.name.as_alias("owner_name"),
            Count(),
        )
        .where(
            (CorrectiveAction.organisation == organisation_id)
            & (CorrectiveAction.status == "open")
            & CorrectiveAction.owner.is_not_null()
        )
        .group_by(CorrectiveAction.owner, CorrectiveAction.owner._.name)
        .run()
    ]


async def _certificates(organisation_id: uuid.UUID) -> list[HeldCertificate]:
    today = clock.today()
    certs = await certificates_for(organisation_id=organisation_id)
    return [
        HeldCertificate(
            number=c.number,
            standard=c.standard,
            body_name=c.body_name,
            status=c.effective_status,
            expires_on=c.expires_on,
            days_to_expiry=(c.expires_on - today).days,
        )
        for c in certs[:ROW_LIMIT]
    ]


async def _invoice_metrics(organisation_id: uuid.UUID) -> list[Metric]:
    inv = f"/organisations/{organisation_id}/invoices"
    inv_api = f"/api/v1/organisations/{organisation_id}/invoices"
    open_invoices = (
        await Invoice.count()
        .where(invoice_where(organisation_id=organisation_id, status="open"))
        .run()
    )
    overdue_invoices = (
        await Invoice.count()
        .where(invoice_where(organisation_id=organisation_id, overdue=True))
        .run()
    )
    return [
        Metric(
            "invoices_open",
            "Invoices to pay",
            open_invoices,
            f"{inv}?status=open",
            f"{inv_api}?status=open",
        ),
        Metric(
            "invoices_overdue",
            "Invoices overdue",
            overdue_invoices,
            f"{inv}?overdue=true",
            f"{inv_api}?overdue=true",
        ),
    ]


async def _amounts_due(organisation_id: uuid.UUID) -> list[AmountDue]:
    """What the client still owes on open invoices, per currency."""
    due_sql = (
        "SELECT i.currency AS currency, SUM(i.total_minor - i.amount_paid_minor) AS due "
        f"FROM {table(Invoice)} i WHERE i.organisation = {{}} AND i.kind = 'invoice' "
        "AND i.status = 'open' GROUP BY i.currency ORDER BY i.currency"
    )
    return [
        AmountDue(currency=r["currency"], amount_due_minor=int(r["due"] or 0))
        for r in await raw(due_sql, organisation_id)
    ]


async def readiness_summary(organisation_id: uuid.UUID) -> ReadinessSummary:
    """Each self-assessment's score and gap count, and whether stage 1 could be booked."""
    assessments = await list_assessments(organisation_id)
    return ReadinessSummary(
        assessments=[
            AssessmentScore(
                id=a.id,
                standard=a.standard,
                percent=a.overall.percent,
                level=a.level,
                gap_count=a.gap_count,
            )
            for a in assessments
        ],
        stage1=msgspec.convert(
            await stage1_panel(organisation_id),
            Stage1Panel,
            from_attributes=True,
        ),
    )


async def _nonconformities_per_report(organisation_id: uuid.UUID) -> list[ReportNonconformities]:
    """Nonconformities of the client's last 12 issued reports, oldest first."""
    per_report_sql = (
        "SELECT r.id AS id, r.issued_on AS issued_on, a.kind AS kind, COUNT(f.id) AS n "
        f"FROM {table(AuditReport)} r JOIN {table(Audit)} a ON r.audit = a.id "
        f"LEFT JOIN {table(Finding)} f ON f.report = r.id AND f.grade IN ('major', 'minor') "
        "WHERE r.organisation = {} AND r.status = 'issued' "
        "GROUP BY r.id, r.issued_on, a.kind ORDER BY r.issued_on DESC LIMIT 12"
    )
    per_report = [
        ReportNonconformities(
            report_id=db.as_uuid(r["id"]),
            issued_on=as_date(r["issued_on"]),
            kind=r["kind"],
            count=int(r["n"]),
            href=f"/reports/{r['id']}",
        )
        for r in await raw(per_report_sql, organisation_id)
    ]
    per_report.reverse()
    return per_report


async def _repeat_clauses(organisation_id: uuid.UUID) -> list[RepeatClause]:
    """Clauses with nonconformities at more than one audit: the ten most frequent."""
    repeat_sql = (
        "SELECT f.clause AS clause, COUNT(*) AS n, COUNT(DISTINCT ca.audit) AS audits "
        f"FROM {table(CorrectiveAction)} ca JOIN {table(Finding)} f ON ca.finding = f.id "
        "WHERE ca.organisation = {} GROUP BY f.clause HAVING COUNT(DISTINCT ca.audit) > 1 "
        "ORDER BY COUNT(*) DESC, f.clause LIMIT 10"
    )
    tracker, tracker_api = _tracker(organisation_id)
    return [
        RepeatClause(
            clause=r["clause"],
            count=int(r["n"]),
            audits=int(r["audits"]),
            href=f"{tracker}?clause={r['clause']}",
            api=f"{tracker_api}?clause={r['clause']}",
        )
        for r in await raw(repeat_sql, organisation_id)
    ]


async def improvement(organisation_id: uuid.UUID, closed_total: int) -> Improvement:
    """Nonconformities per issued report over time, mean days to close, repeated clauses."""
    mean_sql = (
        f"SELECT AVG({days_between('ca.closed_at', 'ca.issued_on')}) AS mean "
        f"FROM {table(CorrectiveAction)} ca WHERE ca.organisation = {{}} "
        "AND ca.status = 'closed' AND ca.closed_at IS NOT NULL"
    )
    mean = (await raw(mean_sql, organisation_id))[0]["mean"]
    tracker, _ = _tracker(organisation_id)
    return Improvement(
        per_report=await _nonconformities_per_report(organisation_id),
        mean_days_to_close=round(float(mean), 1) if mean is not None else None,
        closed=Metric("actions_closed", "Closed", closed_total, f"{tracker}?status=closed"),
        repeat_clauses=await _repeat_clauses(organisation_id),
    )
