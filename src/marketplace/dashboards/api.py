"""JSON API of the dashboards: each home as data, a body's clients and client file, notes."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import JSONBody, Parameter

from marketplace.accounts.guards import (
    principal_of,
    require_role,
    requires_login,
    requires_platform_admin,
)
from marketplace.accounts.roles import TenantKind
from marketplace.core.pagination import Page, PageParams
from marketplace.dashboards import services
from marketplace.dashboards.schemas import NoteIn
from marketplace.scheduling.context import CLIENT_ALL


def plain(value: Any) -> Any:
    """Dates, ids and nested rows as JSON-ready builtins."""
    return msgspec.to_builtins(value)


def plain_page(result: Page[Any]) -> Page[Any]:
    """A page of service rows with its items made JSON-ready."""
    return Page(
        items=plain(result.items), total=result.total, page=result.page, per_page=result.per_page
    )


class BodyDashboardController(Controller):
    path = "/api/v1/bodies/{body_id:uuid}"
    tags = ["dashboards"]
    guards = [requires_login]

    @get("/dashboard", summary="The body's home: attention list and KPIs (not auditors)")
    async def dashboard(self, request: Request[Any, Any, Any], body_id: uuid.UUID) -> Any:
        role = require_role(
            principal_of(request),
            TenantKind.body,
            body_id,
            services.HOME_ROLES,
            what=services.NO_BODY,
        )
        return plain(await services.body_dashboard(body_id, role))

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
    ) -> Page[Any]:
        role = require_role(
            principal_of(request),
            TenantKind.body,
            body_id,
            services.HOME_ROLES,
            what=services.NO_BODY,
        )
        result = await services.list_clients(
            body_id,
            PageParams.of(page, per_page),
            q=q,
            standard=standard,
            certificate_status=certificate_status,
            due_before=due_before,
            open_ncs=open_ncs,
            overdue_invoices=overdue_invoices,
            sort=sort,
            show_invoices=role in services.BILLERS,
        )
        return plain_page(result)

    @get("/clients/{organisation_id:uuid}", summary="One client's whole relationship with the body")
    async def client(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID, organisation_id: uuid.UUID
    ) -> Any:
        role = require_role(
            principal_of(request),
            TenantKind.body,
            body_id,
            services.HOME_ROLES,
            what=services.NO_BODY,
        )
        return plain(
            await services.client_detail(body_id, organisation_id, role in services.BILLERS)
        )

    @get("/clients/{organisation_id:uuid}/notes", summary="The body's internal notes on a client")
    async def notes(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID, organisation_id: uuid.UUID
    ) -> Any:
        require_role(
            principal_of(request),
            TenantKind.body,
            body_id,
            services.HOME_ROLES,
            what=services.NO_BODY,
        )
        await services.require_client(body_id, organisation_id)
        return plain(await services.client_notes(body_id, organisation_id))

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
    ) -> Any:
        p = principal_of(request)
        require_role(p, TenantKind.body, body_id, services.NOTE_WRITERS, what=services.NO_BODY)
        return plain(await services.add_client_note(p.user_id, body_id, organisation_id, data.text))


class OrganisationDashboardController(Controller):
    path = "/api/v1/organisations/{organisation_id:uuid}/dashboard"
    tags = ["dashboards"]
    guards = [requires_login]

    @get("", summary="The client's home: audits, actions, certificates, invoices, improvement")
    async def dashboard(self, request: Request[Any, Any, Any], organisation_id: uuid.UUID) -> Any:
        require_role(
            principal_of(request),
            TenantKind.organisation,
            organisation_id,
            CLIENT_ALL,
            what="No such organisation.",
        )
        return plain(await services.organisation_dashboard(organisation_id))


class AuditorDashboardController(Controller):
    path = "/api/v1/me/auditor-dashboard"
    tags = ["dashboards"]
    guards = [requires_login]

    @get("", summary="The caller's audits ahead, reports to write and actions to verify")
    async def dashboard(self, request: Request[Any, Any, Any]) -> Any:
        return plain(await services.auditor_dashboard(principal_of(request).user_id))


class AdminDashboardController(Controller):
    path = "/api/v1/admin/dashboard"
    tags = ["admin"]
    guards = [requires_platform_admin]

    @get("", summary="Queues and health for platform administrators")
    async def dashboard(self) -> Any:
        return plain(await services.admin_dashboard())


class AdminQueuesController(Controller):
    path = "/api/v1/admin"
    tags = ["admin"]
    guards = [requires_platform_admin]

    @get("/reviews", summary="Reviews published since a date, newest first (moderation queue)")
    async def reviews(
        self, since: dt.date | None = None, page: int | None = None, per_page: int | None = None
    ) -> Page[Any]:
        return plain_page(
            await services.recent_reviews(
                services.review_window(since), PageParams.of(page, per_page)
            )
        )

    @get("/users", summary="Accounts created since a date, newest first (sign-up queue)")
    async def users(
        self, since: dt.date | None = None, page: int | None = None, per_page: int | None = None
    ) -> Page[Any]:
        return plain_page(
            await services.recent_users(
                services.signup_window(since), PageParams.of(page, per_page)
            )
        )


API_CONTROLLERS = [
    BodyDashboardController,
    OrganisationDashboardController,
    AuditorDashboardController,
    AdminDashboardController,
    AdminQueuesController,
]
