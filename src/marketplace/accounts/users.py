"""Accounts: e-mail addresses and time zones checked, registration, platform administrators."""

from __future__ import annotations

import unicodedata
import uuid
import zoneinfo

from marketplace.accounts import passwords
from marketplace.accounts.schemas import UserOut
from marketplace.accounts.tables import User
from marketplace.core.activity import log_action
from marketplace.core.db import write_transaction
from marketplace.core.errors import Conflict, Invalid


def normalise_email(email: str) -> str:
    return unicodedata.normalize("NFKC", email).strip().lower()


def check_time_zone(name: str, field: str = "time_zone") -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise Invalid.field(
            field, f"{name!r} is not an IANA time zone such as Europe/London."
        ) from exc
    return name


async def register_user(email: str, password: str, name: str, time_zone: str = "UTC") -> UserOut:
    """Create an account. Invitations to the address stay invitations until accepted explicitly."""
    email = normalise_email(email)
    refuse_weak("password", password, email)
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
    return UserOut(id=user.id, email=user.email, name=user.name)


def refuse_weak(field: str, password: str, email: str) -> None:
    """A 422 on `field` when the password breaks the policy (passwords.password_problem)."""
    problem = passwords.password_problem(password, email)
    if problem:
        raise Invalid.field(field, problem, code="weak_password")


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
        user_id = created.id
        await User.update({User.is_platform_admin: True}).where(User.id == user_id).run()
    await log_action(
        "marketplace.account.promoted", actor_id=None, entity_type="user", entity_id=user_id
    )
    return user_id
