"""Changing a password, resetting a forgotten one by e-mail, and signing a user out everywhere."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid

from marketplace.accounts import passwords
from marketplace.accounts.guards import Principal
from marketplace.accounts.sessions import digest
from marketplace.accounts.sign_in import (
    account_key,
    check_password,
    forgive_sign_in_attempt,
    reserve_sign_in_attempt,
)
from marketplace.accounts.tables import (
    ApiToken,
    LoginThrottle,
    PasswordResetToken,
    User,
    WebSession,
)
from marketplace.accounts.users import normalise_email, refuse_weak
from marketplace.core import clock
from marketplace.core.activity import log_action
from marketplace.core.db import lock_row, write_transaction
from marketplace.core.errors import BadRequest, Unauthorized

# A reset link is valid for an hour at most (OWASP Forgot Password cheat sheet: short-lived, single use).
RESET_VALID_FOR = dt.timedelta(hours=1)
# At most this many reset e-mails per account inside RESET_VALID_FOR: beyond it the request is
# answered alike (no probing) but sends nothing, so nobody can flood a person's inbox with links.
RESET_MAILS_PER_WINDOW = 3


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
    if await check_password(email, current_password) != principal.user_id:
        raise Unauthorized("Your current password is not right.", code="bad_credentials")
    await forgive_sign_in_attempt(email, client_address)
    refuse_weak("new_password", new_password, email)
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
                token_hash=digest(secret),
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
    token_hash = digest(token)
    now = clock.now()
    live = (
        (PasswordResetToken.token_hash == token_hash)
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
    refuse_weak("new_password", new_password, email)  # a weak choice leaves the link usable
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
        await LoginThrottle.delete().where(LoginThrottle.key == account_key(email)).run()
        await log_action(
            "marketplace.account.password_reset",
            actor_id=user_id,
            entity_type="user",
            entity_id=user_id,
        )
    return user_id
