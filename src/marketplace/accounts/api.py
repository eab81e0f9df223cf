"""JSON API for accounts: registration, tokens, passwords, the caller, organisations and members."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.params import JSONBody, Parameter

from marketplace.accounts import services
from marketplace.accounts.guards import (
    client_address,
    principal_of,
    require_role,
    requires_login,
)
from marketplace.accounts.roles import CLIENT_MANAGERS, TenantKind
from marketplace.accounts.schemas import (
    AcceptInvitationIn,
    ActivityOut,
    InvitationOut,
    MemberIn,
    MemberOut,
    MembershipOut,
    MeOut,
    OrganisationIn,
    OrganisationOut,
    PasswordChangeIn,
    PasswordResetConfirmIn,
    PasswordResetIn,
    RegisterIn,
    SiteIn,
    SiteOut,
    TokenIn,
    TokenOut,
    UserOut,
)
from marketplace.core.activity import Tenant
from marketplace.core.activity import entries_for_tenant as activity_for_tenant
from marketplace.core.pagination import Page, PageParams
from marketplace.core.tables import ActivityLog
from marketplace.settings import settings_of


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["accounts"]

    @post("/register", summary="Create an account", status_code=201)
    async def register(self, data: JSONBody[RegisterIn]) -> UserOut:
        user = await services.register_user(data.email, data.password, data.name)
        return msgspec.convert(user, UserOut)

    @post("/token", summary="Exchange e-mail and password for a bearer token", status_code=200)
    async def token(self, request: Request[Any, Any, Any], data: JSONBody[TokenIn]) -> TokenOut:
        settings = settings_of(request)
        user_id = await services.authenticate(data.email, data.password, client_address(request))
        issued = await services.issue_api_token(user_id, settings.app.session_days)
        return TokenOut(token=issued.secret, expires_at=issued.expires_at)

    @delete(
        "/token", summary="Revoke the presented token", guards=[requires_login], status_code=204
    )
    async def revoke(self, request: Request[Any, Any, Any]) -> None:
        principal = principal_of(request)
        if principal.token_id:
            await services.revoke_api_token(principal.token_id)

    @post(
        "/password-reset",
        summary="E-mail a single-use password reset link (202 for every address)",
        status_code=202,
    )
    async def password_reset(self, data: JSONBody[PasswordResetIn]) -> None:
        await services.request_password_reset(data.email)

    @post(
        "/password-reset/confirm",
        summary="Set a new password with a reset link; every session is revoked",
        status_code=204,
    )
    async def password_reset_confirm(self, data: JSONBody[PasswordResetConfirmIn]) -> None:
        await services.confirm_password_reset(data.token, data.new_password)


class MeController(Controller):
    path = "/api/v1/me"
    tags = ["accounts"]
    guards = [requires_login]

    @get("", summary="The caller and their memberships")
    async def me(self, request: Request[Any, Any, Any]) -> MeOut:
        p = principal_of(request)
        return MeOut(
            id=p.user_id,
            email=p.email,
            name=p.name,
            time_zone=p.time_zone,
            is_platform_admin=p.is_platform_admin,
            memberships=[
                MembershipOut(m.kind.value, m.tenant_id, m.role, m.tenant_name)
                for m in p.memberships
            ],
        )

    @post(
        "/password",
        summary="Change the password; every other session and token is revoked",
        status_code=204,
    )
    async def change_password(
        self, request: Request[Any, Any, Any], data: JSONBody[PasswordChangeIn]
    ) -> None:
        await services.change_password(
            principal_of(request),
            data.current_password,
            data.new_password,
            client_address(request),
        )


def _org_out(org: dict[str, Any]) -> OrganisationOut:
    return msgspec.convert(org, OrganisationOut, from_attributes=False, strict=False)


class OrganisationController(Controller):
    path = "/api/v1/organisations"
    tags = ["accounts"]
    guards = [requires_login]

    @post("", summary="Create a client organisation (caller becomes owner)", status_code=201)
    async def create(
        self, request: Request[Any, Any, Any], data: JSONBody[OrganisationIn]
    ) -> OrganisationOut:
        p = principal_of(request)
        org_id = await services.create_organisation(p.user_id, msgspec.to_builtins(data))
        return _org_out(await services.get_organisation(org_id))

    @get("/{organisation_id:uuid}", summary="An organisation with its sites")
    async def read(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID
    ) -> OrganisationOut:
        require_role(
            principal_of(request),
            TenantKind.organisation,
            organisation_id,
            what="No such organisation.",
        )
        return _org_out(await services.get_organisation(organisation_id))

    @post("/{organisation_id:uuid}/sites", summary="Add a site", status_code=201)
    async def add_site(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID, data: JSONBody[SiteIn]
    ) -> SiteOut:
        p = principal_of(request)
        require_role(
            p,
            TenantKind.organisation,
            organisation_id,
            CLIENT_MANAGERS,
            what="No such organisation.",
        )
        site_id = await services.add_site(p.user_id, organisation_id, msgspec.to_builtins(data))
        org = await services.get_organisation(organisation_id)
        site = next(s for s in org["sites"] if s["id"] == site_id)
        return msgspec.convert(site, SiteOut, strict=False)

    @post(
        "/{organisation_id:uuid}/members",
        summary="Invite a member (the same answer for every address; membership once accepted)",
        status_code=201,
    )
    async def add_member(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID, data: JSONBody[MemberIn]
    ) -> MemberOut:
        p = principal_of(request)
        require_role(
            p,
            TenantKind.organisation,
            organisation_id,
            CLIENT_MANAGERS,
            what="No such organisation.",
        )
        result = await services.invite_member(
            p.user_id, TenantKind.organisation, organisation_id, data.email, data.role
        )
        return msgspec.convert(result, MemberOut)

    @get("/{organisation_id:uuid}/invitations", summary="Pending invitations (managers)")
    async def invitations(
        self,
        request: Request[Any, Any, Any],
        organisation_id: uuid.UUID,
        page: int = Parameter(default=1),
        per_page: int = Parameter(default=20),
    ) -> Page[InvitationOut]:
        require_role(
            principal_of(request),
            TenantKind.organisation,
            organisation_id,
            CLIENT_MANAGERS,
            what="No such organisation.",
        )
        return await invitations_page(
            TenantKind.organisation, organisation_id, PageParams.of(page, per_page)
        )

    @delete(
        "/{organisation_id:uuid}/invitations/{invitation_id:uuid}",
        summary="Revoke a pending invitation (managers); its link stops working",
        status_code=204,
    )
    async def revoke_invitation(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID, invitation_id: uuid.UUID
    ) -> None:
        p = principal_of(request)
        require_role(
            p,
            TenantKind.organisation,
            organisation_id,
            CLIENT_MANAGERS,
            what="No such organisation.",
        )
        await services.revoke_invitation(
            p.user_id, TenantKind.organisation, organisation_id, invitation_id
        )

    @get("/{organisation_id:uuid}/activity", summary="The organisation's activity log (owners)")
    async def activity(
        self,
        request: Request[Any, Any, Any],
        organisation_id: uuid.UUID,
        page: int = Parameter(default=1),
        per_page: int = Parameter(default=20),
    ) -> Page[ActivityOut]:
        require_role(
            principal_of(request),
            TenantKind.organisation,
            organisation_id,
            {"owner"},
            what="No such organisation.",
        )
        return await activity_page(
            Tenant("organisation", organisation_id), PageParams.of(page, per_page)
        )


class InvitationController(Controller):
    path = "/api/v1/invitations"
    tags = ["accounts"]
    guards = [requires_login]

    @post(
        "/accept",
        summary="Accept an e-mailed invitation, signed in with the invited address",
        status_code=200,
    )
    async def accept(
        self, request: Request[Any, Any, Any], data: JSONBody[AcceptInvitationIn]
    ) -> MembershipOut:
        p = principal_of(request)
        result = await services.accept_invitation(p.user_id, p.email, data.token)
        return msgspec.convert(result, MembershipOut)


async def invitations_page(
    kind: TenantKind, tenant_id: uuid.UUID, params: PageParams
) -> Page[InvitationOut]:
    rows = await services.list_invitations(kind, tenant_id)
    items = [
        msgspec.convert(r, InvitationOut, strict=False)
        for r in rows[params.offset : params.offset + params.per_page]
    ]
    return Page(items=items, total=len(rows), page=params.page, per_page=params.per_page)


async def activity_page(tenant: Tenant, params: PageParams) -> Page[ActivityOut]:
    rows = await activity_for_tenant(tenant, limit=params.per_page, offset=params.offset)
    total = (
        await ActivityLog.count()
        .where((ActivityLog.tenant_kind == tenant.kind) & (ActivityLog.tenant_id == tenant.id))
        .run()
    )
    items = [msgspec.convert(r, ActivityOut, strict=False) for r in rows]
    return Page(items=items, total=total, page=params.page, per_page=params.per_page)
