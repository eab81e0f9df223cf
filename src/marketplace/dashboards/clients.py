"""A body's clients: the filtered, sorted client list (and its export) and the body's notes on them."""

from __future__ import annotations

# ruff: noqa: S608  -- SQL here is assembled from fixed fragments; every value is a bound {} argument.
import datetime as dt
import uuid
from typing import Any

from marketplace.accounts.guards import Principal
from marketplace.accounts.tables import Organisation
from marketplace.billing.tables import Invoice
from marketplace.certificates.tables import Certificate
from marketplace.core import clock, db
from marketplace.core.activity import Tenant, log_action
from marketplace.core.errors import Invalid, NotFound
from marketplace.core.pagination import Page, PageParams
from marketplace.dashboards import access
from marketplace.dashboards.schemas import ClientFilters, ClientRow, Note
from marketplace.dashboards.sql import ROW_LIMIT, as_date, raw, table
from marketplace.dashboards.tables import ClientNote
from marketplace.findings.tables import CorrectiveAction
from marketplace.scheduling.tables import Audit, CertificationCycle, Engagement

EXPORT_LIMIT = 10_000
CLIENT_SORTS = ("name", "next_due", "open_ncs", "overdue_invoices")
CERT_STATES = ("active", "suspended", "withdrawn", "expired", "none")


def _clients_sql(
    body_id: uuid.UUID, today: dt.date, filters: ClientFilters
) -> tuple[str, list[Any]]:
    """One derived table of the body's clients with their per-client figures, then the filters."""
    args: list[Any] = []

    def p(value: Any) -> str:
        args.append(value)
        return "{}"

    cert = table(Certificate)

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
        f"(SELECT MIN(a.window_end) FROM {table(Audit)} a "
        f"JOIN {table(CertificationCycle)} c ON a.cycle = c.id "
        f"JOIN {table(Engagement)} e ON c.engagement = e.id "
        f"WHERE e.body = {p(body_id)} AND e.organisation = o.id "
        "AND a.status NOT IN ('completed', 'cancelled')) AS next_due, "
    )
    inner += (
        f"(SELECT COUNT(*) FROM {table(CorrectiveAction)} ca WHERE ca.body = {p(body_id)} "
        "AND ca.organisation = o.id AND ca.status <> 'closed') AS open_ncs, "
    )
    inner += (
        f"(SELECT COUNT(*) FROM {table(Invoice)} i WHERE i.body = {p(body_id)} "
        f"AND i.organisation = o.id AND i.status = 'open' AND i.due_on < {p(today)}) "
        "AS overdue_invoices, "
    )
    inner += f"CASE WHEN {has_cert('active', True)} THEN 'active' "
    inner += f"WHEN {has_cert('suspended', True)} THEN 'suspended' "
    inner += f"WHEN {has_cert('withdrawn', False)} THEN 'withdrawn' "
    inner += f"WHEN {has_cert(None, False)} THEN 'expired' ELSE 'none' END AS certificate_status "
    inner += (
        f"FROM {table(Organisation)} o WHERE o.id IN (SELECT e2.organisation FROM "
        f"{table(Engagement)} e2 WHERE e2.body = {p(body_id)}"
    )
    if filters.standard:
        inner += f" AND e2.standard = {p(filters.standard)}"
    inner += ")"
    q = (filters.q or "").strip()[:200]
    if q:
        escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        inner += f" AND LOWER(o.name) LIKE {p('%' + escaped + '%')} ESCAPE '\\'"
    outer = f"FROM ({inner}) t WHERE 1 = 1"
    if filters.certificate_status:
        outer += f" AND t.certificate_status = {p(filters.certificate_status)}"
    if filters.due_before is not None:
        outer += f" AND t.next_due <= {p(filters.due_before)}"
    if filters.open_ncs:
        outer += " AND t.open_ncs > 0"
    if filters.overdue_invoices:
        outer += " AND t.overdue_invoices > 0"
    return outer, args


_ORDER = {
    "name": "t.name, t.id",
    "next_due": "(t.next_due IS NULL), t.next_due, t.name, t.id",
    "open_ncs": "t.open_ncs DESC, t.name, t.id",
    "overdue_invoices": "t.overdue_invoices DESC, t.name, t.id",
}


def _check_filters(filters: ClientFilters, show_invoices: bool) -> str:
    """The sort to use; 422 for an unknown sort or state, or invoice filters for other roles."""
    sort = filters.sort or "name"
    if sort not in CLIENT_SORTS:
        raise Invalid.field("sort", f"Choose one of {', '.join(CLIENT_SORTS)}.")
    if not show_invoices and (filters.overdue_invoices or sort == "overdue_invoices"):
        raise Invalid.field("overdue_invoices", "Invoices are for the owner and finance roles.")
    if filters.certificate_status and filters.certificate_status not in CERT_STATES:
        raise Invalid.field("certificate_status", f"Choose one of {', '.join(CERT_STATES)}.")
    return sort


async def list_clients(
    principal: Principal,
    body_id: uuid.UUID,
    params: PageParams | None,
    filters: ClientFilters,
) -> Page[ClientRow]:
    """The body's clients (organisations with an engagement) with filters, sort and paging.

    `params=None` is the CSV export: every match up to EXPORT_LIMIT rows. Overdue invoice
    figures are shown (and filterable) for the billing roles only.
    """
    show_invoices = access.sees_invoices(access.home_role(principal, body_id))
    sort = _check_filters(filters, show_invoices)
    if params is not None and params.offset > 10**9:
        raise Invalid.field("page", "That page is out of range.")
    outer, args = _clients_sql(body_id, clock.today(), filters)
    total_rows = await raw(f"SELECT COUNT(*) AS n {outer}", *args)
    limit, offset = (params.per_page, params.offset) if params else (EXPORT_LIMIT, 0)
    rows = await raw(
        f"SELECT t.* {outer} ORDER BY {_ORDER[sort]} LIMIT {{}} OFFSET {{}}", *args, limit, offset
    )
    ids = [db.as_uuid(r["id"]) for r in rows]
    standards = await _standards_of(body_id, ids)
    items = [
        ClientRow(
            id=org_id,
            name=r["name"],
            country=r["country"],
            next_due=as_date(r["next_due"]),
            open_ncs=int(r["open_ncs"]),
            overdue_invoices=int(r["overdue_invoices"]) if show_invoices else None,
            certificate_status=r["certificate_status"],
            standards=sorted(standards.get(org_id, [])),
        )
        for org_id, r in zip(ids, rows, strict=True)
    ]
    page = params or PageParams(1, max(1, len(rows)))
    return Page(items=items, total=int(total_rows[0]["n"]), page=page.page, per_page=page.per_page)


async def _standards_of(
    body_id: uuid.UUID, organisation_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[str]]:
    """The standards each of these clients is engaged with the body for."""
    standards: dict[uuid.UUID, list[str]] = {}
    if organisation_ids:
        for e in (
            await Engagement.select(Engagement.organisation, Engagement.standard)
            .where((Engagement.body == body_id) & Engagement.organisation.is_in(organisation_ids))
            .distinct()
            .run()
        ):
            standards.setdefault(e["organisation"], []).append(e["standard"])
    return standards


async def body_standards(body_id: uuid.UUID) -> list[str]:
    """Every standard the body has an engagement for (the client list's standard filter)."""
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
        raise NotFound(access.NO_CLIENT)
    return dict(org)


async def notes_of(body_id: uuid.UUID, organisation_id: uuid.UUID) -> list[Note]:
    """The body's notes on the client, newest first (no access check: callers make it)."""
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
    return [Note(**r) for r in rows]


async def client_notes(
    principal: Principal, body_id: uuid.UUID, organisation_id: uuid.UUID
) -> list[Note]:
    """The body's internal notes on its client, newest first (the home roles read them)."""
    access.home_role(principal, body_id)
    await require_client(body_id, organisation_id)
    return await notes_of(body_id, organisation_id)


async def add_client_note(
    principal: Principal, body_id: uuid.UUID, organisation_id: uuid.UUID, text: str
) -> Note:
    """An internal note of the body about its client; it is logged like any other change."""
    access.require_note_writer(principal, body_id)
    text = text.strip()
    if not text:
        raise Invalid.field("text", "Write the note first.")
    await require_client(body_id, organisation_id)
    async with db.write_transaction():
        note = ClientNote(
            body=body_id, organisation=organisation_id, author=principal.user_id, text=text
        )
        await note.save().run()
        await log_action(
            "marketplace.client_note.added",
            actor_id=principal.user_id,
            entity_type="client_note",
            entity_id=note.id,
            tenant=Tenant("body", body_id),
            data={"organisation_id": str(organisation_id)},
        )
    return next(n for n in await notes_of(body_id, organisation_id) if n.id == note.id)
