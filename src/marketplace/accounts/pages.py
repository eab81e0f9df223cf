"""HTML pages for signing in and up, passwords, the account, and a client organisation's settings."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.response import Redirect, Template

from marketplace.accounts import members, organisations
from marketplace.accounts.auth import SESSION_COOKIE
from marketplace.accounts.credentials import (
    change_password,
    confirm_password_reset,
    request_password_reset,
)
from marketplace.accounts.guards import Principal, client_address, me, requires_login
from marketplace.accounts.members import invited_notice
from marketplace.accounts.roles import CLIENT_MANAGERS, ROLES, TenantKind
from marketplace.accounts.schemas import (
    InvitationOut,
    MemberIn,
    OrganisationIn,
    PasswordChangeIn,
    PasswordResetConfirmIn,
    PasswordResetIn,
    RegisterForm,
    SiteIn,
    TokenIn,
)
from marketplace.accounts.sessions import end_session, start_session
from marketplace.accounts.sign_in import authenticate
from marketplace.accounts.users import register_user
from marketplace.core.errors import DomainError
from marketplace.core.pagination import PageParams
from marketplace.reference import services as reference
from marketplace.settings import Settings, settings_of
from marketplace.web.forms import convert, errors_by_field, form_data


def _safe_next(value: str | None) -> str:
    # Only same-site paths: "//evil.example" or "https://..." would make this an open redirect.
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/account"


def _session_cookie(secret: str, settings: Settings, max_age: int) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=secret,
        httponly=True,
        secure=settings.app.secure_cookies,
        samesite="lax",
        max_age=max_age,
        path="/",
    )


def _fields(data: dict[str, Any], kind: type[msgspec.Struct]) -> dict[str, str]:
    """The form's values for the Struct's fields only (the page posts `next` beside them).

    A missing or blank optional field is left out so the Struct's default applies, as the
    page always did (an empty time zone means UTC); a missing required one is posted as "" so
    the service answers with its own message ("Tell us your name.").
    """
    values: dict[str, str] = {}
    for field in msgspec.structs.fields(kind):
        value = data.get(field.name, "")
        value = str(value[-1] if isinstance(value, list) else value)
        if value or field.required:
            values[field.name] = value
    return values


def tenant_url(kind: TenantKind | str, tenant_id: uuid.UUID) -> str:
    if kind == TenantKind.organisation:
        return f"/organisations/{tenant_id}"
    return f"/manage/bodies/{tenant_id}"


class AccountPages(Controller):
    include_in_schema = False

    @get("/login")
    async def login_form(self, next: str | None = None) -> Template:
        return Template(
            "accounts/login.html",
            context={"next": _safe_next(next), "errors": {}, "email": "", "notice": ""},
        )

    @post("/login")
    async def login(self, request: Request[Any, Any, Any]) -> Response[Any]:
        settings = settings_of(request)
        data = await form_data(request)
        email = str(data.get("email", ""))
        nxt = _safe_next(data.get("next"))
        try:
            form: TokenIn = convert(_fields(data, TokenIn), TokenIn)
            user_id = await authenticate(form.email, form.password, client_address(request))
        except DomainError as exc:
            return Template(
                "accounts/login.html",
                context={"next": nxt, "errors": {"form": exc.detail}, "email": email},
                status_code=exc.status_code,
                headers=exc.headers,
            )
        session = await start_session(user_id, settings.app.session_days)
        return Redirect(
            nxt,
            cookies=[_session_cookie(session.secret, settings, settings.app.session_days * 86400)],
        )

    @post("/logout")
    async def logout(self, request: Request[Any, Any, Any]) -> Redirect:
        settings = settings_of(request)
        secret = request.cookies.get(SESSION_COOKIE)
        if secret:
            await end_session(secret)
        return Redirect("/", cookies=[_session_cookie("", settings, 0)])

    @get("/register")
    async def register_form(self, next: str | None = None) -> Template:
        # `next` carries an invitation link (or any page that sent the visitor to sign in)
        # through registration, so a newcomer lands where they were going.
        return Template(
            "accounts/register.html",
            context={"errors": {}, "values": {}, "next": _safe_next(next)},
        )

    @post("/register")
    async def register(self, request: Request[Any, Any, Any]) -> Response[Any]:
        settings = settings_of(request)
        data = await form_data(request)
        values = {k: str(data.get(k, "")) for k in ("email", "name", "time_zone")}
        nxt = _safe_next(data.get("next"))
        try:
            form: RegisterForm = convert(_fields(data, RegisterForm), RegisterForm)
            user = await register_user(form.email, form.password, form.name, form.time_zone)
        except DomainError as exc:
            return Template(
                "accounts/register.html",
                context={"errors": errors_by_field(exc), "values": values, "next": nxt},
                status_code=exc.status_code,
            )
        session = await start_session(user.id, settings.app.session_days)
        return Redirect(
            nxt,
            cookies=[_session_cookie(session.secret, settings, settings.app.session_days * 86400)],
        )

    @get("/account", guards=[requires_login])
    async def account(self, request: Request[Any, Any, Any]) -> Template:
        return Template("accounts/account.html", context={"me": me(request), "notice": ""})

    # --- passwords: changing one when signed in, resetting a forgotten one by e-mail ----------

    @get("/account/password", guards=[requires_login])
    async def change_form(self) -> Template:
        return Template("accounts/password_change.html", context={"errors": {}})

    @post("/account/password", guards=[requires_login])
    async def change(self, request: Request[Any, Any, Any]) -> Template:
        principal = me(request)
        data = await form_data(request)
        try:
            form: PasswordChangeIn = convert(_fields(data, PasswordChangeIn), PasswordChangeIn)
            await change_password(
                principal, form.current_password, form.new_password, client_address(request)
            )
        except DomainError as exc:
            return Template(
                "accounts/password_change.html",
                context={"errors": errors_by_field(exc)},
                status_code=exc.status_code,
                headers=exc.headers,
            )
        notice = "Your password is changed. Every other session and API token is signed out."
        return Template("accounts/account.html", context={"me": principal, "notice": notice})

    @get("/password-reset")
    async def reset_form(self) -> Template:
        return Template(
            "accounts/password_reset.html", context={"errors": {}, "email": "", "sent": False}
        )

    @post("/password-reset")
    async def reset(self, request: Request[Any, Any, Any]) -> Template:
        data = await form_data(request)
        email = str(data.get("email", ""))[:254]
        if not email.strip():
            return Template(
                "accounts/password_reset.html",
                context={"errors": {"email": "Enter your e-mail address."}, "email": email},
                status_code=422,
            )
        form: PasswordResetIn = convert({"email": email}, PasswordResetIn)
        await request_password_reset(form.email)
        # The same answer for every address: whether an account exists is not told.
        return Template(
            "accounts/password_reset.html",
            context={"errors": {}, "email": email, "sent": True},
            status_code=202,
        )

    @get("/password-reset/confirm")
    async def confirm_form(self, token: str = "") -> Template:
        return Template(
            "accounts/password_reset_confirm.html",
            context={"errors": {}, "token": token[:200]},
            headers=_NO_REFERRER,
        )

    @post("/password-reset/confirm")
    async def confirm(self, request: Request[Any, Any, Any]) -> Template:
        data = await form_data(request)
        token = str(data.get("token", ""))[:200]
        try:
            form: PasswordResetConfirmIn = convert(
                {**_fields(data, PasswordResetConfirmIn), "token": token}, PasswordResetConfirmIn
            )
            await confirm_password_reset(form.token, form.new_password)
        except DomainError as exc:
            return Template(
                "accounts/password_reset_confirm.html",
                context={"errors": errors_by_field(exc), "token": token},
                status_code=exc.status_code,
                headers=_NO_REFERRER,
            )
        return Template(
            "accounts/login.html",
            context={
                "next": "/account",
                "errors": {},
                "email": "",
                "notice": "Your password is changed and every session is signed out. "
                "Sign in with the new password.",
            },
        )


# The reset page's address holds the link's secret: never send it on to another site.
_NO_REFERRER = {"Referrer-Policy": "no-referrer"}


def revoke_page(invitation: InvitationOut, tenant_name: str, back: str) -> Template:
    """Revoking asks once more (shared by organisations' and bodies' members pages)."""
    return Template(
        "accounts/invitation_revoke.html",
        context={
            "invitation": invitation,
            "tenant_name": tenant_name,
            "back": back,
            "action": f"{back}/invitations/{invitation.id}/revoke",
        },
    )


class InvitationPages(Controller):
    """The page an invitation e-mail links to: see who invites you to what, and accept."""

    path = "/invitations"
    include_in_schema = False
    # Anonymous visitors are sent to /login?next=/invitations/<token> and come back here.
    guards = [requires_login]

    async def _render(
        self,
        principal: Principal,
        token: str,
        errors: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Template:
        invitation = await members.invitation_for_token(token)
        wrong = invitation.email != principal.email
        if invitation.status == "accepted" and invitation.accepted_by != principal.user_id:
            invitation = msgspec.structs.replace(invitation, status="used")
        return Template(
            "accounts/invitation.html",
            context={
                "invitation": invitation,
                "token": token,
                "me": principal,
                "wrong_account": wrong,
                "tenant_url": tenant_url(invitation.kind, invitation.tenant_id),
                "tz": principal.time_zone,
                "errors": errors or {},
            },
            status_code=status_code if not wrong else 403,
        )

    @get("/{token:str}")
    async def view(self, request: Request[Any, Any, Any], token: str) -> Template:
        return await self._render(me(request), token)

    @post("/{token:str}")
    async def accept(self, request: Request[Any, Any, Any], token: str) -> Response[Any]:
        principal = me(request)
        try:
            joined = await members.accept_invitation(principal.user_id, principal.email, token)
        except DomainError as exc:
            if exc.status_code == 404:
                raise
            return await self._render(
                principal, token, {"form": exc.detail}, status_code=exc.status_code
            )
        return Redirect(tenant_url(joined.kind, joined.id))


class OrganisationPages(Controller):
    path = "/organisations"
    include_in_schema = False
    guards = [requires_login]

    @get("/new")
    async def new_form(self) -> Template:
        return Template(
            "accounts/organisation_new.html",
            context={"errors": {}, "values": {}, "sectors": await reference.list_iaf_sectors()},
        )

    @post("/new")
    async def create(self, request: Request[Any, Any, Any]) -> Response[Any]:
        data = await form_data(request)
        values = dict(data)
        try:
            site = {
                "name": data.get("site_name") or "Head office",
                "address": data.get("site_address", ""),
                "country": data.get("country", ""),
                "time_zone": data.get("site_time_zone") or "UTC",
                "headcount": data.get("effective_personnel") or 0,
                "central": True,
            }
            payload = convert(
                {
                    "name": data.get("name", ""),
                    "country": str(data.get("country", "")).upper(),
                    "iaf_sector": data.get("iaf_sector") or 0,
                    "effective_personnel": data.get("effective_personnel") or 0,
                    "sites": [convert({**site, "country": str(site["country"]).upper()}, SiteIn)],
                },
                OrganisationIn,
            )
            org_id = await organisations.found(me(request), payload)
        except DomainError as exc:
            return Template(
                "accounts/organisation_new.html",
                context={
                    "errors": errors_by_field(exc),
                    "values": values,
                    "sectors": await reference.list_iaf_sectors(),
                },
                status_code=exc.status_code,
            )
        return Redirect(f"/organisations/{org_id}")

    @get("/{organisation_id:uuid}")
    async def view(self, request: Request[Any, Any, Any], organisation_id: uuid.UUID) -> Template:
        return await self._render(me(request), organisation_id)

    async def _render(
        self,
        principal: Principal,
        organisation_id: uuid.UUID,
        errors: dict[str, str] | None = None,
        notice: str = "",
        status_code: int = 200,
    ) -> Template:
        """The organisation's page as the caller's role shows it (managers see invitations)."""
        role = organisations.role_in(principal, organisation_id)
        return Template(
            "accounts/organisation.html",
            context={
                "org": await organisations.organisation_out(organisation_id),
                "role": role,
                "can_manage": role in CLIENT_MANAGERS,
                "members": await members.list_members(TenantKind.organisation, organisation_id),
                "invitations": (
                    await members.list_invitations(TenantKind.organisation, organisation_id)
                    if role in CLIENT_MANAGERS
                    else []
                ),
                "revoke_base": f"/organisations/{organisation_id}/invitations",
                "tz": principal.time_zone,
                "roles": sorted(ROLES[TenantKind.organisation]),
                "errors": errors or {},
                "notice": notice,
            },
            status_code=status_code,
        )

    async def _manager_form(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID
    ) -> tuple[Principal, dict[str, Any]]:
        """The manager and their form: outsiders get 404 and other roles 403 before it is read."""
        principal = me(request)
        organisations.role_in(principal, organisation_id, CLIENT_MANAGERS)
        return principal, await form_data(request)

    async def _refused(
        self, principal: Principal, organisation_id: uuid.UUID, exc: DomainError
    ) -> Template:
        """The page again, with the refusal beside the fields it concerns."""
        return await self._render(
            principal, organisation_id, errors_by_field(exc), status_code=exc.status_code
        )

    @post("/{organisation_id:uuid}/members")
    async def add_member(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID
    ) -> Template:
        principal, data = await self._manager_form(request, organisation_id)
        try:
            form = convert(
                {"email": str(data.get("email", "")), "role": str(data.get("role", ""))}, MemberIn
            )
            invited = await organisations.invite(principal, organisation_id, form.email, form.role)
        except DomainError as exc:
            return await self._refused(principal, organisation_id, exc)
        return await self._render(principal, organisation_id, notice=invited_notice(invited.email))

    @get("/{organisation_id:uuid}/invitations/{invitation_id:uuid}/revoke")
    async def confirm_revoke(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID, invitation_id: uuid.UUID
    ) -> Template:
        invitation = await organisations.open_invitation(
            me(request), organisation_id, invitation_id
        )
        org = await organisations.get_organisation(organisation_id)
        return revoke_page(invitation, org["name"], f"/organisations/{organisation_id}")

    @post("/{organisation_id:uuid}/invitations/{invitation_id:uuid}/revoke")
    async def revoke(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID, invitation_id: uuid.UUID
    ) -> Template:
        principal = me(request)
        invitation = await organisations.open_invitation(principal, organisation_id, invitation_id)
        await organisations.revoke(principal, organisation_id, invitation_id)
        return await self._render(
            principal,
            organisation_id,
            notice=f"The invitation of {invitation.email} is revoked; its link no longer works.",
        )

    @post("/{organisation_id:uuid}/sites")
    async def add_site(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID
    ) -> Template:
        principal, data = await self._manager_form(request, organisation_id)
        try:
            site = convert(
                {
                    **data,
                    "country": str(data.get("country", "")).upper(),
                    # The macro's checkbox posts "true"; older forms (and browsers' default) post "on".
                    "central": data.get("central") in ("true", "on"),
                    "headcount": data.get("headcount") or 0,
                },
                SiteIn,
            )
            await organisations.add_site_as(principal, organisation_id, site)
        except DomainError as exc:
            return await self._refused(principal, organisation_id, exc)
        return await self._render(principal, organisation_id, notice="Site added.")

    @get("/{organisation_id:uuid}/activity")
    async def activity(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID
    ) -> Template:
        # The page shows the latest 200 entries at once, beyond the API's largest page.
        entries = await organisations.activity(me(request), organisation_id, PageParams(1, 200))
        org = await organisations.get_organisation(organisation_id)
        return Template(
            "core/activity.html",
            context={
                "tenant_name": org["name"],
                "entries": entries.items,
                "back": f"/organisations/{organisation_id}",
            },
        )
