"""HTML pages of the directory: search, compare, registering and managing a body, the admin queue."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect, Template

from marketplace.accounts import members as accounts
from marketplace.accounts.guards import (
    Principal,
    current_principal,
    me,
    require_role,
    requires_login,
    requires_platform_admin,
)
from marketplace.accounts.members import invited_notice
from marketplace.accounts.pages import revoke_page
from marketplace.accounts.roles import BODY_MANAGERS, ROLES, TenantKind
from marketplace.core.activity import Tenant, entries_for_tenant
from marketplace.core.errors import DomainError, Invalid
from marketplace.core.pagination import PageParams
from marketplace.directory import profiles, search, services
from marketplace.directory.schemas import SORTS, AccreditationIn, BodyIn
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
        body = await services.get_body_detail(body_id)
        return Template(
            "directory/body_manage.html",
            context={
                "body": body,
                "can_declare": role in services.PROFILE_EDITORS,
                "standards": await reference.list_standards(),
                "accreditation_bodies": await reference.list_accreditation_bodies(),
                "role": role,
                "can_manage": role in BODY_MANAGERS,
                "members": await accounts.list_members(TenantKind.body, body_id),
                "invitations": (
                    await accounts.list_invitations(TenantKind.body, body_id)
                    if role in BODY_MANAGERS
                    else []
                ),
                "revoke_base": f"/manage/bodies/{body_id}/invitations",
                "tz": principal.time_zone,
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
        return await self._render(principal, body_id, profiles.body_role(principal, body_id))

    @post("/manage/bodies/{body_id:uuid}", guards=[requires_login])
    async def update(self, request: Request[Any, Any, Any], body_id: uuid.UUID) -> Template:
        principal = me(request)
        role = profiles.body_role(principal, body_id, BODY_MANAGERS)
        data = await form_data(request)
        try:
            payload = convert(_profile_from_form(data), BodyIn)
            await profiles.edit_profile(principal, body_id, msgspec.to_builtins(payload))
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

    @post("/manage/bodies/{body_id:uuid}/accreditations", guards=[requires_login])
    async def declare_accreditation(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID
    ) -> Template:
        principal = me(request)
        role = profiles.body_role(principal, body_id, services.PROFILE_EDITORS)
        data = await form_data(request)
        sectors = [s.strip() for s in str(data.get("iaf_sectors", "")).split(",") if s.strip()]
        try:
            payload = convert(
                {
                    "accreditation_body": data.get("accreditation_body", ""),
                    "number": data.get("number", ""),
                    "standard": data.get("standard", ""),
                    "iaf_sectors": sectors,
                    "valid_until": data.get("valid_until", ""),
                    "evidence_url": data.get("evidence_url", ""),
                },
                AccreditationIn,
            )
            await profiles.declare(principal, body_id, msgspec.structs.asdict(payload))
        except DomainError as exc:
            return await self._render(
                principal, body_id, role, errors_by_field(exc), status_code=exc.status_code
            )
        return await self._render(
            principal, body_id, role, notice="Accreditation declared; it counts once verified."
        )

    @post("/manage/bodies/{body_id:uuid}/members", guards=[requires_login])
    async def add_member(self, request: Request[Any, Any, Any], body_id: uuid.UUID) -> Template:
        principal = me(request)
        role = profiles.body_role(principal, body_id, BODY_MANAGERS)
        data = await form_data(request)
        try:
            result = await accounts.invite_member(
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
        return await self._render(principal, body_id, role, notice=invited_notice(result["email"]))

    @get(
        "/manage/bodies/{body_id:uuid}/invitations/{invitation_id:uuid}/revoke",
        guards=[requires_login],
    )
    async def confirm_revoke(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID, invitation_id: uuid.UUID
    ) -> Template:
        profiles.body_role(me(request), body_id, BODY_MANAGERS)
        invitation = await accounts.get_invitation(TenantKind.body, body_id, invitation_id)
        body = await services.get_body(body_id)
        return revoke_page(invitation, body["name"], f"/manage/bodies/{body_id}")

    @post(
        "/manage/bodies/{body_id:uuid}/invitations/{invitation_id:uuid}/revoke",
        guards=[requires_login],
    )
    async def revoke(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID, invitation_id: uuid.UUID
    ) -> Template:
        principal = me(request)
        role = profiles.body_role(principal, body_id, BODY_MANAGERS)
        invitation = await accounts.get_invitation(TenantKind.body, body_id, invitation_id)
        await accounts.revoke_invitation(principal.user_id, TenantKind.body, body_id, invitation_id)
        return await self._render(
            principal,
            body_id,
            role,
            notice=f"The invitation of {invitation.email} is revoked; its link no longer works.",
        )

    @get("/manage/bodies/{body_id:uuid}/activity", guards=[requires_login])
    async def activity(self, request: Request[Any, Any, Any], body_id: uuid.UUID) -> Template:
        profiles.body_role(me(request), body_id, {"owner"})
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


def _page_number(value: str | None) -> int:
    """The page asked for; out-of-range numbers are left to PageParams.of to refuse."""
    try:
        return int(value or 1)
    except ValueError:
        raise Invalid.field("page", "Give a whole page number.") from None


class DirectoryPages(Controller):
    """Public search and compare pages; plain GET forms, so they work without JavaScript."""

    include_in_schema = False

    @get("/bodies")
    async def search_page(self, request: Request[Any, Any, Any]) -> Template:
        raw = {k: request.query_params.get(k) for k in (*search.FILTER_NAMES, "page")}
        context: dict[str, Any] = {
            "values": {k: v or "" for k, v in raw.items()},
            "standards": await reference.list_standards(),
            "sectors": await reference.list_iaf_sectors(),
            "services": await reference.list_support_services(),
            "accreditation_bodies": await reference.list_accreditation_bodies(),
            "sorts": SORTS,
            "errors": {},
            "result": None,
        }
        status = 200
        try:
            filters = await search.parse_filters({k: raw[k] for k in search.FILTER_NAMES})
            context["result"] = await search.search(
                filters, PageParams.of(_page_number(raw["page"]), 20)
            )
        except DomainError as exc:
            context["errors"] = errors_by_field(exc)
            status = exc.status_code
        context["query"] = {k: v for k, v in raw.items() if v and k != "page"}
        return Template("directory/search.html", context=context, status_code=status)

    @get("/bodies/compare")
    async def compare_page(self, request: Request[Any, Any, Any]) -> Template:
        principal = current_principal(request)
        ids_raw = ",".join(request.query_params.getall("ids", []))
        organisation = request.query_params.get("organisation")
        standard = request.query_params.get("standard")
        organisations = (
            [m for m in principal.memberships if m.kind == TenantKind.organisation]
            if principal
            else []
        )
        if not organisation and organisations:
            organisation = str(organisations[0].tenant_id)
        org_id: uuid.UUID | None = None
        if organisation and principal is not None:
            try:
                org_id = uuid.UUID(organisation)
            except ValueError:
                org_id = None
            if org_id is not None:
                require_role(principal, TenantKind.organisation, org_id)
        result = await search.compare(search.parse_ids(ids_raw), standard, org_id)
        return Template(
            "directory/compare.html",
            context={
                "result": result,
                "organisations": organisations,
                "standards": await reference.list_standards(),
                "service_names": {s.code: s.name for s in await reference.list_support_services()},
                "ids": ids_raw,
            },
        )


class AccreditationAdminPages(Controller):
    """The platform administrators' queue of declared accreditations waiting to be verified."""

    include_in_schema = False
    guards = [requires_platform_admin]

    async def _render(self, notice: str = "", status_code: int = 200) -> Template:
        queue = await services.list_accreditations_by_status("pending", PageParams.of(1, 100))
        return Template(
            "admin/accreditations.html",
            context={"queue": queue, "notice": notice},
            status_code=status_code,
        )

    @get("/admin/accreditations")
    async def queue(self) -> Template:
        return await self._render()

    @post("/admin/accreditations/{accreditation_id:uuid}/{decision:str}")
    async def decide(
        self, request: Request[Any, Any, Any], accreditation_id: uuid.UUID, decision: str
    ) -> Template:
        if decision not in services.ACCREDITATION_DECISIONS:
            return await self._render("Unknown decision.", status_code=404)
        data = await form_data(request)
        try:
            await services.decide_accreditation(
                me(request).user_id, accreditation_id, decision, str(data.get("reason", ""))
            )
        except DomainError as exc:
            return await self._render(exc.detail, status_code=exc.status_code)
        return await self._render(f"Accreditation {decision} recorded.")
