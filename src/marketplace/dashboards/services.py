"""Dashboard services: attention lists and KPIs per home, a body's client list and client file."""

# Every count reuses the filter of the list it links to (scheduling.board_where,
# billing.invoice_where, body_action_where below), so a number and its list agree; every
# aggregate runs in SQL and every row list is bounded.
from __future__ import annotations

# ruff: noqa: S608  -- SQL here is assembled from fixed fragments; every value is a bound {} argument.
import datetime as dt
import time
import uuid
from typing import Any

from piccolo.query.functions.aggregate import Count

from marketplace.accounts.tables import (
    CertificationBody,
    Membership,
    Organisation,
    Site,
    User,
)
from marketplace.billing import access as billing_access
from marketplace.billing import invoices as billing
from marketplace.billing.tables import Invoice, Payment
from marketplace.certificates import services as certificates
from marketplace.certificates.tables import Certificate, CertificateEvent, CertificationDecision
from marketplace.core import clock, db
from marketplace.core.activity import Tenant, log_action
from marketplace.core.errors import Invalid, NotFound
from marketplace.core.pagination import Page, PageParams
from marketplace.core.tables import ActivityLog
from marketplace.dashboards.tables import ClientNote
from marketplace.directory.tables import Accreditation
from marketplace.findings import services as findings
from marketplace.findings.tables import AuditReport, CorrectiveAction, Finding
from marketplace.readiness import services as readiness_services
from marketplace.reviews.tables import Review
from marketplace.scheduling import services as scheduling
from marketplace.scheduling.tables import (
    Audit,
    AuditAssignment,
    Auditor,
    CertificationCycle,
    Engagement,
)

# Who sees a body's home and client file: everyone but auditors, who have a home of their own.
HOME_ROLES = frozenset({"owner", "scheduler", "decision_maker", "finance"})
NOTE_WRITERS = frozenset({"owner", "scheduler", "decision_maker"})
BILLERS = billing_access.BILLERS
NO_BODY = "No such certification body."
NO_CLIENT = "No such client."

ATTENTION_DAYS = 60  # surveillance windows closing, audits to staff (the 60 days)
EXPIRY_DAYS = 90  # certificates expiring: recertification must be decided before expiry
KPI_MONTHS = 12
UTILISATION_DAYS = 90
NEW_REVIEW_DAYS = 14
SIGNUP_DAYS = 7
ROW_LIMIT = 200
EXPORT_LIMIT = 10_000
CLIENT_SORTS = ("name", "next_due", "open_ncs", "overdue_invoices")
CERT_STATES = ("active", "suspended", "withdrawn", "expired", "none")
AUDIT_KINDS = ("stage1", "stage2", "surveillance1", "surveillance2", "recertification", "special")


def metric(key: str, label: str, count: int, href: str, api: str | None = None) -> dict[str, Any]:
    """One dashboard number with the page (and API list) it counts."""
    return {"key": key, "label": label, "count": count, "href": href, "api": api}


def _table(t: Any) -> str:
    return str(t._meta.tablename)


def _as_date(value: Any) -> dt.date | None:
    """Raw SQLite answers dates of derived columns as text; PostgreSQL as dates."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _month(column: str) -> str:
    """`YYYY-MM` of a date or timestamp column, in each engine's dialect (UTC as stored)."""
    if db.is_postgres():
        return f"to_char({column}, 'YYYY-MM')"
    return f"substr({column}, 1, 7)"


def _days_between(later: str, earlier: str) -> str:
    if db.is_postgres():
        return f"(CAST({later} AS date) - CAST({earlier} AS date))"
    return f"(julianday(substr({later}, 1, 10)) - julianday(substr({earlier}, 1, 10)))"


async def _raw(sql: str, *args: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await Engagement.raw(sql, *args).run()
    return rows


def month_starts(today: dt.date, months: int = KPI_MONTHS) -> list[dt.date]:
    """First days of the last `months` months, oldest first, ending with the current month."""
    index = today.year * 12 + today.month - 1
    return [dt.date((index - i) // 12, (index - i) % 12 + 1, 1) for i in range(months - 1, -1, -1)]


def month_end(start: dt.date) -> dt.date:
    nxt = dt.date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def working_days(start: dt.date, days: int) -> int:
    return sum(1 for i in range(days) if (start + dt.timedelta(days=i)).weekday() < 5)


# --- a body's corrective actions (the list the body's numbers link to) -----------------------


def body_action_where(
    body_id: uuid.UUID,
    *,
    status: str | None = None,
    grade: str | None = None,
    overdue: bool | None = None,
    open_only: bool | None = None,
    clause: str | None = None,
    organisation_id: uuid.UUID | None = None,
    auditor_ids: list[uuid.UUID] | None = None,
    issued_from: dt.date | None = None,
) -> Any:
    """Filter of the body's corrective action list; `auditor_ids` are the audits an auditor is on."""
    where: Any = CorrectiveAction.body == body_id
    if status:
        if status not in findings.STATUSES:
            raise Invalid.field("status", f"Choose one of {', '.join(findings.STATUSES)}.")
        where &= CorrectiveAction.status == status
    if grade:
        if grade not in ("major", "minor"):
            raise Invalid.field("grade", "Choose major or minor.")
        where &= CorrectiveAction.grade == grade
    if open_only:
        where &= CorrectiveAction.status != "closed"
    if overdue:
        where &= findings.overdue_where(clock.today())
    if clause:
        where &= CorrectiveAction.finding._.clause == clause
    if organisation_id is not None:
        where &= CorrectiveAction.organisation == organisation_id
    if auditor_ids is not None:
        where &= CorrectiveAction.audit.is_in(auditor_ids or [uuid.UUID(int=0)])
    if issued_from is not None:
        where &= CorrectiveAction.issued_on >= issued_from
    return where


async def auditor_audit_ids(auditor_id: uuid.UUID) -> list[uuid.UUID]:
    """Audits the auditor is on (a live assignment), as the planning board's auditor filter."""
    return [
        r["audit"]
        for r in await AuditAssignment.select(AuditAssignment.audit)
        .where((AuditAssignment.auditor == auditor_id) & AuditAssignment.live.eq(True))
        .run()
    ]


async def body_actions(
    body_id: uuid.UUID, params: PageParams, auditor_id: uuid.UUID | None = None, **filters: Any
) -> Page[dict[str, Any]]:
    if auditor_id is not None:
        filters["auditor_ids"] = await auditor_audit_ids(auditor_id)
    where = body_action_where(body_id, **filters)
    rows: list[dict[str, Any]] = (
        await CorrectiveAction.select(
            CorrectiveAction.id,
            CorrectiveAction.grade,
            CorrectiveAction.status,
            CorrectiveAction.issued_on,
            CorrectiveAction.due_on,
            CorrectiveAction.organisation.as_alias("organisation_id"),
            CorrectiveAction.organisation._.name.as_alias("organisation_name"),
            CorrectiveAction.finding._.clause.as_alias("clause"),
            CorrectiveAction.audit.as_alias("audit_id"),
            CorrectiveAction.audit._.kind.as_alias("audit_kind"),
        )
        .where(where)
        .order_by(CorrectiveAction.due_on)
        .order_by(CorrectiveAction.created_at)
        .limit(params.per_page)
        .offset(params.offset)
        .run()
    )
    total = await CorrectiveAction.count().where(where).run()
    today = clock.today()
    for r in rows:
        r["overdue"] = findings.overdue(r, today)
    return Page(items=rows, total=total, page=params.page, per_page=params.per_page)


# --- the body's home ---------------------------------------------------------------------------


async def _board_count(body_id: uuid.UUID, status: str | None, **filters: Any) -> int:
    return int(await Audit.count().where(scheduling.board_where(body_id, status, **filters)).run())


async def certificates_at_risk(body_id: uuid.UUID) -> int:
    """Active certificates with a missed surveillance (ISO/IEC 17021-1 9.1.3, 9.6.5).

    The same rule as the certificate list (certificates.with_risk), over the body's active,
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
    for r in rows:
        r["effective_status"] = "active"
    return sum(1 for r in await certificates.with_risk(rows) if r["at_risk"])


async def body_attention(body_id: uuid.UUID, role: str) -> list[dict[str, Any]]:
    today = clock.today()
    soon = today + dt.timedelta(days=ATTENTION_DAYS)
    expiring = today + dt.timedelta(days=EXPIRY_DAYS)
    base = f"/manage/bodies/{body_id}"
    api = f"/api/v1/bodies/{body_id}"
    items = [
        metric(
            "proposals_awaiting_client",
            "Proposals awaiting the client",
            await _board_count(body_id, "proposed"),
            f"{base}/planning?status=proposed",
            f"{api}/audits?status=proposed",
        ),
        metric(
            "audits_without_team",
            f"Audits without a team, window opening within {ATTENTION_DAYS} days",
            await _board_count(body_id, "planned", opens_by=soon),
            f"{base}/planning?status=planned&opens_by={soon}",
            f"{api}/audits?status=planned&opens_by={soon}",
        ),
        metric(
            "surveillance_closing",
            f"Surveillance windows closing within {ATTENTION_DAYS} days (or overdue)",
            await _board_count(body_id, "open", kind="surveillance", due_by=soon),
            f"{base}/planning?status=open&kind=surveillance&due_by={soon}",
            f"{api}/audits?status=open&kind=surveillance&due_by={soon}",
        ),
        metric(
            "certificates_at_risk",
            "Certificates at risk (surveillance missed)",
            await certificates_at_risk(body_id),
            f"{base}/certificates?at_risk=true",
        ),
        metric(
            "certificates_expiring",
            f"Certificates expiring within {EXPIRY_DAYS} days",
            await Certificate.count()
            .where(
                (Certificate.body == body_id)
                & Certificate.status.is_in(["active", "suspended"])
                & (Certificate.expires_on >= today)
                & (Certificate.expires_on <= expiring)
            )
            .run(),
            f"{base}/certificates?expiring_by={expiring}",
        ),
        metric(
            "actions_awaiting_review",
            "Corrective actions awaiting review",
            await CorrectiveAction.count()
            .where(body_action_where(body_id, status="submitted"))
            .run(),
            f"{base}/corrective-actions?status=submitted",
            f"{api}/corrective-actions?status=submitted",
        ),
        metric(
            "actions_awaiting_verification",
            "Corrective actions accepted, awaiting verification",
            await CorrectiveAction.count()
            .where(body_action_where(body_id, status="accepted"))
            .run(),
            f"{base}/corrective-actions?status=accepted",
            f"{api}/corrective-actions?status=accepted",
        ),
    ]
    if role in BILLERS:
        items.append(
            metric(
                "overdue_invoices",
                "Overdue invoices",
                await Invoice.count()
                .where(billing.invoice_where(body_id=body_id, overdue=True))
                .run(),
                f"{base}/invoices?overdue=true",
                f"{api}/invoices?overdue=true",
            )
        )
    return items


async def audits_per_month(body_id: uuid.UUID) -> dict[str, Any]:
    """Completed audits per month and kind over the last 12 months (one grouped query)."""
    today = clock.today()
    months = month_starts(today)
    first = months[0]
    sql = (
        f"SELECT {_month('a.completed_on')} AS month, a.kind AS kind, COUNT(*) AS n "
        f"FROM {_table(Audit)} a JOIN {_table(CertificationCycle)} c ON a.cycle = c.id "
        f"JOIN {_table(Engagement)} e ON c.engagement = e.id "
        "WHERE e.body = {} AND a.status = 'completed' AND a.completed_on >= {} "
        "AND a.completed_on <= {} GROUP BY 1, 2"
    )
    counts = {(r["month"], r["kind"]): int(r["n"]) for r in await _raw(sql, body_id, first, today)}
    base = f"/manage/bodies/{body_id}/planning?status=completed"
    rows: list[dict[str, Any]] = []
    for start in months:
        key = start.strftime("%Y-%m")
        end = month_end(start)
        cells: dict[str, dict[str, Any]] = {
            kind: {
                "count": counts.get((key, kind), 0),
                "href": f"{base}&kind={kind}&completed_from={start}&completed_to={end}",
            }
            for kind in AUDIT_KINDS
        }
        rows.append(
            {"month": key, "kinds": cells, "total": sum(c["count"] for c in cells.values())}
        )
    totals: dict[str, dict[str, Any]] = {
        kind: {
            "count": sum(int(r["kinds"][kind]["count"]) for r in rows),
            "href": f"{base}&kind={kind}&completed_from={first}&completed_to={today}",
        }
        for kind in AUDIT_KINDS
    }
    return {"months": rows, "totals": totals, "kinds": list(AUDIT_KINDS)}


async def auditor_utilisation(body_id: uuid.UUID) -> list[dict[str, Any]]:
    """Booked days in the next 90 days against working days, and open audits, per auditor."""
    now = clock.now()
    today = now.date()
    horizon = now + dt.timedelta(days=UTILISATION_DAYS)
    auditors = (
        await Auditor.select(Auditor.id, Auditor.name)
        .where((Auditor.body == body_id) & Auditor.active.eq(True))
        .order_by(Auditor.name)
        .limit(ROW_LIMIT)
        .run()
    )
    sql = (
        "SELECT s.auditor AS auditor, COUNT(DISTINCT s.audit) AS n "
        f"FROM {_table(AuditAssignment)} s JOIN {_table(Audit)} a ON s.audit = a.id "
        f"JOIN {_table(Auditor)} r ON s.auditor = r.id "
        "WHERE r.body = {} AND s.live = {} AND a.status NOT IN ('completed', 'cancelled') "
        "GROUP BY s.auditor"
    )
    open_audits = {db.as_uuid(r["auditor"]): int(r["n"]) for r in await _raw(sql, body_id, True)}
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
    capacity = working_days(today, UTILISATION_DAYS)
    out = []
    for a in auditors:
        days = round(booked.get(a["id"], 0.0), 1)
        out.append(
            {
                "id": a["id"],
                "name": a["name"],
                "booked_days": days,
                "capacity_days": capacity,
                "utilisation_pct": round(100 * days / capacity) if capacity else 0,
                "open_audits": open_audits.get(a["id"], 0),
                "href": f"/manage/bodies/{body_id}/planning?auditor={a['id']}",
            }
        )
    return out


async def stage2_to_decision(body_id: uuid.UUID) -> dict[str, Any]:
    """Mean days from the last day of stage 2 to the certification decision, last 12 months."""
    since = clock.today() - dt.timedelta(days=365)
    d_table = _table(CertificationDecision)
    sql = (
        f"SELECT COUNT(*) AS n, AVG({_days_between('d.decided_on', 'a.completed_on')}) AS mean "
        f"FROM {d_table} d JOIN {_table(Audit)} a ON a.cycle = d.cycle "
        "WHERE d.body = {} AND d.decided_on >= {} AND a.kind = 'stage2' "
        "AND a.status = 'completed'"
    )
    rows = await _raw(sql, body_id, since)
    n = int(rows[0]["n"]) if rows else 0
    mean = rows[0]["mean"] if rows else None
    return {
        "decisions": n,
        "mean_days": round(float(mean), 1) if mean is not None else None,
        "href": f"/manage/bodies/{body_id}/certificates",
    }


async def nonconformities_by_clause(body_id: uuid.UUID) -> list[dict[str, Any]]:
    """The ten clauses with most nonconformities raised in the last 12 months."""
    since = clock.today() - dt.timedelta(days=365)
    sql = (
        "SELECT f.clause AS clause, COUNT(*) AS n "
        f"FROM {_table(CorrectiveAction)} ca JOIN {_table(Finding)} f ON ca.finding = f.id "
        "WHERE ca.body = {} AND ca.issued_on >= {} GROUP BY f.clause "
        "ORDER BY COUNT(*) DESC, f.clause LIMIT 10"
    )
    return [
        {
            "clause": r["clause"],
            "count": int(r["n"]),
            "href": f"/manage/bodies/{body_id}/corrective-actions?clause={r['clause']}"
            f"&issued_from={since}",
        }
        for r in await _raw(sql, body_id, since)
    ]


async def revenue(body_id: uuid.UUID) -> dict[str, Any]:
    """Invoiced (issued invoices, less voided) and collected (confirmed payments) per month."""
    months = month_starts(clock.today())
    first = months[0]
    invoiced_sql = (
        f"SELECT {_month('i.issued_on')} AS month, i.currency AS currency, "
        "SUM(i.total_minor) AS total "
        f"FROM {_table(Invoice)} i WHERE i.body = {{}} AND i.kind = 'invoice' "
        "AND i.status IN ('open', 'paid') AND i.issued_on >= {} GROUP BY 1, 2"
    )
    collected_sql = (
        f"SELECT {_month('p.confirmed_at')} AS month, p.currency AS currency, "
        "SUM(p.amount_minor - p.refunded_minor) AS total "
        f"FROM {_table(Payment)} p JOIN {_table(Invoice)} i ON p.invoice = i.id "
        "WHERE i.body = {} AND p.state IN ('confirmed', 'refunded') AND p.confirmed_at >= {} "
        "GROUP BY 1, 2"
    )
    since = dt.datetime.combine(first, dt.time(), tzinfo=dt.UTC)
    invoiced = {
        (r["month"], r["currency"]): int(r["total"] or 0)
        for r in await _raw(invoiced_sql, body_id, first)
    }
    collected = {
        (r["month"], r["currency"]): int(r["total"] or 0)
        for r in await _raw(collected_sql, body_id, since)
    }
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
    return {
        "currencies": currencies,
        "currency": currencies[0] if len(currencies) == 1 else home,
        "months": [
            {
                "month": m.strftime("%Y-%m"),
                "invoiced": {c: invoiced.get((m.strftime("%Y-%m"), c), 0) for c in currencies},
                "collected": {c: collected.get((m.strftime("%Y-%m"), c), 0) for c in currencies},
            }
            for m in months
        ],
        "href": f"/manage/bodies/{body_id}/invoices",
    }


async def body_dashboard(body_id: uuid.UUID, role: str) -> dict[str, Any]:
    body = (
        await CertificationBody.select(CertificationBody.id, CertificationBody.name)
        .where(CertificationBody.id == body_id)
        .first()
        .run()
    )
    if body is None:
        raise NotFound(NO_BODY)
    clients = await _raw(
        f"SELECT COUNT(DISTINCT e.organisation) AS n FROM {_table(Engagement)} e WHERE e.body = {{}}",
        body_id,
    )
    return {
        "body_id": body_id,
        "body_name": body["name"],
        "role": role,
        "clients": metric(
            "clients",
            "Clients",
            int(clients[0]["n"]),
            f"/manage/bodies/{body_id}/clients",
            f"/api/v1/bodies/{body_id}/clients",
        ),
        "attention": await body_attention(body_id, role),
        "audits_per_month": await audits_per_month(body_id),
        "utilisation": await auditor_utilisation(body_id),
        "stage2_to_decision": await stage2_to_decision(body_id),
        "nonconformities_by_clause": await nonconformities_by_clause(body_id),
        "revenue": await revenue(body_id) if role in BILLERS else None,
    }


# --- a body's clients --------------------------------------------------------------------------


def _clients_sql(
    body_id: uuid.UUID,
    today: dt.date,
    *,
    q: str | None,
    standard: str | None,
    certificate_status: str | None,
    due_before: dt.date | None,
    open_ncs: bool | None,
    overdue_invoices: bool | None,
) -> tuple[str, list[Any]]:
    """One derived table of the body's clients with their per-client figures, then the filters."""
    args: list[Any] = []

    def p(value: Any) -> str:
        args.append(value)
        return "{}"

    cert = _table(Certificate)

    def has_cert(status: str | None, valid: bool) -> str:
        sql = f"EXISTS (SELECT 1 FROM {cert} ct WHERE ct.body = {p(body_id)} AND ct.organisation = o.id"
        if status:
            sql += f" AND ct.status = '{status}'"
        if valid:
            sql += f" AND ct.expires_on >= {p(today)}"
        return sql + ")"

    # Placeholders are numbered in text order, so the pieces are built left to right.
    inner = (
        "SELECT o.id AS id, o.name AS name, o.country AS country, "
        f"(SELECT MIN(a.window_end) FROM {_table(Audit)} a "
        f"JOIN {_table(CertificationCycle)} c ON a.cycle = c.id "
        f"JOIN {_table(Engagement)} e ON c.engagement = e.id "
        f"WHERE e.body = {p(body_id)} AND e.organisation = o.id "
        "AND a.status NOT IN ('completed', 'cancelled')) AS next_due, "
    )
    inner += (
        f"(SELECT COUNT(*) FROM {_table(CorrectiveAction)} ca WHERE ca.body = {p(body_id)} "
        "AND ca.organisation = o.id AND ca.status <> 'closed') AS open_ncs, "
    )
    inner += (
        f"(SELECT COUNT(*) FROM {_table(Invoice)} i WHERE i.body = {p(body_id)} "
        f"AND i.organisation = o.id AND i.status = 'open' AND i.due_on < {p(today)}) "
        "AS overdue_invoices, "
    )
    inner += f"CASE WHEN {has_cert('active', True)} THEN 'active' "
    inner += f"WHEN {has_cert('suspended', True)} THEN 'suspended' "
    inner += f"WHEN {has_cert('withdrawn', False)} THEN 'withdrawn' "
    inner += f"WHEN {has_cert(None, False)} THEN 'expired' ELSE 'none' END AS certificate_status "
    inner += (
        f"FROM {_table(Organisation)} o WHERE o.id IN (SELECT e2.organisation FROM "
        f"{_table(Engagement)} e2 WHERE e2.body = {p(body_id)}"
    )
    if standard:
        inner += f" AND e2.standard = {p(standard)}"
    inner += ")"
    if q:
        escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        inner += f" AND LOWER(o.name) LIKE {p('%' + escaped + '%')} ESCAPE '\\'"
    outer = f"FROM ({inner}) t WHERE 1 = 1"
    if certificate_status:
        if certificate_status not in CERT_STATES:
            raise Invalid.field("certificate_status", f"Choose one of {', '.join(CERT_STATES)}.")
        outer += f" AND t.certificate_status = {p(certificate_status)}"
    if due_before is not None:
        outer += f" AND t.next_due <= {p(due_before)}"
    if open_ncs:
        outer += " AND t.open_ncs > 0"
    if overdue_invoices:
        outer += " AND t.overdue_invoices > 0"
    return outer, args


_ORDER = {
    "name": "t.name, t.id",
    "next_due": "(t.next_due IS NULL), t.next_due, t.name, t.id",
    "open_ncs": "t.open_ncs DESC, t.name, t.id",
    "overdue_invoices": "t.overdue_invoices DESC, t.name, t.id",
}


async def list_clients(
    body_id: uuid.UUID,
    params: PageParams | None,
    *,
    q: str | None = None,
    standard: str | None = None,
    certificate_status: str | None = None,
    due_before: dt.date | None = None,
    open_ncs: bool | None = None,
    overdue_invoices: bool | None = None,
    sort: str | None = None,
    show_invoices: bool = True,
) -> Page[dict[str, Any]]:
    """The body's clients (organisations with an engagement) with filters, sort and paging.

    `params=None` is the CSV export: every match up to EXPORT_LIMIT rows.
    """
    sort = sort or "name"
    if sort not in CLIENT_SORTS:
        raise Invalid.field("sort", f"Choose one of {', '.join(CLIENT_SORTS)}.")
    if not show_invoices and (overdue_invoices or sort == "overdue_invoices"):
        raise Invalid.field("overdue_invoices", "Invoices are for the owner and finance roles.")
    if params is not None and params.offset > 10**9:
        raise Invalid.field("page", "That page is out of range.")
    today = clock.today()
    outer, args = _clients_sql(
        body_id,
        today,
        q=(q or "").strip()[:200] or None,
        standard=standard or None,
        certificate_status=certificate_status or None,
        due_before=due_before,
        open_ncs=open_ncs,
        overdue_invoices=overdue_invoices,
    )
    total_rows = await _raw(f"SELECT COUNT(*) AS n {outer}", *args)
    limit, offset = (params.per_page, params.offset) if params else (EXPORT_LIMIT, 0)
    rows = await _raw(
        f"SELECT t.* {outer} ORDER BY {_ORDER[sort]} LIMIT {{}} OFFSET {{}}", *args, limit, offset
    )
    for r in rows:
        r["id"] = db.as_uuid(r["id"])
        r["next_due"] = _as_date(r["next_due"])
        r["open_ncs"] = int(r["open_ncs"])
        r["overdue_invoices"] = int(r["overdue_invoices"]) if show_invoices else None
    standards: dict[uuid.UUID, list[str]] = {}
    if rows:
        for e in (
            await Engagement.select(Engagement.organisation, Engagement.standard)
            .where(
                (Engagement.body == body_id)
                & Engagement.organisation.is_in([r["id"] for r in rows])
            )
            .distinct()
            .run()
        ):
            standards.setdefault(e["organisation"], []).append(e["standard"])
    for r in rows:
        r["standards"] = sorted(standards.get(r["id"], []))
    page = params or PageParams(1, max(1, len(rows)))
    return Page(items=rows, total=int(total_rows[0]["n"]), page=page.page, per_page=page.per_page)


async def body_standards(body_id: uuid.UUID) -> list[str]:
    rows = (
        await Engagement.select(Engagement.standard)
        .where(Engagement.body == body_id)
        .distinct()
        .run()
    )
    return sorted(r["standard"] for r in rows)


async def require_client(body_id: uuid.UUID, organisation_id: uuid.UUID) -> dict[str, Any]:
    """The organisation, when it is this body's client (an engagement links them); else 404."""
    linked = (
        await Engagement.exists()
        .where((Engagement.body == body_id) & (Engagement.organisation == organisation_id))
        .run()
    )
    org = await Organisation.select().where(Organisation.id == organisation_id).first().run()
    if not linked or org is None:
        raise NotFound(NO_CLIENT)
    return dict(org)


async def client_notes(body_id: uuid.UUID, organisation_id: uuid.UUID) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (
        await ClientNote.select(
            ClientNote.id,
            ClientNote.text,
            ClientNote.created_at,
            ClientNote.author.as_alias("author_id"),
            ClientNote.author._.name.as_alias("author_name"),
        )
        .where((ClientNote.body == body_id) & (ClientNote.organisation == organisation_id))
        .order_by(ClientNote.created_at, ascending=False)
        .limit(ROW_LIMIT)
        .run()
    )
    return rows


async def add_client_note(
    actor_id: uuid.UUID, body_id: uuid.UUID, organisation_id: uuid.UUID, text: str
) -> dict[str, Any]:
    """An internal note of the body about its client; it is logged like any other change."""
    text = text.strip()
    if not text:
        raise Invalid.field("text", "Write the note first.")
    await require_client(body_id, organisation_id)
    async with db.write_transaction():
        note = ClientNote(body=body_id, organisation=organisation_id, author=actor_id, text=text)
        await note.save().run()
        await log_action(
            "marketplace.client_note.added",
            actor_id=actor_id,
            entity_type="client_note",
            entity_id=note.id,
            tenant=Tenant("body", body_id),
            data={"organisation_id": str(organisation_id)},
        )
    rows = await client_notes(body_id, organisation_id)
    return next(r for r in rows if r["id"] == note.id)


async def client_detail(
    body_id: uuid.UUID, organisation_id: uuid.UUID, show_invoices: bool
) -> dict[str, Any]:
    """The whole relationship of the body with one client, in a bounded number of queries."""
    org = await require_client(body_id, organisation_id)
    sites = (
        await Site.select().where(Site.organisation == organisation_id).order_by(Site.name).run()
    )
    contacts = (
        await Membership.select(
            Membership.role,
            Membership.user._.name.as_alias("name"),
            Membership.user._.email.as_alias("email"),
        )
        .where(Membership.organisation == organisation_id)
        .order_by(Membership.user._.name)
        .limit(ROW_LIMIT)
        .run()
    )
    engagements = (
        await Engagement.select(
            Engagement.id, Engagement.standard, Engagement.status, Engagement.started_on
        )
        .where((Engagement.body == body_id) & (Engagement.organisation == organisation_id))
        .order_by(Engagement.started_on)
        .run()
    )
    engagement_ids = [e["id"] for e in engagements]
    cycles = (
        await CertificationCycle.select(
            CertificationCycle.id,
            CertificationCycle.engagement,
            CertificationCycle.number,
            CertificationCycle.decision_date,
            CertificationCycle.expiry_date,
            CertificationCycle.status,
        )
        .where(CertificationCycle.engagement.is_in(engagement_ids))
        .order_by(CertificationCycle.number)
        .run()
    )
    audits = (
        await Audit.select(
            Audit.id,
            Audit.cycle,
            Audit.kind,
            Audit.status,
            Audit.window_start,
            Audit.window_end,
            Audit.starts_at,
            Audit.ends_at,
            Audit.time_zone,
            Audit.completed_on,
        )
        .where(Audit.cycle.is_in([c["id"] for c in cycles] or [uuid.UUID(int=0)]))
        .order_by(Audit.window_end)
        .limit(ROW_LIMIT)
        .run()
    )
    by_cycle: dict[Any, list[dict[str, Any]]] = {}
    for a in audits:
        by_cycle.setdefault(a["cycle"], []).append(a)
    by_engagement: dict[Any, list[dict[str, Any]]] = {}
    for c in cycles:
        c["audits"] = by_cycle.get(c["id"], [])
        by_engagement.setdefault(c["engagement"], []).append(c)
    for e in engagements:
        e["cycles"] = by_engagement.get(e["id"], [])
    today = clock.today()
    reports = (
        await AuditReport.select(
            AuditReport.id,
            AuditReport.audit,
            AuditReport.audit._.kind.as_alias("audit_kind"),
            AuditReport.revision,
            AuditReport.status,
            AuditReport.issued_on,
        )
        .where((AuditReport.body == body_id) & (AuditReport.organisation == organisation_id))
        .order_by(AuditReport.created_at, ascending=False)
        .limit(ROW_LIMIT)
        .run()
    )
    grade_counts: dict[Any, dict[str, int]] = {}
    if reports:
        for g in (
            await Finding.select(Finding.report, Finding.grade, Count())
            .where(Finding.report.is_in([r["id"] for r in reports]))
            .group_by(Finding.report, Finding.grade)
            .run()
        ):
            grade_counts.setdefault(g["report"], {})[g["grade"]] = int(g["count"])
    for r in reports:
        r["grades"] = grade_counts.get(r["id"], {})
    ca_status = {
        s["status"]: int(s["count"])
        for s in await CorrectiveAction.select(CorrectiveAction.status, Count())
        .where(
            (CorrectiveAction.body == body_id) & (CorrectiveAction.organisation == organisation_id)
        )
        .group_by(CorrectiveAction.status)
        .run()
    }
    base = f"/manage/bodies/{body_id}"
    actions = [
        metric(
            f"actions_{s}",
            s,
            ca_status.get(s, 0),
            f"{base}/corrective-actions?organisation={organisation_id}&status={s}",
        )
        for s in findings.STATUSES
    ]
    certs = (
        await Certificate.select(
            Certificate.id,
            Certificate.number,
            Certificate.standard,
            Certificate.status,
            Certificate.issued_on,
            Certificate.expires_on,
        )
        .where((Certificate.body == body_id) & (Certificate.organisation == organisation_id))
        .order_by(Certificate.issued_on, ascending=False)
        .run()
    )
    events: dict[Any, list[dict[str, Any]]] = {}
    if certs:
        for ev in (
            await CertificateEvent.select(
                CertificateEvent.certificate,
                CertificateEvent.action,
                CertificateEvent.status,
                CertificateEvent.reason,
                CertificateEvent.created_at,
            )
            .where(CertificateEvent.certificate.is_in([c["id"] for c in certs]))
            .order_by(CertificateEvent.created_at)
            .limit(ROW_LIMIT)
            .run()
        ):
            events.setdefault(ev["certificate"], []).append(ev)
    for c in certs:
        c["effective_status"] = certificates.effective_status(c, today)
        c["history"] = events.get(c["id"], [])
    invoices: list[dict[str, Any]] | None = None
    if show_invoices:
        invoices, _ = await billing.list_invoices(
            body_id=body_id, organisation_id=organisation_id, limit=ROW_LIMIT
        )
        payments: dict[Any, list[dict[str, Any]]] = {}
        if invoices:
            for pay in (
                await Payment.select(
                    Payment.invoice,
                    Payment.amount_minor,
                    Payment.currency,
                    Payment.state,
                    Payment.confirmed_at,
                )
                .where(Payment.invoice.is_in([i["id"] for i in invoices]))
                .order_by(Payment.created_at)
                .run()
            ):
                payments.setdefault(pay["invoice"], []).append(pay)
        for i in invoices:
            i["payments"] = payments.get(i["id"], [])
    notes = await client_notes(body_id, organisation_id)
    entity_ids = [
        str(x)
        for x in (
            engagement_ids
            + [c["id"] for c in cycles]
            + [a["id"] for a in audits]
            + [r["id"] for r in reports]
            + [c["id"] for c in certs]
            + [i["id"] for i in invoices or []]
            + [n["id"] for n in notes]
        )
    ]
    ca_ids = [
        str(r["id"])
        for r in await CorrectiveAction.select(CorrectiveAction.id)
        .where(
            (CorrectiveAction.body == body_id) & (CorrectiveAction.organisation == organisation_id)
        )
        .limit(ROW_LIMIT)
        .run()
    ]
    activity = (
        await ActivityLog.select(
            ActivityLog.action,
            ActivityLog.entity_type,
            ActivityLog.entity_id,
            ActivityLog.created_at,
            ActivityLog.actor_id,
        )
        .where(
            (ActivityLog.tenant_kind == "body")
            & (ActivityLog.tenant_id == body_id)
            & ActivityLog.entity_id.is_in(entity_ids + ca_ids or ["-"])
        )
        .order_by(ActivityLog.created_at, ascending=False)
        .limit(50)
        .run()
    )
    if not show_invoices:
        activity = [a for a in activity if a["entity_type"] != "invoice"]
    return {
        "organisation": {
            "id": org["id"],
            "name": org["name"],
            "country": org["country"],
            "iaf_sector": org["iaf_sector"],
            "effective_personnel": org["effective_personnel"],
        },
        "sites": sites,
        "contacts": contacts,
        "engagements": engagements,
        "audits": audits,
        "reports": reports,
        "corrective_actions": actions,
        "certificates": certs,
        "invoices": invoices,
        "notes": notes,
        "activity": activity,
    }


# --- the client's home -------------------------------------------------------------------------


async def organisation_dashboard(organisation_id: uuid.UUID) -> dict[str, Any]:
    org = (
        await Organisation.select(Organisation.id, Organisation.name)
        .where(Organisation.id == organisation_id)
        .first()
        .run()
    )
    if org is None:
        raise NotFound("No such organisation.")
    today = clock.today()
    tracker = f"/organisations/{organisation_id}/corrective-actions"
    tracker_api = f"/api/v1/organisations/{organisation_id}/corrective-actions"
    next_audits = (
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
    by_owner = [
        {
            "owner_id": r["owner"],
            "owner_name": r["owner_name"],
            **metric(
                "actions_open_owner",
                f"Open, owned by {r['owner_name']}",
                int(r["count"]),
                f"{tracker}?status=open&owner={r['owner']}",
                f"{tracker_api}?status=open&owner_id={r['owner']}",
            ),
        }
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
    _, open_total = await findings.list_corrective_actions(
        organisation_id=organisation_id, status="open", limit=0
    )
    _, overdue_total = await findings.list_corrective_actions(
        organisation_id=organisation_id, overdue_only=True, limit=0
    )
    _, closed_total = await findings.list_corrective_actions(
        organisation_id=organisation_id, status="closed", limit=0
    )
    inv = f"/organisations/{organisation_id}/invoices"
    inv_api = f"/api/v1/organisations/{organisation_id}/invoices"
    open_invoices = (
        await Invoice.count()
        .where(billing.invoice_where(organisation_id=organisation_id, status="open"))
        .run()
    )
    overdue_invoices = (
        await Invoice.count()
        .where(billing.invoice_where(organisation_id=organisation_id, overdue=True))
        .run()
    )
    due_sql = (
        "SELECT i.currency AS currency, SUM(i.total_minor - i.amount_paid_minor) AS due "
        f"FROM {_table(Invoice)} i WHERE i.organisation = {{}} AND i.kind = 'invoice' "
        "AND i.status = 'open' GROUP BY i.currency ORDER BY i.currency"
    )
    amounts = [
        {"currency": r["currency"], "amount_due_minor": int(r["due"] or 0)}
        for r in await _raw(due_sql, organisation_id)
    ]
    certs = await certificates.certificates_for(organisation_id=organisation_id)
    certificate_rows = [
        {
            "number": c["number"],
            "standard": c["standard"],
            "body_name": c["body_name"],
            "status": c["effective_status"],
            "expires_on": c["expires_on"],
            "days_to_expiry": (c["expires_on"] - today).days,
        }
        for c in certs[:ROW_LIMIT]
    ]
    return {
        "organisation_id": organisation_id,
        "organisation_name": org["name"],
        "next_audits": next_audits,
        "programme_href": f"/organisations/{organisation_id}/audit-programme",
        "actions": [
            metric(
                "actions_open",
                "Corrective actions open",
                open_total,
                f"{tracker}?status=open",
                f"{tracker_api}?status=open",
            ),
            metric(
                "actions_overdue",
                "Corrective actions overdue",
                overdue_total,
                f"{tracker}?overdue=1",
                f"{tracker_api}?overdue=true",
            ),
        ],
        "actions_by_owner": by_owner,
        "certificates": certificate_rows,
        "invoices": [
            metric(
                "invoices_open",
                "Invoices to pay",
                open_invoices,
                f"{inv}?status=open",
                f"{inv_api}?status=open",
            ),
            metric(
                "invoices_overdue",
                "Invoices overdue",
                overdue_invoices,
                f"{inv}?overdue=true",
                f"{inv_api}?overdue=true",
            ),
        ],
        "amounts_due": amounts,
        "improvement": await improvement(organisation_id, closed_total),
        "readiness": await readiness_summary(organisation_id),
    }


async def readiness_summary(organisation_id: uuid.UUID) -> dict[str, Any]:
    """Each self-assessment's score and gap count, and whether stage 1 could be booked."""
    assessments = await readiness_services.list_assessments(organisation_id)
    return {
        "assessments": [
            {
                "id": a["id"],
                "standard": a["standard"],
                "percent": a["overall"]["percent"],
                "level": a["level"],
                "gap_count": a["gap_count"],
            }
            for a in assessments
        ],
        "stage1": await readiness_services.stage1_panel(organisation_id),
    }


async def improvement(organisation_id: uuid.UUID, closed_total: int) -> dict[str, Any]:
    """Nonconformities per issued report over time, mean days to close, repeated clauses."""
    per_report_sql = (
        "SELECT r.id AS id, r.issued_on AS issued_on, a.kind AS kind, COUNT(f.id) AS n "
        f"FROM {_table(AuditReport)} r JOIN {_table(Audit)} a ON r.audit = a.id "
        f"LEFT JOIN {_table(Finding)} f ON f.report = r.id AND f.grade IN ('major', 'minor') "
        "WHERE r.organisation = {} AND r.status = 'issued' "
        "GROUP BY r.id, r.issued_on, a.kind ORDER BY r.issued_on DESC LIMIT 12"
    )
    per_report = [
        {
            "report_id": db.as_uuid(r["id"]),
            "issued_on": _as_date(r["issued_on"]),
            "kind": r["kind"],
            "count": int(r["n"]),
            "href": f"/reports/{r['id']}",
        }
        for r in await _raw(per_report_sql, organisation_id)
    ]
    per_report.reverse()
    mean_sql = (
        f"SELECT AVG({_days_between('ca.closed_at', 'ca.issued_on')}) AS mean "
        f"FROM {_table(CorrectiveAction)} ca WHERE ca.organisation = {{}} "
        "AND ca.status = 'closed' AND ca.closed_at IS NOT NULL"
    )
    mean = (await _raw(mean_sql, organisation_id))[0]["mean"]
    repeat_sql = (
        "SELECT f.clause AS clause, COUNT(*) AS n, COUNT(DISTINCT ca.audit) AS audits "
        f"FROM {_table(CorrectiveAction)} ca JOIN {_table(Finding)} f ON ca.finding = f.id "
        "WHERE ca.organisation = {} GROUP BY f.clause HAVING COUNT(DISTINCT ca.audit) > 1 "
        "ORDER BY COUNT(*) DESC, f.clause LIMIT 10"
    )
    tracker = f"/organisations/{organisation_id}/corrective-actions"
    repeats = [
        {
            "clause": r["clause"],
            "count": int(r["n"]),
            "audits": int(r["audits"]),
            "href": f"{tracker}?clause={r['clause']}",
            "api": f"/api/v1/organisations/{organisation_id}/corrective-actions?clause={r['clause']}",
        }
        for r in await _raw(repeat_sql, organisation_id)
    ]
    return {
        "per_report": per_report,
        "mean_days_to_close": round(float(mean), 1) if mean is not None else None,
        "closed": metric("actions_closed", "Closed", closed_total, f"{tracker}?status=closed"),
        "repeat_clauses": repeats,
    }


# --- the auditor's home ------------------------------------------------------------------------


async def auditor_dashboard(user_id: uuid.UUID) -> dict[str, Any]:
    """For each body the user audits for: open audits, reports to write, actions to verify."""
    auditors = (
        await Auditor.select(Auditor.id, Auditor.body, Auditor.body._.name.as_alias("body_name"))
        .where((Auditor.user == user_id) & Auditor.active.eq(True))
        .limit(20)
        .run()
    )
    out = []
    for a in auditors:
        audit_ids = await auditor_audit_ids(a["id"])
        body_id = a["body"]
        base = f"/manage/bodies/{body_id}"
        ahead = (
            await Audit.select(
                Audit.id,
                Audit.kind,
                Audit.status,
                Audit.starts_at,
                Audit.window_end,
                Audit.time_zone,
                Audit.cycle._.engagement._.organisation._.name.as_alias("organisation_name"),
            )
            .where(
                scheduling.board_where(body_id, "open")
                & Audit.id.is_in(audit_ids or [uuid.UUID(int=0)])
            )
            .order_by(Audit.window_end)
            .limit(ROW_LIMIT)
            .run()
        )
        ahead_count = (
            await Audit.count()
            .where(
                scheduling.board_where(body_id, "open")
                & Audit.id.is_in(audit_ids or [uuid.UUID(int=0)])
            )
            .run()
        )
        lead_ids = [
            r["audit"]
            for r in await AuditAssignment.select(AuditAssignment.audit)
            .where(
                (AuditAssignment.auditor == a["id"])
                & AuditAssignment.live.eq(True)
                & (AuditAssignment.role == "lead")
            )
            .run()
        ]
        issued = [
            r["audit"]
            for r in await AuditReport.select(AuditReport.audit)
            .where(
                AuditReport.audit.is_in(lead_ids or [uuid.UUID(int=0)])
                & AuditReport.status.is_in(["issued", "amended"])
            )
            .run()
        ]
        to_write = (
            await Audit.select(
                Audit.id,
                Audit.kind,
                Audit.completed_on,
                Audit.cycle._.engagement._.organisation._.name.as_alias("organisation_name"),
            )
            .where(
                Audit.id.is_in(lead_ids or [uuid.UUID(int=0)])
                & (Audit.status == "completed")
                & Audit.id.not_in(issued or [uuid.UUID(int=0)])
            )
            .order_by(Audit.completed_on)
            .limit(ROW_LIMIT)
            .run()
        )
        verify_count = (
            await CorrectiveAction.count()
            .where(body_action_where(body_id, status="accepted", auditor_ids=audit_ids))
            .run()
        )
        review_count = (
            await CorrectiveAction.count()
            .where(body_action_where(body_id, status="submitted", auditor_ids=audit_ids))
            .run()
        )
        out.append(
            {
                "auditor_id": a["id"],
                "body_id": body_id,
                "body_name": a["body_name"],
                "assignments_ahead": metric(
                    "assignments_ahead",
                    "Open audits on your team",
                    ahead_count,
                    f"{base}/planning?auditor={a['id']}",
                    f"/api/v1/bodies/{body_id}/audits?status=open&auditor_id={a['id']}",
                ),
                "audits": ahead,
                "reports_to_write": metric(
                    "reports_to_write",
                    "Reports to write (audits you led, held, no issued report)",
                    len(to_write),
                    f"/me/auditor#reports-{a['id']}",
                ),
                "reports": to_write,
                "actions_to_verify": metric(
                    "actions_to_verify",
                    "Corrective actions to verify",
                    verify_count,
                    f"{base}/corrective-actions?status=accepted&auditor={a['id']}",
                ),
                "actions_to_review": metric(
                    "actions_to_review",
                    "Corrective actions to review",
                    review_count,
                    f"{base}/corrective-actions?status=submitted&auditor={a['id']}",
                ),
            }
        )
    return {"auditors": out}


# --- the platform administrator's home ---------------------------------------------------------


async def admin_dashboard() -> dict[str, Any]:
    review_since = review_window()
    signup_since = signup_window()
    started = time.perf_counter()
    await _raw("SELECT 1 AS ok")
    db_ms = round((time.perf_counter() - started) * 1000, 1)
    return {
        "queues": [
            metric(
                "accreditations_pending",
                "Accreditations to verify",
                await Accreditation.count().where(Accreditation.status == "pending").run(),
                "/admin/accreditations",
                "/api/v1/admin/accreditations?status=pending",
            ),
            metric(
                "reviews_to_moderate",
                f"Reviews published in the last {NEW_REVIEW_DAYS} days",
                await Review.count().where(review_where(review_since)).run(),
                f"/admin/reviews?since={review_since}",
                f"/api/v1/admin/reviews?since={review_since}",
            ),
            metric(
                "signups",
                f"Sign-ups in the last {SIGNUP_DAYS} days",
                await User.count().where(signup_where(signup_since)).run(),
                f"/admin/users?since={signup_since}",
                f"/api/v1/admin/users?since={signup_since}",
            ),
        ],
        "health": {
            "database": "postgresql" if db.is_postgres() else "sqlite",
            "database_ms": db_ms,
            "users": await User.count().run(),
            "organisations": await Organisation.count().run(),
            "bodies": await CertificationBody.count().run(),
            "last_activity_at": (
                await ActivityLog.select(ActivityLog.created_at)
                .order_by(ActivityLog.created_at, ascending=False)
                .first()
                .run()
                or {}
            ).get("created_at"),
        },
    }


def review_where(since: dt.date) -> Any:
    start = dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC)
    return (Review.status == "published") & (Review.created_at >= start)


def signup_where(since: dt.date) -> Any:
    return User.created_at >= dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC)


def review_window(since: dt.date | None = None) -> dt.date:
    """The first day of the review queue: `since`, or the admin home's window."""
    return since or clock.today() - dt.timedelta(days=NEW_REVIEW_DAYS)


def signup_window(since: dt.date | None = None) -> dt.date:
    """The first day of the sign-up queue: `since`, or the admin home's window."""
    return since or clock.today() - dt.timedelta(days=SIGNUP_DAYS)


async def recent_reviews(since: dt.date, params: PageParams) -> Page[dict[str, Any]]:
    where = review_where(since)
    rows: list[dict[str, Any]] = (
        await Review.select(
            Review.id,
            Review.rating,
            Review.text,
            Review.created_at,
            Review.body._.name.as_alias("body_name"),
            Review.body._.slug.as_alias("body_slug"),
            Review.organisation._.name.as_alias("organisation_name"),
        )
        .where(where)
        .order_by(Review.created_at, ascending=False)
        .limit(params.per_page)
        .offset(params.offset)
        .run()
    )
    total = await Review.count().where(where).run()
    return Page(items=rows, total=total, page=params.page, per_page=params.per_page)


async def recent_users(since: dt.date, params: PageParams) -> Page[dict[str, Any]]:
    where = signup_where(since)
    rows: list[dict[str, Any]] = (
        await User.select(User.id, User.name, User.email, User.created_at, User.is_active)
        .where(where)
        .order_by(User.created_at, ascending=False)
        .limit(params.per_page)
        .offset(params.offset)
        .run()
    )
    total = await User.count().where(where).run()
    return Page(items=rows, total=total, page=params.page, per_page=params.per_page)


# --- where each user's home is -----------------------------------------------------------------


def homes(principal: Any) -> list[dict[str, str]]:
    """Every dashboard the caller may open, the first being where "/dashboard" leads."""
    out: list[dict[str, str]] = []
    for m in principal.memberships:
        if m.kind == "body" and m.role in HOME_ROLES:
            out.append(
                {"href": f"/manage/bodies/{m.tenant_id}/home", "label": f"{m.tenant_name} (body)"}
            )
        elif m.kind == "organisation":
            out.append(
                {"href": f"/organisations/{m.tenant_id}/home", "label": f"{m.tenant_name} (client)"}
            )
    if any(m.kind == "body" and m.role == "auditor" for m in principal.memberships):
        out.append({"href": "/me/auditor", "label": "My audits (auditor)"})
    if principal.is_platform_admin:
        out.insert(0, {"href": "/admin/home", "label": "Platform administration"})
    unique: list[dict[str, str]] = []
    for h in out:
        if all(u["href"] != h["href"] for u in unique):
            unique.append(h)
    return unique
