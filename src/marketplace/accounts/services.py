"""Account services: registration, sign-in with throttling, passwords, sessions and API tokens, tenants and members."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import unicodedata
import uuid
import zoneinfo
from dataclasses import dataclass
from typing import Any

from marketplace.accounts import passwords, throttle
from marketplace.accounts.guards import MembershipRef, Principal
from marketplace.accounts.roles import ROLES, TenantKind
from marketplace.accounts.tables import (
    ApiToken,
    CertificationBody,
    Invitation,
    LoginThrottle,
    Membership,
    Organisation,
    PasswordResetToken,
    Site,
    User,
    WebSession,
)
from marketplace.core import clock
from marketplace.core.activity import Tenant, log_action
from marketplace.core.db import is_postgres, lock_row, write_transaction
from marketplace.core.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    Throttled,
    Unauthorized,
)
from marketplace.reference.tables import IafSector

# A reset link is valid for an hour at most (OWASP Forgot Password cheat sheet: short-lived, single use).
RESET_VALID_FOR = dt.timedelta(hours=1)
# At most this many reset e-mails per account inside RESET_VALID_FOR: beyond it the request is
# answered alike (no probing) but sends nothing, so nobody can flood a person's inbox with links.
RESET_MAILS_PER_WINDOW = 3


def normalise_email(email: str) -> str:
    return unicodedata.normalize("NFKC", email).strip().lower()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_time_zone(name: str, field: str = "time_zone") -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise Invalid.field(
            field, f"{name!r} is not an IANA time zone such as Europe/London."
        ) from exc
    return name


async def register_user(
    email: str, password: str, name: str, time_zone: str = "UTC"
) -> dict[str, Any]:
    """Create an account. Invitations to the address stay invitations until accepted explicitly."""
    email = normalise_email(email)
    _weak("password", password, email)
    if not name.strip():
        raise Invalid.field("name", "Tell us your name.")
    check_time_zone(time_zone)
    password_hash = passwords.hash_password(password)
    async with write_transaction():
        if await User.exists().where(User.email == email).run():
            raise Conflict(
                "An account with this e-mail address already exists.", code="email_taken"
            )
        user = User(
            email=email, password_hash=password_hash, name=name.strip(), time_zone=time_zone
        )
        await user.save().run()
        await log_action(
            "marketplace.account.created", actor_id=user.id, entity_type="user", entity_id=user.id
        )
    return {"id": user.id, "email": user.email, "name": user.name}


def _account_key(email: str) -> str:
    return f"account:{email}"[:300]


def _address_key(client_address: str) -> str:
    return f"address:{client_address}"[:300]


def _throttle_keys(email: str, client_address: str | None) -> list[tuple[str, throttle.Limit]]:
    keys = [(_account_key(email), throttle.ACCOUNT)]
    if client_address:
        keys.append((_address_key(client_address), throttle.ADDRESS))
    return keys


def _state(row: dict[str, Any] | None) -> throttle.State:
    if row is None:
        return throttle.State()
    return throttle.State(row["attempts"], row["last_attempt_at"], row["blocked_until"])


async def _locked_throttle_rows(keys: list[str]) -> dict[str, dict[str, Any]]:
    """Inside write_transaction: the keys' rows, created when missing and locked until commit.

    PostgreSQL: `SELECT ... FOR UPDATE` queues concurrent attempts on the same key (in any app
    process); SQLite's IMMEDIATE transaction already admits one writer at a time.
    """
    await (
        LoginThrottle.insert(*(LoginThrottle(key=k) for k in keys))
        .on_conflict(target=LoginThrottle.key, action="DO NOTHING")
        .run()
    )
    query = LoginThrottle.select().where(LoginThrottle.key.is_in(keys))
    if is_postgres():
        query = query.lock_rows("UPDATE")
    return {r["key"]: r for r in await query.run()}


async def _save_throttle(key: str, state: throttle.State) -> None:
    await (
        LoginThrottle.update(
            {
                LoginThrottle.attempts: state.attempts,
                LoginThrottle.last_attempt_at: state.last_attempt_at,
                LoginThrottle.blocked_until: state.blocked_until,
            }
        )
        .where(LoginThrottle.key == key)
        .run()
    )


async def reserve_sign_in_attempt(email: str, client_address: str | None) -> None:
    """Count a sign-in attempt for the account and the client address before the password is checked.

    Counting first (under a row lock) means guesses sent at once are judged one after another:
    after the free attempts every further one, the right password too, answers 429 with
    Retry-After until the delay has passed (NIST SP 800-63B 5.2.2, OWASP ASVS 5.0 V6.3).
    Refused attempts are not counted, so the delay does not grow while it is being waited out.
    """
    keys = sorted(_throttle_keys(normalise_email(email), client_address))  # one lock order
    now = clock.now()
    async with write_transaction():
        rows = await _locked_throttle_rows([k for k, _ in keys])
        decisions = [
            (key, throttle.reserve(limit, _state(rows.get(key)), now)) for key, limit in keys
        ]
        refused = [d.wait for _, d in decisions if not d.allowed]
        if not refused:
            for key, decision in decisions:
                await _save_throttle(key, decision.state)
    if refused:
        seconds = throttle.seconds(max(refused))
        raise Throttled(
            f"Too many failed sign-ins. Try again in {seconds} seconds.",
            code="throttled",
            headers={"Retry-After": str(seconds)},
        )


async def forgive_sign_in_attempt(email: str, client_address: str | None) -> None:
    """After a success: the account's count starts afresh; the address gets back this attempt only
    (so one valid account cannot wash away the address's failures on others)."""
    async with write_transaction():
        account_key = _account_key(normalise_email(email))
        await LoginThrottle.delete().where(LoginThrottle.key == account_key).run()
        if client_address:
            key = _address_key(client_address)
            rows = await _locked_throttle_rows([key])
            await _save_throttle(key, throttle.refund(throttle.ADDRESS, _state(rows.get(key))))


async def _check_password(email: str, password: str) -> uuid.UUID | None:
    rows = (
        await User.select(User.id, User.password_hash, User.is_active)
        .where(User.email == email)
        .run()
    )
    if not rows:
        passwords.verify_password(passwords.DUMMY_HASH, password)
        return None
    if rows[0]["is_active"] and passwords.verify_password(rows[0]["password_hash"], password):
        user_id: uuid.UUID = rows[0]["id"]
        return user_id
    return None


async def authenticate(email: str, password: str, client_address: str | None = None) -> uuid.UUID:
    """Check credentials; repeated failures per account and per client address answer 429 (see
    reserve_sign_in_attempt), also when the guesses arrive at once."""
    email = normalise_email(email)
    await reserve_sign_in_attempt(email, client_address)
    user_id = await _check_password(email, password)
    if user_id is None:
        raise Unauthorized("Wrong e-mail address or password.", code="bad_credentials")
    await forgive_sign_in_attempt(email, client_address)
    return user_id


# --- passwords -------------------------------------------------------------------------------


def _weak(field: str, password: str, email: str) -> None:
    problem = passwords.password_problem(password, email)
    if problem:
        raise Invalid.field(field, problem, code="weak_password")


async def _revoke_credentials(
    user_id: uuid.UUID,
    keep_token_id: uuid.UUID | None = None,
    keep_session_id: uuid.UUID | None = None,
) -> None:
    """Sign the user out everywhere except the given token or session; unused reset links die too."""
    now = clock.now()
    tokens = ApiToken.update({ApiToken.revoked_at: now}).where(
        (ApiToken.user == user_id) & ApiToken.revoked_at.is_null()
    )
    if keep_token_id is not None:
        tokens = tokens.where(ApiToken.id != keep_token_id)
    await tokens.run()
    sessions = WebSession.delete().where(WebSession.user == user_id)
    if keep_session_id is not None:
        sessions = sessions.where(WebSession.id != keep_session_id)
    await sessions.run()
    await (
        PasswordResetToken.update({PasswordResetToken.used_at: now})
        .where((PasswordResetToken.user == user_id) & PasswordResetToken.used_at.is_null())
        .run()
    )


async def change_password(
    principal: Principal,
    current_password: str,
    new_password: str,
    client_address: str | None = None,
) -> None:
    """Change the caller's password: the current one is required (throttled like a sign-in, so a
    stolen session cannot guess it), and every other session and token is revoked (OWASP ASVS 5.0
    V6.2.3, V7.4.3); the session or token making the change stays signed in."""
    email = principal.email
    await reserve_sign_in_attempt(email, client_address)
    if await _check_password(email, current_password) != principal.user_id:
        raise Unauthorized("Your current password is not right.", code="bad_credentials")
    await forgive_sign_in_attempt(email, client_address)
    _weak("new_password", new_password, email)
    password_hash = passwords.hash_password(new_password)
    async with write_transaction():
        await (
            User.update({User.password_hash: password_hash})
            .where(User.id == principal.user_id)
            .run()
        )
        await _revoke_credentials(principal.user_id, principal.token_id, principal.session_id)
        await log_action(
            "marketplace.account.password_changed",
            actor_id=principal.user_id,
            entity_type="user",
            entity_id=principal.user_id,
        )


async def request_password_reset(email: str) -> None:
    """E-mail a single-use reset link valid for RESET_VALID_FOR to an active account's address.

    The caller answers the same whether or not the address is known (no account probing,
    OWASP Forgot Password cheat sheet); only the link's SHA-256 is stored.
    """
    email = normalise_email(email)
    secret = "mpr_" + secrets.token_urlsafe(32)
    now = clock.now()
    async with write_transaction():
        rows = (
            await User.select(User.id)
            .where((User.email == email) & (User.is_active == True))  # noqa: E712
            .run()
        )
        if not rows:
            return
        user_id: uuid.UUID = rows[0]["id"]
        # Concurrent requests for one account queue here, so the cap below counts them all.
        await lock_row(User, user_id)
        recent = (
            await PasswordResetToken.count()
            .where(
                (PasswordResetToken.user == user_id)
                & (PasswordResetToken.created_at > now - RESET_VALID_FOR)
            )
            .run()
        )
        if recent >= RESET_MAILS_PER_WINDOW:
            return
        await PasswordResetToken.insert(
            PasswordResetToken(
                user=user_id,
                token_hash=_digest(secret),
                created_at=now,
                expires_at=now + RESET_VALID_FOR,
            )
        ).run()
        await log_action(
            "marketplace.account.password_reset_requested",
            actor_id=None,
            entity_type="user",
            entity_id=user_id,
            # The link's secret reaches the e-mail's listener but never the activity log.
            private={"path": f"/password-reset/confirm?token={secret}"},
        )


_BAD_RESET = "This reset link is used, expired or unknown. Ask for a new one."


async def confirm_password_reset(token: str, new_password: str) -> uuid.UUID:
    """Set a new password with a reset link: the link is used up atomically (two confirms at once
    cannot both succeed), and every session and token of the account is revoked."""
    digest = _digest(token)
    now = clock.now()
    live = (
        (PasswordResetToken.token_hash == digest)
        & PasswordResetToken.used_at.is_null()
        & (PasswordResetToken.expires_at > now)
    )
    rows = (
        await PasswordResetToken.select(
            PasswordResetToken.user, PasswordResetToken.user.email.as_alias("email")
        )
        .where(live)
        .run()
    )
    if not rows:
        raise BadRequest(_BAD_RESET, code="invalid_reset_token")
    user_id: uuid.UUID = rows[0]["user"]
    email: str = rows[0]["email"]
    _weak("new_password", new_password, email)  # a weak choice leaves the link usable
    password_hash = passwords.hash_password(new_password)
    async with write_transaction():
        used = (
            await PasswordResetToken.update({PasswordResetToken.used_at: now})
            .where(live)
            .returning(PasswordResetToken.id)
            .run()
        )
        if not used:
            raise BadRequest(_BAD_RESET, code="invalid_reset_token")
        await User.update({User.password_hash: password_hash}).where(User.id == user_id).run()
        await _revoke_credentials(user_id)
        # Whoever holds the mailbox holds the account: the account's sign-in count starts afresh.
        await LoginThrottle.delete().where(LoginThrottle.key == _account_key(email)).run()
        await log_action(
            "marketplace.account.password_reset",
            actor_id=user_id,
            entity_type="user",
            entity_id=user_id,
        )
    return user_id


@dataclass(frozen=True)
class IssuedSecret:
    id: uuid.UUID
    secret: str
    expires_at: dt.datetime


async def issue_api_token(user_id: uuid.UUID, days: int) -> IssuedSecret:
    secret = "mpt_" + secrets.token_urlsafe(32)
    expires = clock.now() + dt.timedelta(days=days)
    token = ApiToken(
        user=user_id, token_hash=_digest(secret), expires_at=expires, created_at=clock.now()
    )
    await token.save().run()
    return IssuedSecret(token.id, secret, expires)


async def revoke_api_token(token_id: uuid.UUID) -> None:
    await ApiToken.update({ApiToken.revoked_at: clock.now()}).where(ApiToken.id == token_id).run()


async def start_session(user_id: uuid.UUID, days: int) -> IssuedSecret:
    secret = secrets.token_urlsafe(32)
    expires = clock.now() + dt.timedelta(days=days)
    session = WebSession(
        user=user_id, token_hash=_digest(secret), expires_at=expires, created_at=clock.now()
    )
    await session.save().run()
    return IssuedSecret(session.id, secret, expires)


async def end_session(secret: str) -> None:
    await WebSession.delete().where(WebSession.token_hash == _digest(secret)).run()


async def principal_for_token(secret: str) -> Principal | None:
    rows = (
        await ApiToken.select(ApiToken.id, ApiToken.user)
        .where(
            (ApiToken.token_hash == _digest(secret))
            & ApiToken.revoked_at.is_null()
            & (ApiToken.expires_at > clock.now())
        )
        .run()
    )
    if not rows:
        return None
    return await load_principal(rows[0]["user"], token_id=rows[0]["id"])


async def principal_for_session(secret: str) -> Principal | None:
    rows = (
        await WebSession.select(WebSession.id, WebSession.user)
        .where((WebSession.token_hash == _digest(secret)) & (WebSession.expires_at > clock.now()))
        .run()
    )
    if not rows:
        return None
    return await load_principal(rows[0]["user"], session_id=rows[0]["id"])


async def load_principal(
    user_id: uuid.UUID, token_id: uuid.UUID | None = None, session_id: uuid.UUID | None = None
) -> Principal | None:
    users = await User.select().where((User.id == user_id) & (User.is_active == True)).run()  # noqa: E712
    if not users:
        return None
    u = users[0]
    rows = (
        await Membership.select(
            Membership.organisation,
            Membership.body,
            Membership.role,
            Membership.organisation.name.as_alias("org_name"),
            Membership.body.name.as_alias("body_name"),
        )
        .where(Membership.user == user_id)
        .run()
    )
    memberships = tuple(
        MembershipRef(TenantKind.organisation, r["organisation"], r["role"], r["org_name"] or "")
        if r["organisation"]
        else MembershipRef(TenantKind.body, r["body"], r["role"], r["body_name"] or "")
        for r in rows
    )
    return Principal(
        user_id=u["id"],
        email=u["email"],
        name=u["name"],
        time_zone=u["time_zone"],
        is_platform_admin=u["is_platform_admin"],
        memberships=memberships,
        token_id=token_id,
        session_id=session_id,
    )


# --- organisations -------------------------------------------------------------------------


async def create_organisation(actor_id: uuid.UUID, data: dict[str, Any]) -> uuid.UUID:
    """Create a client organisation with its sites; the creator becomes its owner."""
    if not await IafSector.exists().where(IafSector.code == data["iaf_sector"]).run():
        raise Invalid.field("iaf_sector", "Unknown IAF sector; use a code from 1 to 39.")
    sites = data.get("sites") or []
    for i, site in enumerate(sites):
        check_time_zone(site.get("time_zone", "UTC"), f"sites[{i}].time_zone")
    if sum(1 for s in sites if s.get("central")) > 1:
        raise Invalid.field("sites", "Only one site can be the central function.")
    async with write_transaction():
        org = Organisation(
            name=data["name"].strip(),
            country=data["country"],
            iaf_sector=data["iaf_sector"],
            effective_personnel=data["effective_personnel"],
        )
        await org.save().run()
        for site in sites:
            await Site.insert(Site(organisation=org.id, **site)).run()
        await Membership.insert(Membership(user=actor_id, organisation=org.id, role="owner")).run()
        await log_action(
            "marketplace.organisation.created",
            actor_id=actor_id,
            entity_type="organisation",
            entity_id=org.id,
            tenant=Tenant("organisation", org.id),
            data={"name": org.name, "sites": len(sites)},
        )
    return org.id


async def add_site(
    actor_id: uuid.UUID, organisation_id: uuid.UUID, site: dict[str, Any]
) -> uuid.UUID:
    check_time_zone(site.get("time_zone", "UTC"))
    async with write_transaction():
        if (
            site.get("central")
            and await Site.exists()
            .where(
                (Site.organisation == organisation_id) & (Site.central == True)  # noqa: E712
            )
            .run()
        ):
            raise Invalid.field("central", "This organisation already has a central function site.")
        row = Site(organisation=organisation_id, **site)
        await row.save().run()
        await log_action(
            "marketplace.site.created",
            actor_id=actor_id,
            entity_type="site",
            entity_id=row.id,
            tenant=Tenant("organisation", organisation_id),
            data={"name": row.name},
        )
    return row.id


async def get_organisation(organisation_id: uuid.UUID) -> dict[str, Any]:
    rows = await Organisation.select().where(Organisation.id == organisation_id).run()
    if not rows:
        raise NotFound("No such organisation.")
    org: dict[str, Any] = rows[0]
    org["sites"] = (
        await Site.select().where(Site.organisation == organisation_id).order_by(Site.name).run()
    )
    return org


# --- members ---------------------------------------------------------------------------------


INVITATION_LIFETIME = dt.timedelta(days=7)


def _tenant_columns(kind: TenantKind) -> tuple[Any, Any]:
    if kind is TenantKind.organisation:
        return Membership.organisation, Invitation.organisation
    return Membership.body, Invitation.body


def _pending() -> Any:
    return Invitation.accepted_at.is_null() & Invitation.revoked_at.is_null()


async def invite_member(
    actor_id: uuid.UUID, kind: TenantKind, tenant_id: uuid.UUID, email: str, role: str
) -> dict[str, Any]:
    """Invite an address to the tenant: it receives a single-use link and joins only by accepting.

    The answer is the same for every address (a new one, an existing account, a member already),
    so inviting cannot be used to find out who has an account. Nobody becomes a member without
    their consent. Inviting an address again while its invitation is pending renews that one
    invitation (new link, new expiry, the role now chosen) instead of adding a second.
    """
    if role not in ROLES[kind]:
        raise Invalid.field("role", f"Choose one of: {', '.join(sorted(ROLES[kind]))}.")
    email = normalise_email(email)
    member_col, invitation_col = _tenant_columns(kind)
    tenant = Tenant(kind.value, tenant_id)
    answer = {"status": "invited", "email": email, "role": role}
    async with write_transaction():
        # Invitations to one tenant queue behind each other here (PostgreSQL row lock; SQLite's
        # IMMEDIATE transaction), so simultaneous invitations of one address renew one row; the
        # partial unique index on pending (tenant, email) is the last word.
        await lock_row(
            Organisation if kind is TenantKind.organisation else CertificationBody, tenant_id
        )
        if (
            await Membership.exists()
            .where((Membership.user.email == email) & (member_col == tenant_id))
            .run()
        ):
            # Already a member: nothing to send, and the same answer as for anyone else.
            return answer
        token = secrets.token_urlsafe(32)
        expires_at = clock.now() + INVITATION_LIFETIME
        pending = (
            await Invitation.select(Invitation.id)
            .where((invitation_col == tenant_id) & (Invitation.email == email) & _pending())
            .first()
            .run()
        )
        if pending:
            invitation_id: uuid.UUID = pending["id"]
            await (
                Invitation.update(
                    {
                        Invitation.token_hash: _digest(token),
                        Invitation.expires_at: expires_at,
                        Invitation.role: role,
                        Invitation.invited_by: actor_id,
                    }
                )
                .where(Invitation.id == invitation_id)
                .run()
            )
        else:
            inv = Invitation(
                email=email,
                organisation=tenant_id if kind is TenantKind.organisation else None,
                body=tenant_id if kind is TenantKind.body else None,
                role=role,
                invited_by=actor_id,
                created_at=clock.now(),
                token_hash=_digest(token),
                expires_at=expires_at,
            )
            await inv.save().run()
            invitation_id = inv.id
        await log_action(
            "marketplace.invitation.created",
            actor_id=actor_id,
            entity_type="invitation",
            entity_id=invitation_id,
            tenant=tenant,
            data={"role": role, "email": email, "renewed": bool(pending)},
            # The link's secret goes to the e-mail (notifications listen), never into the log.
            private={"token": token, "valid_days": INVITATION_LIFETIME.days},
        )
    return answer


async def list_members(kind: TenantKind, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    tenant_col = Membership.organisation if kind is TenantKind.organisation else Membership.body
    members: list[dict[str, Any]] = (
        await Membership.select(
            Membership.id,
            Membership.role,
            Membership.user.email.as_alias("email"),
            Membership.user.name.as_alias("name"),
            Membership.user.id.as_alias("user_id"),
        )
        .where(tenant_col == tenant_id)
        .order_by(Membership.created_at)
        .run()
    )
    return members


def _invitation_state(row: dict[str, Any]) -> str:
    if row["accepted_at"] is not None:
        return "accepted"
    if row["revoked_at"] is not None:
        return "revoked"
    if row["token_hash"] is None or row["expires_at"] is None or row["expires_at"] <= clock.now():
        return "expired"
    return "pending"


async def list_invitations(kind: TenantKind, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    """The tenant's open invitations (pending or expired, not yet accepted or revoked)."""
    _, invitation_col = _tenant_columns(kind)
    rows = (
        await Invitation.select(
            Invitation.id,
            Invitation.email,
            Invitation.role,
            Invitation.created_at,
            Invitation.expires_at,
            Invitation.accepted_at,
            Invitation.revoked_at,
            Invitation.token_hash,
            Invitation.invited_by.name.as_alias("invited_by_name"),
        )
        .where((invitation_col == tenant_id) & _pending())
        .order_by(Invitation.created_at)
        .run()
    )
    out: list[dict[str, Any]] = []
    for r in rows:
        state = _invitation_state(r)
        r.pop("token_hash")
        r.pop("accepted_at")
        r.pop("revoked_at")
        out.append({**r, "status": state, "invited_by_name": r["invited_by_name"] or ""})
    return out


async def get_invitation(
    kind: TenantKind, tenant_id: uuid.UUID, invitation_id: uuid.UUID
) -> dict[str, Any]:
    """One open invitation of the tenant (another tenant's, or a closed one, is not found)."""
    for row in await list_invitations(kind, tenant_id):
        if row["id"] == invitation_id:
            return row
    raise NotFound("No such invitation.")


async def revoke_invitation(
    actor_id: uuid.UUID, kind: TenantKind, tenant_id: uuid.UUID, invitation_id: uuid.UUID
) -> None:
    """Withdraw a pending invitation: its link stops working at once."""
    _, invitation_col = _tenant_columns(kind)
    async with write_transaction():
        # One conditional UPDATE: a revoke racing an accept leaves exactly one of them done.
        done = (
            await Invitation.update({Invitation.revoked_at: clock.now()})
            .where((Invitation.id == invitation_id) & (invitation_col == tenant_id) & _pending())
            .returning(Invitation.email, Invitation.role)
            .run()
        )
        if not done:
            raise NotFound("No such invitation (it may have been accepted or revoked already).")
        await log_action(
            "marketplace.invitation.revoked",
            actor_id=actor_id,
            entity_type="invitation",
            entity_id=invitation_id,
            tenant=Tenant(kind.value, tenant_id),
            data={"email": done[0]["email"], "role": done[0]["role"]},
        )


async def invitation_for_token(token: str) -> dict[str, Any]:
    """What an invitation link offers: who invites which address to which tenant, and its state."""
    rows = (
        await Invitation.select(
            Invitation.id,
            Invitation.email,
            Invitation.role,
            Invitation.organisation,
            Invitation.body,
            Invitation.expires_at,
            Invitation.accepted_at,
            Invitation.accepted_by,
            Invitation.revoked_at,
            Invitation.token_hash,
            Invitation.organisation.name.as_alias("org_name"),
            Invitation.body.name.as_alias("body_name"),
            Invitation.invited_by.name.as_alias("inviter"),
        )
        .where(Invitation.token_hash == _digest(token))
        .run()
    )
    if not token or not rows:
        raise NotFound("This invitation link is not valid. Ask for a new invitation.")
    r = rows[0]
    kind = TenantKind.organisation if r["organisation"] else TenantKind.body
    return {
        "id": r["id"],
        "email": r["email"],
        "role": r["role"],
        "kind": kind,
        "tenant_id": r["organisation"] or r["body"],
        "tenant_name": (r["org_name"] if r["organisation"] else r["body_name"]) or "",
        "inviter": r["inviter"] or "",
        "expires_at": r["expires_at"],
        "accepted_by": r["accepted_by"],
        "status": _invitation_state(r),
    }


def _check_acceptable(invitation: dict[str, Any], user_id: uuid.UUID, email: str) -> None:
    if invitation["email"] != normalise_email(email):
        # Said to the holder of the link only; the invited address is not repeated.
        raise Forbidden(
            "This invitation was sent to another e-mail address than the one you are signed in "
            "with. Sign in with the invited address to accept it.",
            code="wrong_account",
        )
    status = invitation["status"]
    if status == "accepted" and invitation["accepted_by"] != user_id:
        raise Conflict("This invitation has already been used.", code="invitation_used")
    if status == "revoked":
        raise Conflict("This invitation was withdrawn.", code="invitation_revoked")
    if status == "expired":
        raise Conflict("This invitation has expired. Ask for a new one.", code="invitation_expired")


async def accept_invitation(user_id: uuid.UUID, email: str, token: str) -> dict[str, Any]:
    """Accept an invitation link, signed in with the invited address: the membership starts now.

    Single use: one conditional UPDATE claims the invitation, so two simultaneous accepts make one
    membership; accepting again as the same person answers the same membership.
    """
    invitation = await invitation_for_token(token)
    _check_acceptable(invitation, user_id, email)
    kind: TenantKind = invitation["kind"]
    tenant_id: uuid.UUID = invitation["tenant_id"]
    member_col, _ = _tenant_columns(kind)
    answer = {
        "kind": kind.value,
        "id": tenant_id,
        "role": invitation["role"],
        "name": invitation["tenant_name"],
    }
    if invitation["status"] == "accepted":
        return answer
    now = clock.now()
    async with write_transaction():
        claimed = (
            await Invitation.update({Invitation.accepted_at: now, Invitation.accepted_by: user_id})
            .where(
                (Invitation.id == invitation["id"])
                & (Invitation.email == invitation["email"])
                & _pending()
                & (Invitation.expires_at > now)
            )
            .returning(Invitation.id)
            .run()
        )
        if not claimed:
            # Someone else's request changed it since we read it: answer for its state now.
            latest = await invitation_for_token(token)
            _check_acceptable(latest, user_id, email)
            return answer
        existing = (
            await Membership.select(Membership.role)
            .where((Membership.user == user_id) & (member_col == tenant_id))
            .first()
            .run()
        )
        if existing:
            answer["role"] = existing["role"]
        else:
            await Membership.insert(
                Membership(
                    user=user_id,
                    organisation=tenant_id if kind is TenantKind.organisation else None,
                    body=tenant_id if kind is TenantKind.body else None,
                    role=invitation["role"],
                )
            ).run()
        tenant = Tenant(kind.value, tenant_id)
        await log_action(
            "marketplace.invitation.accepted",
            actor_id=user_id,
            entity_type="invitation",
            entity_id=invitation["id"],
            tenant=tenant,
            data={"email": invitation["email"], "role": invitation["role"]},
        )
        if not existing:
            await log_action(
                "marketplace.membership.created",
                actor_id=user_id,
                entity_type="user",
                entity_id=user_id,
                tenant=tenant,
                data={"role": invitation["role"], "via": "invitation"},
            )
    return answer


async def make_platform_admin(
    email: str, password: str | None, name: str = "Platform administrator"
) -> uuid.UUID:
    """Create a platform administrator, or promote an existing account."""
    email = normalise_email(email)
    rows = await User.select(User.id).where(User.email == email).run()
    if rows:
        await User.update({User.is_platform_admin: True}).where(User.id == rows[0]["id"]).run()
        user_id: uuid.UUID = rows[0]["id"]
    else:
        if password is None:
            raise Invalid.field("password", "A new administrator needs a password.")
        created = await register_user(email, password, name)
        user_id = created["id"]
        await User.update({User.is_platform_admin: True}).where(User.id == user_id).run()
    await log_action(
        "marketplace.account.promoted", actor_id=None, entity_type="user", entity_id=user_id
    )
    return user_id


# --- certification bodies as tenants ------------------------------------------------------------

_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return _SLUG.sub("-", ascii_name.lower()).strip("-")[:100] or "body"


async def unique_slug(name: str) -> str:
    base = slugify(name)
    slug, n = base, 1
    while await CertificationBody.exists().where(CertificationBody.slug == slug).run():
        n += 1
        slug = f"{base}-{n}"
    return slug


async def create_body_tenant(actor_id: uuid.UUID, fields: dict[str, Any]) -> uuid.UUID:
    """Create a certification body (inside the caller's transaction); the creator becomes its owner."""
    body = CertificationBody(slug=await unique_slug(fields["name"]), **fields)
    await body.save().run()
    await Membership.insert(Membership(user=actor_id, body=body.id, role="owner")).run()
    await log_action(
        "marketplace.body.created",
        actor_id=actor_id,
        entity_type="body",
        entity_id=body.id,
        tenant=Tenant("body", body.id),
        data={"name": body.name},
    )
    return body.id
