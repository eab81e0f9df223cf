"""HTML pages of the dashboards: the home page, every user's home, a body's clients and work lists."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from litestar.response import Redirect, Template

from marketplace.accounts.guards import (
    Principal,
    current_principal,
    me,
    requires_login,
    requires_platform_admin,
)
from marketplace.core import clock
from marketplace.core.errors import DomainError
from marketplace.core.pagination import Page, PageParams
from marketplace.dashboards import access, admin_home, auditor_home, body_actions, body_home
from marketplace.dashboards import client_detail as detail_service
from marketplace.dashboards import clients as client_list
from marketplace.dashboards.charts import body_home_charts, client_home_chart, engagement_timelines
from marketplace.dashboards.client_home import organisation_dashboard
from marketplace.dashboards.homes import homes
from marketplace.dashboards.schemas import ClientFilters, ClientRow, NoteIn
from marketplace.findings.tracker import STATUSES as ACTION_STATUSES
from marketplace.reference import services as reference
from marketplace.web.forms import convert, errors_by_field, form_data

PER_PAGE = 50
CSV_HEADER = [
    "id",
    "name",
    "country",
    "standards",
    "certificate_status",
    "next_audit_due",
    "open_nonconformities",
]


def _pages(total: int) -> int:
    return max(1, (total + PER_PAGE - 1) // PER_PAGE)


def _list_context(body_id: uuid.UUID, result: Page[Any], query: dict[str, Any]) -> dict[str, Any]:
    """What every list page of a body shows: the page of rows, its pager and its filters."""
    return {
        "body_id": body_id,
        "result": result,
        "pages": _pages(result.total),
        "query": query,
        "querystring": urlencode(query),
    }


def _csv_cell(value: Any) -> str:
    """Neutralise spreadsheet formulas (OWASP CSV injection) and print None as empty."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _clients_csv(result: Page[ClientRow], billers: bool) -> str:
    """The client list as CSV, the overdue invoice column for the billing roles only."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER + (["overdue_invoices"] if billers else []))
    for r in result.items:
        row: list[Any] = [
            r.id,
            r.name,
            r.country,
            " ".join(r.standards),
            r.certificate_status,
            r.next_due,
            r.open_ncs,
        ] + ([r.overdue_invoices] if billers else [])
        writer.writerow([_csv_cell(v) for v in row])
    return out.getvalue()


class HomePages(Controller):
    include_in_schema = False

    @get("/")
    async def home(self, request: Request[Any, Any, Any]) -> Template:
        return Template(
            "home.html",
            context={
                "principal": current_principal(request),
                "standards": await reference.list_standards(),
                "sectors": await reference.list_iaf_sectors(),
            },
        )


class HomeRedirectPages(Controller):
    include_in_schema = False
    guards = [requires_login]

    @get("/dashboard")
    async def dashboard(self, request: Request[Any, Any, Any]) -> Response[Any]:
        """Lead each user to their home; with several, let them choose (and switch later)."""
        mine = homes(me(request))
        if len(mine) == 1:
            return Redirect(mine[0].href, status_code=303)
        return Template("dashboards/choose.html", context={"homes": mine})


class BodyHomePages(Controller):
    include_in_schema = False
    path = "/manage/bodies/{body_id:uuid}"
    guards = [requires_login]

    @get("/home")
    async def home(self, request: Request[Any, Any, Any], body_id: uuid.UUID) -> Template:
        principal = me(request)
        board = await body_home.body_dashboard(principal, body_id)
        return Template(
            "dashboards/body_home.html",
            context={"board": board, "charts": body_home_charts(board), "homes": homes(principal)},
        )


def _client_filters(
    q: str | None = None,
    standard: str | None = None,
    certificate_status: str | None = None,
    due_before: dt.date | None = None,
    open_ncs: bool | None = None,
    overdue_invoices: bool | None = None,
    sort: str | None = None,
) -> ClientFilters:
    """The client list's filters from the page's query string (the list and its export)."""
    return ClientFilters(
        q, standard, certificate_status, due_before, open_ncs, overdue_invoices, sort
    )


class ClientListPages(Controller):
    include_in_schema = False
    path = "/manage/bodies/{body_id:uuid}"
    guards = [requires_login]
    dependencies = {"filters": Provide(_client_filters, sync_to_thread=False)}

    @get("/clients")
    async def clients(
        self,
        request: Request[Any, Any, Any],
        body_id: uuid.UUID,
        filters: ClientFilters,
        page: int = 1,
    ) -> Template:
        principal = me(request)
        result = await client_list.list_clients(
            principal, body_id, PageParams.of(page, PER_PAGE), filters
        )
        query = filters.query()
        return Template(
            "dashboards/clients.html",
            context={
                **_list_context(body_id, result, query),
                "standards": await client_list.body_standards(body_id),
                "cert_states": client_list.CERT_STATES,
                "sorts": client_list.CLIENT_SORTS,
                "billers": access.sees_invoices(access.home_role(principal, body_id)),
            },
        )

    @get("/clients/export.csv")
    async def export(
        self,
        request: Request[Any, Any, Any],
        body_id: uuid.UUID,
        filters: ClientFilters,
    ) -> Response[str]:
        principal = me(request)
        result = await client_list.list_clients(principal, body_id, None, filters)
        billers = access.sees_invoices(access.home_role(principal, body_id))
        return Response(
            content=_clients_csv(result, billers),
            media_type="text/csv",  # Litestar appends "; charset=utf-8"
            headers={"Content-Disposition": 'attachment; filename="clients.csv"'},
        )


class ClientFilePages(Controller):
    include_in_schema = False
    path = "/manage/bodies/{body_id:uuid}"
    guards = [requires_login]

    async def _client_page(
        self,
        principal: Principal,
        body_id: uuid.UUID,
        organisation_id: uuid.UUID,
        errors: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Template:
        detail = await detail_service.client_detail(principal, body_id, organisation_id)
        return Template(
            "dashboards/client.html",
            context={
                "body_id": body_id,
                "c": detail,
                "timelines": engagement_timelines(detail, clock.today()),
                "can_note": access.home_role(principal, body_id) in access.NOTE_WRITERS,
                "errors": errors or {},
            },
            status_code=status_code,
        )

    @get("/clients/{organisation_id:uuid}")
    async def client(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID, organisation_id: uuid.UUID
    ) -> Template:
        return await self._client_page(me(request), body_id, organisation_id)

    @post("/clients/{organisation_id:uuid}/notes")
    async def add_note(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID, organisation_id: uuid.UUID
    ) -> Response[Any]:
        principal = me(request)
        access.require_note_writer(principal, body_id)
        data = await form_data(request)
        try:
            note = convert({"text": str(data.get("text", "")).strip()}, NoteIn)
            await client_list.add_client_note(principal, body_id, organisation_id, note.text)
        except DomainError as exc:
            errors = errors_by_field(exc)
            if "form" in errors and "text" not in errors:
                errors = {"text": "Write the note first (up to 4,000 characters)."}
            return await self._client_page(
                principal, body_id, organisation_id, errors, exc.status_code
            )
        return Redirect(
            f"/manage/bodies/{body_id}/clients/{organisation_id}#notes", status_code=303
        )


class BodyActionPages(Controller):
    include_in_schema = False
    path = "/manage/bodies/{body_id:uuid}"
    guards = [requires_login]

    @get("/corrective-actions")
    async def actions(
        self,
        request: Request[Any, Any, Any],
        body_id: uuid.UUID,
        status: str | None = None,
        grade: str | None = None,
        overdue: bool | None = None,
        open: bool | None = None,
        clause: str | None = None,
        organisation: uuid.UUID | None = None,
        auditor: uuid.UUID | None = None,
        issued_from: dt.date | None = None,
        page: int = 1,
    ) -> Template:
        clause = (clause or "").strip()[:40] or None
        result = await body_actions.body_actions(
            me(request),
            body_id,
            PageParams.of(page, PER_PAGE),
            auditor_id=auditor,
            status=status or None,
            grade=grade or None,
            overdue=overdue,
            open_only=open,
            clause=clause,
            organisation_id=organisation,
            issued_from=issued_from,
        )
        query = {
            "status": status,
            "grade": grade,
            "overdue": "true" if overdue else None,
            "open": "true" if open else None,
            "clause": clause,
            "organisation": organisation,
            "auditor": auditor,
            "issued_from": issued_from,
        }
        query = {k: v for k, v in query.items() if v}
        return Template(
            "dashboards/body_actions.html",
            context={**_list_context(body_id, result, query), "statuses": ACTION_STATUSES},
        )


class OrganisationDashboardPages(Controller):
    include_in_schema = False
    guards = [requires_login]

    @get("/organisations/{organisation_id:uuid}/home")
    async def home(self, request: Request[Any, Any, Any], organisation_id: uuid.UUID) -> Template:
        principal = me(request)
        board = await organisation_dashboard(principal, organisation_id)
        return Template(
            "dashboards/client_home.html",
            context={"board": board, "chart": client_home_chart(board), "homes": homes(principal)},
        )


class AuditorDashboardPages(Controller):
    include_in_schema = False
    guards = [requires_login]

    @get("/me/auditor")
    async def home(self, request: Request[Any, Any, Any]) -> Template:
        principal = me(request)
        return Template(
            "dashboards/auditor_home.html",
            context={
                "board": await auditor_home.auditor_dashboard(principal),
                "homes": homes(principal),
            },
        )


class AdminDashboardPages(Controller):
    include_in_schema = False
    guards = [requires_platform_admin]

    @get("/admin/home")
    async def home(self, request: Request[Any, Any, Any]) -> Template:
        return Template(
            "dashboards/admin_home.html",
            context={"board": await admin_home.admin_dashboard(), "homes": homes(me(request))},
        )

    @get("/admin/reviews")
    async def reviews(self, since: dt.date | None = None, page: int = 1) -> Template:
        since = admin_home.review_window(since)
        result = await admin_home.recent_reviews(since, PageParams.of(page, PER_PAGE))
        return Template(
            "dashboards/admin_reviews.html",
            context={"result": result, "since": since, "pages": _pages(result.total)},
        )

    @get("/admin/users")
    async def users(self, since: dt.date | None = None, page: int = 1) -> Template:
        since = admin_home.signup_window(since)
        result = await admin_home.recent_users(since, PageParams.of(page, PER_PAGE))
        return Template(
            "dashboards/admin_users.html",
            context={"result": result, "since": since, "pages": _pages(result.total)},
        )


PAGE_CONTROLLERS = [
    HomeRedirectPages,
    BodyHomePages,
    ClientListPages,
    ClientFilePages,
    BodyActionPages,
    OrganisationDashboardPages,
    AuditorDashboardPages,
    AdminDashboardPages,
]
