"""JSON API for accounts: registration, tokens, passwords, the caller, organisations and members."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.params import JSONBody, Parameter

from marketplace.accounts import organisations
from marketplace.accounts.credentials import (
    change_password,
    confirm_password_reset,
    request_password_reset,
)
from marketplace.accounts.guards import client_address, principal_of, requires_login
from marketplace.accounts.members import accept_invitation
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
from marketplace.accounts.sessions import issue_api_token, revoke_api_token
from marketplace.accounts.sign_in import authenticate
from marketplace.accounts.users import register_user
from marketplace.core.pagination import Page, PageParams
from marketplace.settings import settings_of


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["accounts"]

    @post("/register", summary="Create an account", status_code=201)
    async def register(self, data: JSONBody[RegisterIn]) -> UserOut:
        return await register_user(data.email, data.password, data.name)

    @post("/token", summary="Exchange e-mail and password for a bearer token", status_code=200)
    async def token(self, request: Request[Any, Any, Any], data: JSONBody[TokenIn]) -> TokenOut:
        settings = settings_of(request)
        user_id = await authenticate(data.email, data.password, client_address(request))
        issued = await issue_api_token(user_id, settings.app.session_days)
        return TokenOut(token=issued.secret, expires_at=issued.expires_at)

    @delete(
        "/token", summary="Revoke the presented token", guards=[requires_login], status_code=204
    )
    async def revoke(self, request: Request[Any, Any, Any]) -> None:
        principal = principal_of(request)
        if principal.token_id:
            await revoke_api_token(principal.token_id)

    @post(
        "/password-reset",
        summary="E-mail a single-use password reset link (202 for every address)",
        status_code=202,
    )
    async def password_reset(self, data: JSONBody[PasswordResetIn]) -> None:
        await request_password_reset(data.email)

    @post(
        "/password-reset/confirm",
        summary="Set a new password with a reset link; every session is revoked",
        status_code=204,
    )
    async def password_reset_confirm(self, data: JSONBody[PasswordResetConfirmIn]) -> None:
        await confirm_password_reset(data.token, data.new_password)


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
        await change_password(
            principal_of(request),
            data.current_password,
            data.new_password,
            client_address(request),
        )


class OrganisationController(Controller):
    path = "/api/v1/organisations"
    tags = ["accounts"]
    guards = [requires_login]

    @post("", summary="Create a client organisation (caller becomes owner)", status_code=201)
    async def create(
        self, request: Request[Any, Any, Any], data: JSONBody[OrganisationIn]
    ) -> OrganisationOut:
        org_id = await organisations.found(principal_of(request), data)
        return await organisations.organisation_out(org_id)

    @get("/{organisation_id:uuid}", summary="An organisation with its sites")
    async def read(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID
    ) -> OrganisationOut:
        return await organisations.read(principal_of(request), organisation_id)

    @post("/{organisation_id:uuid}/sites", summary="Add a site", status_code=201)
    async def add_site(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID, data: JSONBody[SiteIn]
    ) -> SiteOut:
        return await organisations.add_site_as(principal_of(request), organisation_id, data)

    @post(
        "/{organisation_id:uuid}/members",
        summary="Invite a member (the same answer for every address; membership once accepted)",
        status_code=201,
    )
    async def add_member(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID, data: JSONBody[MemberIn]
    ) -> MemberOut:
        return await organisations.invite(
            principal_of(request), organisation_id, data.email, data.role
        )

    @get("/{organisation_id:uuid}/invitations", summary="Pending invitations (managers)")
    async def invitations(
        self,
        request: Request[Any, Any, Any],
        organisation_id: uuid.UUID,
        page: int = Parameter(default=1),
        per_page: int = Parameter(default=20),
    ) -> Page[InvitationOut]:
        return await organisations.invitations(
            principal_of(request), organisation_id, PageParams.of(page, per_page)
        )

    @delete(
        "/{organisation_id:uuid}/invitations/{invitation_id:uuid}",
        summary="Revoke a pending invitation (managers); its link stops working",
        status_code=204,
    )
    async def revoke_invitation(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID, invitation_id: uuid.UUID
    ) -> None:
        await organisations.revoke(principal_of(request), organisation_id, invitation_id)

    @get("/{organisation_id:uuid}/activity", summary="The organisation's activity log (owners)")
    async def activity(
        self,
        request: Request[Any, Any, Any],
        organisation_id: uuid.UUID,
        page: int = Parameter(default=1),
        per_page: int = Parameter(default=20),
    ) -> Page[ActivityOut]:
        return await organisations.activity(
            principal_of(request), organisation_id, PageParams.of(page, per_page)
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
        return await accept_invitation(p.user_id, p.email, data.token)
