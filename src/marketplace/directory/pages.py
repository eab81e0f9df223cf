"""HTML pages for registering and managing a certification body, and its public profile."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect, Template

from marketplace.accounts import services as accounts
from marketplace.accounts.guards import Principal, require_role, requires_login
from marketplace.accounts.pages import me
from marketplace.accounts.roles import BODY_MANAGERS, ROLES, TenantKind
from marketplace.core.activity import Tenant, entries_for_tenant
from marketplace.core.errors import DomainError
from marketplace.directory import services
from marketplace.directory.schemas import BodyIn
from marketplace.reference import services as reference
from marketplace.web.forms import as_list, convert, errors_by_field, form_data


def _profile_from_form(data: dict[str, Any]) -> dict[str, Any]:
    def minor(field: str) -> int:
        raw = str(data.get(field) or "0").replace(",", "").strip()
        try:
            return round(float(raw) * 100)
        except ValueError:
            return -1  # rejected by the schema with a field message

    return {
        "name": data.get("name", ""),
        "country": str(data.get("country", "")).upper(),
        "description": data.get("description", ""),
        "languages": [
            s.strip().lower() for s in str(data.get("languages", "")).split(",") if s.strip()
        ],
        "regions": [
            s.strip().upper() for s in str(data.get("regions", "")).split(",") if s.strip()
        ],
        "day_rate_min_minor": minor("day_rate_min"),
        "day_rate_max_minor": minor("day_rate_max"),
        "currency": str(data.get("currency") or "EUR").upper(),
        "response_time_hours": data.get("response_time_hours") or 48,
        "remote_audits": data.get("remote_audits") == "on",
        "services": as_list(data.get("services")),
        "website": data.get("website", ""),
    }


class BodyAdminPages(Controller):
    include_in_schema = False

    @get("/bodies/new", guards=[requires_login])
    async def new_form(self) -> Template:
        return Template(
            "directory/body_form.html",
            context={
                "errors": {},
                "values": {},
                "services": await reference.list_support_services(),
                "body": None,
            },
        )

    @post("/bodies/new", guards=[requires_login])
    async def create(self, request: Request[Any, Any, Any]) -> Response[Any]:
        data = await form_data(request)
        try:
            payload = convert(_profile_from_form(data), BodyIn)
            body_id = await services.create_body(me(request).user_id, msgspec.to_builtins(payload))
        except DomainError as exc:
            return Template(
                "directory/body_form.html",
                context={
                    "errors": errors_by_field(exc),
                    "values": data,
                    "services": await reference.list_support_services(),
                    "body": None,
                },
                status_code=exc.status_code,
            )
        return Redirect(f"/manage/bodies/{body_id}")

    @get("/bodies/{slug:str}")
    async def public(self, slug: str) -> Template:
        body = await services.get_body(slug)
        return Template("directory/body_public.html", context={"body": body})

    async def _render(
        self,
        principal: Principal,
        body_id: uuid.UUID,
        role: str,
        errors: dict[str, str] | None = None,
        notice: str = "",
        values: dict[str, Any] | None = None,
        status_code: int = 200,
    ) -> Template:
        body = await services.get_body(body_id)
        return Template(
            "directory/body_manage.html",
            context={
                "body": body,
                "role": role,
                "can_manage": role in BODY_MANAGERS,
                "members": await accounts.list_members(TenantKind.body, body_id),
                "invitations": await accounts.list_invitations(TenantKind.body, body_id),
                "roles": sorted(ROLES[TenantKind.body]),
                "services": await reference.list_support_services(),
                "errors": errors or {},
                "values": values,
                "notice": notice,
            },
            status_code=status_code,
        )

    @get("/manage/bodies/{body_id:uuid}", guards=[requires_login])
    async def manage(self, request: Request[Any, Any, Any], body_id: uuid.UUID) -> Template:
        principal = me(request)
        role = require_role(principal, TenantKind.body, body_id, what="No such certification body.")
        return await self._render(principal, body_id, role)

    @post("/manage/bodies/{body_id:uuid}", guards=[requires_login])
    async def update(self, request: Request[Any, Any, Any], body_id: uuid.UUID) -> Template:
        principal = me(request)
        role = require_role(
            principal, TenantKind.body, body_id, BODY_MANAGERS, what="No such certification body."
        )
        data = await form_data(request)
        try:
            payload = convert(_profile_from_form(data), BodyIn)
            await services.update_body(principal.user_id, body_id, msgspec.to_builtins(payload))
        except DomainError as exc:
            return await self._render(
                principal,
                body_id,
                role,
                errors_by_field(exc),
                values=data,
                status_code=exc.status_code,
            )
        return await self._render(principal, body_id, role, notice="Profile saved.")

    @post("/manage/bodies/{body_id:uuid}/members", guards=[requires_login])
    async def add_member(self, request: Request[Any, Any, Any], body_id: uuid.UUID) -> Template:
        principal = me(request)
        role = require_role(
            principal, TenantKind.body, body_id, BODY_MANAGERS, what="No such certification body."
        )
        data = await form_data(request)
        try:
            result = await accounts.add_member(
                principal.user_id,
                TenantKind.body,
                body_id,
                str(data.get("email", "")),
                str(data.get("role", "")),
            )
        except DomainError as exc:
            return await self._render(
                principal, body_id, role, errors_by_field(exc), status_code=exc.status_code
            )
        notice = (
            f"{result['email']} is now a member."
            if result["status"] == "member"
            else f"{result['email']} is invited and joins when they register with that address."
        )
        return await self._render(principal, body_id, role, notice=notice)

    @get("/manage/bodies/{body_id:uuid}/activity", guards=[requires_login])
    async def activity(self, request: Request[Any, Any, Any], body_id: uuid.UUID) -> Template:
        require_role(
            me(request), TenantKind.body, body_id, {"owner"}, what="No such certification body."
        )
        body = await services.get_body(body_id)
        entries = await entries_for_tenant(Tenant("body", body_id), limit=200)
        return Template(
            "core/activity.html",
            context={
                "tenant_name": body["name"],
                "entries": entries,
                "back": f"/manage/bodies/{body_id}",
            },
        )
