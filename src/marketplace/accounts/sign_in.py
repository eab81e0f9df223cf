"""Signing in: credentials checked, with attempts throttled per account and per client address."""

from __future__ import annotations

import uuid
from typing import Any

from marketplace.accounts import passwords, throttle
from marketplace.accounts.tables import LoginThrottle, User
from marketplace.accounts.users import normalise_email
from marketplace.core import clock
from marketplace.core.db import is_postgres, write_transaction
from marketplace.core.errors import Throttled, Unauthorized


def account_key(email: str) -> str:
    """The throttle row of an account (also cleared when its password is reset)."""
    return f"account:{email}"[:300]


def _address_key(client_address: str) -> str:
    return f"address:{client_address}"[:300]


def _throttle_keys(email: str, client_address: str | None) -> list[tuple[str, throttle.Limit]]:
    keys = [(account_key(email), throttle.ACCOUNT)]
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
        key = account_key(normalise_email(email))
        await LoginThrottle.delete().where(LoginThrottle.key == key).run()
        if client_address:
            address = _address_key(client_address)
            rows = await _locked_throttle_rows([address])
            await _save_throttle(
                address, throttle.refund(throttle.ADDRESS, _state(rows.get(address)))
            )


async def check_password(email: str, password: str) -> uuid.UUID | None:
    """The active account's id when the password is right; an unknown address costs the same."""
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
    user_id = await check_password(email, password)
    if user_id is None:
        raise Unauthorized("Wrong e-mail address or password.", code="bad_credentials")
    await forgive_sign_in_attempt(email, client_address)
    return user_id
