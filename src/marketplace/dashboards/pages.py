"""HTML pages of the dashboards: every user's home, a body's clients and client file, work lists."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect, Template

from marketplace.accounts.guards import (
    Principal,
    me,
    require_role,
    requires_login,
    requires_platform_admin,
)
from marketplace.accounts.roles import TenantKind
from marketplace.core import clock
from marketplace.core.errors import DomainError
from marketplace.core.pagination import PageParams
from marketplace.dashboards import services
from marketplace.dashboards.charts import bar_chart, hbar_chart, timeline_svg
from marketplace.dashboards.schemas import NoteIn
from marketplace.findings.tracker import STATUSES as ACTION_STATUSES
from marketplace.scheduling.context import BODY_ALL, CLIENT_ALL
from marketplace.web.forms import convert, errors_by_field, form_data

PER_PAGE = 50


def _csv_cell(value: Any) -> str:
    """Neutralise spreadsheet formulas (OWASP CSV injection) and print None as empty."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class HomeRedirectPages(Controller):
    include_in_schema = False
    guards = [requires_login]

    @get("/dashboard")
    async def dashboard(self, request: Request[Any, Any, Any]) -> Response[Any]:
        """Lead each user to their home; with several, let them choose (and switch later)."""
        homes = services.homes(me(request))
        if len(homes) == 1:
            return Redirect(homes[0]["href"], status_code=303)
        return Template("dashboards/choose.html", context={"homes": homes})


class BodyDashboardPages(Controller):
    include_in_schema = False
    path = "/manage/bodies/{body_id:uuid}"
    guards = [requires_login]

    @get("/home")
    async def home(self, request: Request[Any, Any, Any], body_id: uuid.UUID) -> Template:
        principal = me(request)
        role = require_role(
            principal, TenantKind.body, body_id, services.HOME_ROLES, what=services.NO_BODY
        )
        board = await services.body_dashboard(body_id, role)
        apm = board["audits_per_month"]
        labels = [m["month"][5:] for m in apm["months"]]
        charts = {
            "audits": bar_chart(
                "audits-chart",
                "Audits held per month by kind, last 12 months",
                labels,
                [(k, [m["kinds"][k]["count"] for m in apm["months"]]) for k in apm["kinds"]],
                stacked=True,
            ),
            "utilisation": hbar_chart(
                "utilisation-chart",
                "Auditor utilisation, next 90 days (per cent of working days booked)",
                [(u["name"], u["utilisation_pct"]) for u in board["utilisation"][:15]],
            ),
            "clauses": hbar_chart(
                "clauses-chart",
                "Nonconformities by clause, last 12 months",
                [(c["clause"], c["count"]) for c in board["nonconformities_by_clause"]],
            ),
        }
        if board["revenue"]:
            cur = board["revenue"]["currency"]
            charts["revenue"] = bar_chart(
                "revenue-chart",
                f"Revenue invoiced and collected per month in {cur} (minor units / 100)",
                labels,
                [
                    (name, [m[name].get(cur, 0) / 100 for m in board["revenue"]["months"]])
                    for name in ("invoiced", "collected")
                ],
            )
        return Template(
            "dashboards/body_home.html",
            context={"board": board, "charts": charts, "homes": services.homes(principal)},
        )

    def _client_filters(
        self,
        q: str | None,
        standard: str | None,
        certificate_status: str | None,
        due_before: dt.date | None,
        open_ncs: bool | None,
        overdue_invoices: bool | None,
        sort: str | None,
    ) -> dict[str, Any]:
        return {
            "q": q,
            "standard": standard,
            "certificate_status": certificate_status,
            "due_before": due_before,
            "open_ncs": open_ncs,
            "overdue_invoices": overdue_invoices,
            "sort": sort,
        }

    @get("/clients")
    async def clients(
        self,
        request: Request[Any, Any, Any],
        body_id: uuid.UUID,
        q: str | None = None,
        standard: str | None = None,
        certificate_status: str | None = None,
        due_before: dt.date | None = None,
        open_ncs: bool | None = None,
        overdue_invoices: bool | None = None,
        sort: str | None = None,
        page: int = 1,
    ) -> Template:
        role = require_role(
            me(request), TenantKind.body, body_id, services.HOME_ROLES, what=services.NO_BODY
        )
        filters = self._client_filters(
            q, standard, certificate_status, due_before, open_ncs, overdue_invoices, sort
        )
        billers = role in services.BILLERS
        result = await services.list_clients(
            body_id, PageParams.of(page, PER_PAGE), show_invoices=billers, **filters
        )
        query = {
            k: ("true" if v is True else v)
            for k, v in filters.items()
            if v not in (None, "", False)
        }
        return Template(
            "dashboards/clients.html",
            context={
                "body_id": body_id,
                "result": result,
                "pages": max(1, (result.total + PER_PAGE - 1) // PER_PAGE),
                "query": query,
                "querystring": urlencode(query),
                "standards": await services.body_standards(body_id),
                "cert_states": services.CERT_STATES,
                "sorts": services.CLIENT_SORTS,
                "billers": billers,
            },
        )

    @get("/clients/export.csv")
    async def export(
        self,
        request: Request[Any, Any, Any],
        body_id: uuid.UUID,
        q: str | None = None,
        standard: str | None = None,
        certificate_status: str | None = None,
        due_before: dt.date | None = None,
        open_ncs: bool | None = None,
        overdue_invoices: bool | None = None,
        sort: str | None = None,
    ) -> Response[str]:
        role = require_role(
            me(request), TenantKind.body, body_id, services.HOME_ROLES, what=services.NO_BODY
        )
        billers = role in services.BILLERS
        result = await services.list_clients(
            body_id,
            None,
            show_invoices=billers,
            **self._client_filters(
                q, standard, certificate_status, due_before, open_ncs, overdue_invoices, sort
            ),
        )
        out = io.StringIO()
        writer = csv.writer(out)
        header = [
            "id",
            "name",
            "country",
            "standards",
            "certificate_status",
            "next_audit_due",
            "open_nonconformities",
        ]
        writer.writerow(header + (["overdue_invoices"] if billers else []))
        for r in result.items:
            row = [
                r["id"],
                r["name"],
                r["country"],
                " ".join(r["standards"]),
                r["certificate_status"],
                r["next_due"],
                r["open_ncs"],
            ] + ([r["overdue_invoices"]] if billers else [])
            writer.writerow([_csv_cell(v) for v in row])
        return Response(
            content=out.getvalue(),
            media_type="text/csv",  # Litestar appends "; charset=utf-8"
            headers={"Content-Disposition": 'attachment; filename="clients.csv"'},
        )

    async def _client_page(
        self,
        principal: Principal,
        body_id: uuid.UUID,
        organisation_id: uuid.UUID,
        errors: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Template:
        role = require_role(
            principal, TenantKind.body, body_id, services.HOME_ROLES, what=services.NO_BODY
        )
        detail = await services.client_detail(body_id, organisation_id, role in services.BILLERS)
        timelines = {}
        for e in detail["engagements"]:
            marks: list[tuple[dt.date, str]] = []
            for c in e["cycles"]:
                if c["decision_date"]:
                    marks.append((c["decision_date"], "decision"))
                for a in c["audits"]:
                    day = (
                        a["completed_on"]
                        or (a["starts_at"].date() if a["starts_at"] else None)
                        or a["window_end"]
                    )
                    if day:
                        marks.append((day, a["kind"]))
            if marks:
                marks.sort()
                start = min(marks[0][0], e["started_on"])
                end = max(marks[-1][0], clock.today())
                timelines[e["id"]] = timeline_svg(
                    f"timeline-{e['id']}",
                    f"{e['standard']}: audits and decisions over time",
                    start,
                    end,
                    marks,
                )
        return Template(
            "dashboards/client.html",
            context={
                "body_id": body_id,
                "c": detail,
                "timelines": timelines,
                "can_note": role in services.NOTE_WRITERS,
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
        require_role(
            principal, TenantKind.body, body_id, services.NOTE_WRITERS, what=services.NO_BODY
        )
        data = await form_data(request)
        try:
            note = convert({"text": str(data.get("text", "")).strip()}, NoteIn)
            await services.add_client_note(principal.user_id, body_id, organisation_id, note.text)
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
        require_role(me(request), TenantKind.body, body_id, BODY_ALL, what=services.NO_BODY)
        filters = {
            "status": status or None,
            "grade": grade or None,
            "overdue": overdue,
            "open_only": open,
            "clause": (clause or "").strip()[:40] or None,
            "organisation_id": organisation,
            "issued_from": issued_from,
        }
        result = await services.body_actions(
            body_id, PageParams.of(page, PER_PAGE), auditor_id=auditor, **filters
        )
        query = {
            "status": status,
            "grade": grade,
            "overdue": "true" if overdue else None,
            "open": "true" if open else None,
            "clause": filters["clause"],
            "organisation": organisation,
            "auditor": auditor,
            "issued_from": issued_from,
        }
        query = {k: v for k, v in query.items() if v}
        return Template(
            "dashboards/body_actions.html",
            context={
                "body_id": body_id,
                "result": result,
                "pages": max(1, (result.total + PER_PAGE - 1) // PER_PAGE),
                "query": query,
                "querystring": urlencode(query),
                "statuses": ACTION_STATUSES,
            },
        )


class OrganisationDashboardPages(Controller):
    include_in_schema = False
    guards = [requires_login]

    @get("/organisations/{organisation_id:uuid}/home")
    async def home(self, request: Request[Any, Any, Any], organisation_id: uuid.UUID) -> Template:
        principal = me(request)
        require_role(
            principal,
            TenantKind.organisation,
            organisation_id,
            CLIENT_ALL,
            what="No such organisation.",
        )
        board = await services.organisation_dashboard(organisation_id)
        per_report = board["improvement"]["per_report"]
        chart = bar_chart(
            "nc-chart",
            "Nonconformities per issued audit report, oldest first",
            [f"{r['issued_on']:%y-%m}" if r["issued_on"] else "?" for r in per_report],
            [("nonconformities", [r["count"] for r in per_report])],
        )
        return Template(
            "dashboards/client_home.html",
            context={"board": board, "chart": chart, "homes": services.homes(principal)},
        )


class AuditorDashboardPages(Controller):
    include_in_schema = False
    guards = [requires_login]

    @get("/me/auditor")
    async def home(self, request: Request[Any, Any, Any]) -> Template:
        principal = me(request)
        board = await services.auditor_dashboard(principal.user_id)
        return Template(
            "dashboards/auditor_home.html",
            context={"board": board, "homes": services.homes(principal)},
        )


class AdminDashboardPages(Controller):
    include_in_schema = False
    guards = [requires_platform_admin]

    @get("/admin/home")
    async def home(self, request: Request[Any, Any, Any]) -> Template:
        return Template(
            "dashboards/admin_home.html",
            context={
                "board": await services.admin_dashboard(),
                "homes": services.homes(me(request)),
            },
        )

    @get("/admin/reviews")
    async def reviews(self, since: dt.date | None = None, page: int = 1) -> Template:
        since = services.review_window(since)
        result = await services.recent_reviews(since, PageParams.of(page, PER_PAGE))
        return Template(
            "dashboards/admin_reviews.html",
            context={
                "result": result,
                "since": since,
                "pages": max(1, (result.total + PER_PAGE - 1) // PER_PAGE),
            },
        )

    @get("/admin/users")
    async def users(self, since: dt.date | None = None, page: int = 1) -> Template:
        since = services.signup_window(since)
        result = await services.recent_users(since, PageParams.of(page, PER_PAGE))
        return Template(
            "dashboards/admin_users.html",
            context={
                "result": result,
                "since": since,
                "pages": max(1, (result.total + PER_PAGE - 1) // PER_PAGE),
            },
        )


PAGE_CONTROLLERS = [
    HomeRedirectPages,
    BodyDashboardPages,
    OrganisationDashboardPages,
    AuditorDashboardPages,
    AdminDashboardPages,
]
