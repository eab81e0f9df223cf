"""Web sessions and API tokens: issuing and ending them, and the principal each one stands for."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from dataclasses import dataclass

from marketplace.accounts.guards import MembershipRef, Principal
from marketplace.accounts.roles import TenantKind
from marketplace.accounts.tables import ApiToken, Membership, User, WebSession
from marketplace.core import clock


def digest(token: str) -> str:
    """What is stored of a secret (session, token, link): its SHA-256, never the secret."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedSecret:
    id: uuid.UUID
    secret: str
    expires_at: dt.datetime


async def issue_api_token(user_id: uuid.UUID, days: int) -> IssuedSecret:
    secret = "mpt_" + secrets.token_urlsafe(32)
    expires = clock.now() + dt.timedelta(days=days)
    token = ApiToken(
        user=user_id, token_hash=digest(secret), expires_at=expires, created_at=clock.now()
    )
    await token.save().run()
    return IssuedSecret(token.id, secret, expires)


async def revoke_api_token(token_id: uuid.UUID) -> None:
    await ApiToken.update({ApiToken.revoked_at: clock.now()}).where(ApiToken.id == token_id).run()


async def start_session(user_id: uuid.UUID, days: int) -> IssuedSecret:
    secret = secrets.token_urlsafe(32)
    expires = clock.now() + dt.timedelta(days=days)
    session = WebSession(
        user=user_id, token_hash=digest(secret), expires_at=expires, created_at=clock.now()
    )
    await session.save().run()
    return IssuedSecret(session.id, secret, expires)


async def end_session(secret: str) -> None:
    await WebSession.delete().where(WebSession.token_hash == digest(secret)).run()


async def principal_for_token(secret: str) -> Principal | None:
    rows = (
        await ApiToken.select(ApiToken.id, ApiToken.user)
        .where(
            (ApiToken.token_hash == digest(secret))
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
        .where((WebSession.token_hash == digest(secret)) & (WebSession.expires_at > clock.now()))
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
