"""JSON API of the dashboards: each home as data, a body's clients and client file, notes."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import JSONBody, Parameter

from marketplace.accounts.guards import principal_of, requires_login, requires_platform_admin
from marketplace.core.pagination import Page, PageParams
from marketplace.dashboards import admin_home, auditor_home, body_home, client_detail, clients
from marketplace.dashboards.client_home import organisation_dashboard
from marketplace.dashboards.schemas import (
    AdminDashboard,
    AuditorDashboard,
    BodyDashboard,
    ClientDetail,
    ClientFilters,
    ClientRow,
    Note,
    NoteIn,
    OrganisationDashboard,
    RecentReview,
    RecentUser,
)


class BodyDashboardController(Controller):
    path = "/api/v1/bodies/{body_id:uuid}"
    tags = ["dashboards"]
    guards = [requires_login]

    @get("/dashboard", summary="The body's home: attention list and KPIs (not auditors)")
    async def dashboard(self, request: Request[Any, Any, Any], body_id: uuid.UUID) -> BodyDashboard:
        return await body_home.body_dashboard(principal_of(request), body_id)

    @get("/clients", summary="The body's clients with filters, sort and paging (not auditors)")
    async def clients(
        self,
        request: Request[Any, Any, Any],
        body_id: uuid.UUID,
        q: str | None = Parameter(default=None, max_length=200),
        standard: str | None = Parameter(default=None, max_length=40),
        certificate_status: str | None = Parameter(default=None, max_length=20),
        due_before: dt.date | None = None,
        open_ncs: bool | None = None,
        overdue_invoices: bool | None = None,
        sort: str | None = Parameter(default=None, max_length=20),
        page: int | None = None,
        per_page: int | None = None,
    ) -> Page[ClientRow]:
        filters = ClientFilters(
            q, standard, certificate_status, due_before, open_ncs, overdue_invoices, sort
        )
        return await clients.list_clients(
            principal_of(request), body_id, PageParams.of(page, per_page), filters
        )

    @get("/clients/{organisation_id:uuid}", summary="One client's whole relationship with the body")
    async def client(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID, organisation_id: uuid.UUID
    ) -> ClientDetail:
        return await client_detail.client_detail(principal_of(request), body_id, organisation_id)

    @get("/clients/{organisation_id:uuid}/notes", summary="The body's internal notes on a client")
    async def notes(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID, organisation_id: uuid.UUID
    ) -> list[Note]:
        return await clients.client_notes(principal_of(request), body_id, organisation_id)

    @post(
        "/clients/{organisation_id:uuid}/notes",
        summary="Add an internal note (owner, scheduler, decision maker)",
        status_code=201,
    )
    async def add_note(
        self,
        request: Request[Any, Any, Any],
        body_id: uuid.UUID,
        organisation_id: uuid.UUID,
        data: JSONBody[NoteIn],
    ) -> Note:
        return await clients.add_client_note(
            principal_of(request), body_id, organisation_id, data.text
        )


class OrganisationDashboardController(Controller):
    path = "/api/v1/organisations/{organisation_id:uuid}/dashboard"
    tags = ["dashboards"]
    guards = [requires_login]

    @get("", summary="The client's home: audits, actions, certificates, invoices, improvement")
    async def dashboard(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID
    ) -> OrganisationDashboard:
        return await organisation_dashboard(principal_of(request), organisation_id)


class AuditorDashboardController(Controller):
    path = "/api/v1/me/auditor-dashboard"
    tags = ["dashboards"]
    guards = [requires_login]

    @get("", summary="The caller's audits ahead, reports to write and actions to verify")
    async def dashboard(self, request: Request[Any, Any, Any]) -> AuditorDashboard:
        return await auditor_home.auditor_dashboard(principal_of(request))


class AdminDashboardController(Controller):
    path = "/api/v1/admin/dashboard"
    tags = ["admin"]
    guards = [requires_platform_admin]

    @get("", summary="Queues and health for platform administrators")
    async def dashboard(self) -> AdminDashboard:
        return await admin_home.admin_dashboard()


class AdminQueuesController(Controller):
    path = "/api/v1/admin"
    tags = ["admin"]
    guards = [requires_platform_admin]

    @get("/reviews", summary="Reviews published since a date, newest first (moderation queue)")
    async def reviews(
        self, since: dt.date | None = None, page: int | None = None, per_page: int | None = None
    ) -> Page[RecentReview]:
        return await admin_home.recent_reviews(since, PageParams.of(page, per_page))

    @get("/users", summary="Accounts created since a date, newest first (sign-up queue)")
    async def users(
        self, since: dt.date | None = None, page: int | None = None, per_page: int | None = None
    ) -> Page[RecentUser]:
        return await admin_home.recent_users(since, PageParams.of(page, per_page))


API_CONTROLLERS = [
    BodyDashboardController,
    OrganisationDashboardController,
    AuditorDashboardController,
    AdminDashboardController,
    AdminQueuesController,
]
