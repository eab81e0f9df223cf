"""The body's home: its attention list and the KPIs of audits, auditors, decisions, findings, money."""

from __future__ import annotations

# Every count reuses the filter of the list it links to (board_where,
# billing.invoices.invoice_where, body_action_where), so a number and its list agree; every aggregate
# runs in SQL and every row list is bounded.
# ruff: noqa: S608  -- SQL here is assembled from fixed fragments; every value is a bound {} argument.
import datetime as dt
import uuid
from typing import Any

from marketplace.accounts.guards import Principal
from marketplace.accounts.tables import CertificationBody
from marketplace.billing.invoices import invoice_where
from marketplace.billing.tables import Invoice, Payment
from marketplace.certificates.registry import risk_flags
from marketplace.certificates.tables import Certificate, CertificationDecision
from marketplace.core import clock, db
from marketplace.core.errors import NotFound
from marketplace.dashboards import access
from marketplace.dashboards.body_actions import count_actions
from marketplace.dashboards.months import month_end, month_key, month_starts, working_days
from marketplace.dashboards.schemas import (
    AuditorLoad,
    AuditsPerMonth,
    BodyDashboard,
    Cell,
    ClauseCount,
    Metric,
    MonthAudits,
    Revenue,
    RevenueMonth,
    Stage2ToDecision,
)
from marketplace.dashboards.sql import ROW_LIMIT, days_between, month_of, raw, table
from marketplace.findings.tables import CorrectiveAction, Finding
from marketplace.scheduling.board import board_where
from marketplace.scheduling.tables import (
    Audit,
    AuditAssignment,
    Auditor,
    CertificationCycle,
    Engagement,
)

ATTENTION_DAYS = 60  # surveillance windows closing, audits to staff (the 60 days)
EXPIRY_DAYS = 90  # certificates expiring: recertification must be decided before expiry
UTILISATION_DAYS = 90
AUDIT_KINDS = ("stage1", "stage2", "surveillance1", "surveillance2", "recertification", "special")


async def body_dashboard(principal: Principal, body_id: uuid.UUID) -> BodyDashboard:
    """The body's home for every role but auditors; money figures for the billing roles only."""
    role = access.home_role(principal, body_id)
    body = (
        await CertificationBody.select(CertificationBody.id, CertificationBody.name)
        .where(CertificationBody.id == body_id)
        .first()
        .run()
    )
    if body is None:
        raise NotFound(access.NO_BODY)
    clients = await raw(
        f"SELECT COUNT(DISTINCT e.organisation) AS n FROM {table(Engagement)} e WHERE e.body = {{}}",
        body_id,
    )
    return BodyDashboard(
        body_id=body_id,
        body_name=body["name"],
        role=role,
        clients=Metric(
            "clients",
            "Clients",
            int(clients[0]["n"]),
            f"/manage/bodies/{body_id}/clients",
            f"/api/v1/bodies/{body_id}/clients",
        ),
        attention=await body_attention(body_id, role),
        audits_per_month=await audits_per_month(body_id),
        utilisation=await auditor_utilisation(body_id),
        stage2_to_decision=await stage2_to_decision(body_id),
        nonconformities_by_clause=await nonconformities_by_clause(body_id),
        revenue=await revenue(body_id) if access.sees_invoices(role) else None,
    )


# --- the attention list ------------------------------------------------------------------------


async def _board_count(body_id: uuid.UUID, status: str | None, **filters: Any) -> int:
    return int(await Audit.count().where(board_where(body_id, status, **filters)).run())


async def certificates_at_risk(body_id: uuid.UUID) -> int:
    """Active certificates with a missed surveillance (ISO/IEC 17021-1 9.1.3, 9.6.5).

    The same rule as the certificate list (with_risk), over the body's active,
    unexpired certificates only: two bounded queries.
    """
    today = clock.today()
    rows: list[dict[str, Any]] = (
        await Certificate.select(Certificate.cycle)
        .where(
            (Certificate.body == body_id)
            & (Certificate.status == "active")
            & (Certificate.expires_on >= today)
        )
        .run()
    )
    return sum(await risk_flags([(r["cycle"], "active") for r in rows]))


async def body_attention(body_id: uuid.UUID, role: str) -> list[Metric]:
    """What needs the body's hands: audits to plan, certificates at risk, actions, invoices."""
    items = await _planning_attention(body_id) + await _paperwork_attention(body_id)
    if access.sees_invoices(role):
        items.append(
            Metric(
                "overdue_invoices",
                "Overdue invoices",
                await Invoice.count().where(invoice_where(body_id=body_id, overdue=True)).run(),
                f"/manage/bodies/{body_id}/invoices?overdue=true",
                f"/api/v1/bodies/{body_id}/invoices?overdue=true",
            )
        )
    return items


async def _planning_attention(body_id: uuid.UUID) -> list[Metric]:
    """Proposals the client has not answered, audits without a team, surveillance closing."""
    soon = clock.today() + dt.timedelta(days=ATTENTION_DAYS)
    base = f"/manage/bodies/{body_id}/planning"
    api = f"/api/v1/bodies/{body_id}/audits"
    rows: list[tuple[str, str, str, str, dict[str, Any]]] = [
        ("proposals_awaiting_client", "Proposals awaiting the client", "proposed", "", {}),
        (
            "audits_without_team",
            f"Audits without a team, window opening within {ATTENTION_DAYS} days",
            "planned",
            f"&opens_by={soon}",
            {"opens_by": soon},
        ),
        (
            "surveillance_closing",
            f"Surveillance windows closing within {ATTENTION_DAYS} days (or overdue)",
            "open",
            f"&kind=surveillance&due_by={soon}",
            {"kind": "surveillance", "due_by": soon},
        ),
    ]
    return [
        Metric(
            key,
            label,
            await _board_count(body_id, status, **filters),
            f"{base}?status={status}{query}",
            f"{api}?status={status}{query}",
        )
        for key, label, status, query, filters in rows
    ]


async def _paperwork_attention(body_id: uuid.UUID) -> list[Metric]:
    """Certificates at risk or expiring, corrective actions to review or verify."""
    today = clock.today()
    expiring = today + dt.timedelta(days=EXPIRY_DAYS)
    base = f"/manage/bodies/{body_id}"
    api = f"/api/v1/bodies/{body_id}"
    expiring_count = (
        await Certificate.count()
        .where(
            (Certificate.body == body_id)
            & Certificate.status.is_in(["active", "suspended"])
            & (Certificate.expires_on >= today)
            & (Certificate.expires_on <= expiring)
        )
        .run()
    )
    return [
        Metric(
            "certificates_at_risk",
            "Certificates at risk (surveillance missed)",
            await certificates_at_risk(body_id),
            f"{base}/certificates?at_risk=true",
        ),
        Metric(
            "certificates_expiring",
            f"Certificates expiring within {EXPIRY_DAYS} days",
            expiring_count,
            f"{base}/certificates?expiring_by={expiring}",
        ),
        Metric(
            "actions_awaiting_review",
            "Corrective actions awaiting review",
            await count_actions(body_id, status="submitted"),
            f"{base}/corrective-actions?status=submitted",
            f"{api}/corrective-actions?status=submitted",
        ),
        Metric(
            "actions_awaiting_verification",
            "Corrective actions accepted, awaiting verification",
            await count_actions(body_id, status="accepted"),
            f"{base}/corrective-actions?status=accepted",
            f"{api}/corrective-actions?status=accepted",
        ),
    ]


# --- the KPIs ----------------------------------------------------------------------------------


async def audits_per_month(body_id: uuid.UUID) -> AuditsPerMonth:
    """Completed audits per month and kind over the last 12 months (one grouped query)."""
    today = clock.today()
    months = month_starts(today)
    first = months[0]
    sql = (
        f"SELECT {month_of('a.completed_on')} AS month, a.kind AS kind, COUNT(*) AS n "
        f"FROM {table(Audit)} a JOIN {table(CertificationCycle)} c ON a.cycle = c.id "
        f"JOIN {table(Engagement)} e ON c.engagement = e.id "
        "WHERE e.body = {} AND a.status = 'completed' AND a.completed_on >= {} "
        "AND a.completed_on <= {} GROUP BY 1, 2"
    )
    counts = {(r["month"], r["kind"]): int(r["n"]) for r in await raw(sql, body_id, first, today)}
    base = f"/manage/bodies/{body_id}/planning?status=completed"
    rows: list[MonthAudits] = []
    for start in months:
        key = month_key(start)
        end = month_end(start)
        cells = {
            kind: Cell(
                counts.get((key, kind), 0),
                f"{base}&kind={kind}&completed_from={start}&completed_to={end}",
            )
            for kind in AUDIT_KINDS
        }
        rows.append(MonthAudits(key, cells, sum(c.count for c in cells.values())))
    totals = {
        kind: Cell(
            sum(r.kinds[kind].count for r in rows),
            f"{base}&kind={kind}&completed_from={first}&completed_to={today}",
        )
        for kind in AUDIT_KINDS
    }
    return AuditsPerMonth(months=rows, totals=totals, kinds=list(AUDIT_KINDS))


async def _open_audits_per_auditor(body_id: uuid.UUID) -> dict[uuid.UUID, int]:
    sql = (
        "SELECT s.auditor AS auditor, COUNT(DISTINCT s.audit) AS n "
        f"FROM {table(AuditAssignment)} s JOIN {table(Audit)} a ON s.audit = a.id "
        f"JOIN {table(Auditor)} r ON s.auditor = r.id "
        "WHERE r.body = {} AND s.live = {} AND a.status NOT IN ('completed', 'cancelled') "
        "GROUP BY s.auditor"
    )
    return {db.as_uuid(r["auditor"]): int(r["n"]) for r in await raw(sql, body_id, True)}


async def _booked_days(
    body_id: uuid.UUID, now: dt.datetime, horizon: dt.datetime
) -> dict[uuid.UUID, float]:
    """Days each auditor is booked between now and the horizon."""
    # Spans, not rows per day: at most one row per live assignment in the next 90 days.
    spans = (
        await AuditAssignment.select(
            AuditAssignment.auditor, AuditAssignment.starts_at, AuditAssignment.ends_at
        )
        .where(
            (AuditAssignment.auditor._.body == body_id)
            & AuditAssignment.live.eq(True)
            & (AuditAssignment.starts_at < horizon)
            & (AuditAssignment.ends_at > now)
        )
        .limit(5000)
        .run()
    )
    booked: dict[uuid.UUID, float] = {}
    for s in spans:
        start, end = max(s["starts_at"], now), min(s["ends_at"], horizon)
        booked[s["auditor"]] = booked.get(s["auditor"], 0.0) + max(
            0.0, (end - start).total_seconds() / 86400
        )
    return booked


async def auditor_utilisation(body_id: uuid.UUID) -> list[AuditorLoad]:
    """Booked days in the next 90 days against working days, and open audits, per auditor."""
    now = clock.now()
    auditors = (
        await Auditor.select(Auditor.id, Auditor.name)
        .where((Auditor.body == body_id) & Auditor.active.eq(True))
        .order_by(Auditor.name)
        .limit(ROW_LIMIT)
        .run()
    )
    open_audits = await _open_audits_per_auditor(body_id)
    booked = await _booked_days(body_id, now, now + dt.timedelta(days=UTILISATION_DAYS))
    capacity = working_days(now.date(), UTILISATION_DAYS)
    out = []
    for a in auditors:
        days = round(booked.get(a["id"], 0.0), 1)
        out.append(
            AuditorLoad(
                id=a["id"],
                name=a["name"],
                booked_days=days,
                capacity_days=capacity,
                utilisation_pct=round(100 * days / capacity) if capacity else 0,
                open_audits=open_audits.get(a["id"], 0),
                href=f"/manage/bodies/{body_id}/planning?auditor={a['id']}",
            )
        )
    return out


async def stage2_to_decision(body_id: uuid.UUID) -> Stage2ToDecision:
    """Mean days from the last day of stage 2 to the certification decision, last 12 months."""
    since = clock.today() - dt.timedelta(days=365)
    sql = (
        f"SELECT COUNT(*) AS n, AVG({days_between('d.decided_on', 'a.completed_on')}) AS mean "
        f"FROM {table(CertificationDecision)} d JOIN {table(Audit)} a ON a.cycle = d.cycle "
        "WHERE d.body = {} AND d.decided_on >= {} AND a.kind = 'stage2' "
        "AND a.status = 'completed'"
    )
    rows = await raw(sql, body_id, since)
    n = int(rows[0]["n"]) if rows else 0
    mean = rows[0]["mean"] if rows else None
    return Stage2ToDecision(
        decisions=n,
        mean_days=round(float(mean), 1) if mean is not None else None,
        href=f"/manage/bodies/{body_id}/certificates",
    )


async def nonconformities_by_clause(body_id: uuid.UUID) -> list[ClauseCount]:
    """The ten clauses with most nonconformities raised in the last 12 months."""
    since = clock.today() - dt.timedelta(days=365)
    sql = (
        "SELECT f.clause AS clause, COUNT(*) AS n "
        f"FROM {table(CorrectiveAction)} ca JOIN {table(Finding)} f ON ca.finding = f.id "
        "WHERE ca.body = {} AND ca.issued_on >= {} GROUP BY f.clause "
        "ORDER BY COUNT(*) DESC, f.clause LIMIT 10"
    )
    return [
        ClauseCount(
            clause=r["clause"],
            count=int(r["n"]),
            href=f"/manage/bodies/{body_id}/corrective-actions?clause={r['clause']}"
            f"&issued_from={since}",
        )
        for r in await raw(sql, body_id, since)
    ]


async def _money_per_month(
    body_id: uuid.UUID, first: dt.date
) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], int]]:
    """Invoiced and collected totals keyed by (month, currency) since the first month."""
    invoiced_sql = (
        f"SELECT {month_of('i.issued_on')} AS month, i.currency AS currency, "
        "SUM(i.total_minor) AS total "
        f"FROM {table(Invoice)} i WHERE i.body = {{}} AND i.kind = 'invoice' "
        "AND i.status IN ('open', 'paid') AND i.issued_on >= {} GROUP BY 1, 2"
    )
    collected_sql = (
        f"SELECT {month_of('p.confirmed_at')} AS month, p.currency AS currency, "
        "SUM(p.amount_minor - p.refunded_minor) AS total "
        f"FROM {table(Payment)} p JOIN {table(Invoice)} i ON p.invoice = i.id "
        "WHERE i.body = {} AND p.state IN ('confirmed', 'refunded') AND p.confirmed_at >= {} "
        "GROUP BY 1, 2"
    )
    since = dt.datetime.combine(first, dt.time(), tzinfo=dt.UTC)
    invoiced = {
        (r["month"], r["currency"]): int(r["total"] or 0)
        for r in await raw(invoiced_sql, body_id, first)
    }
    collected = {
        (r["month"], r["currency"]): int(r["total"] or 0)
        for r in await raw(collected_sql, body_id, since)
    }
    return invoiced, collected


async def revenue(body_id: uuid.UUID) -> Revenue:
    """Invoiced (issued invoices, less voided) and collected (confirmed payments) per month."""
    months = month_starts(clock.today())
    invoiced, collected = await _money_per_month(body_id, months[0])
    currencies = sorted({c for _, c in invoiced} | {c for _, c in collected})
    body = (
        await CertificationBody.select(CertificationBody.currency)
        .where(CertificationBody.id == body_id)
        .first()
        .run()
    )
    home = body["currency"] if body else "EUR"
    if home not in currencies:
        currencies.insert(0, home)
    return Revenue(
        currencies=currencies,
        currency=currencies[0] if len(currencies) == 1 else home,
        months=[
            RevenueMonth(
                month=month_key(m),
                invoiced={c: invoiced.get((month_key(m), c), 0) for c in currencies},
                collected={c: collected.get((month_key(m), c), 0) for c in currencies},
            )
            for m in months
        ],
        href=f"/manage/bodies/{body_id}/invoices",
    )
