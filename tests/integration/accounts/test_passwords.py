"""Changing and resetting a password over the API and the pages: revocation, single-use links, weak choices."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import re
from email.message import EmailMessage
from typing import Any

import httpx
import pytest

from marketplace.accounts.sessions import start_session
from marketplace.core import clock
from marketplace.notifications.tables import OutboxMessage
from marketplace.notifications.worker import Worker
from marketplace.settings import Settings
from tests.factories import PASSWORD, World, csrf_from

NEW = "a brand new passphrase"
BLANK = [" " * 12, "\t" * 10, "\u200b" * 12, "\u00a0 \u3000\ufeff" * 3]


async def _token(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/api/v1/auth/token", json={"email": email, "password": password})


async def _bearer(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD
) -> dict[str, str]:
    r = await _token(client, email, password)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


async def test_change_password_revokes_every_other_session_and_token(
    client: httpx.AsyncClient, world: World
) -> None:
    actor = world.actor("a", "org:owner")
    mine = await _bearer(client, actor.email)
    other = actor.headers  # another token of the same user
    browser = await start_session(actor.user_id, 1)
    r = await client.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": NEW},
        headers=mine,
    )
    assert r.status_code == 204, r.text
    assert (await client.get("/api/v1/me", headers=mine)).status_code == 200, "the caller's stays"
    assert (await client.get("/api/v1/me", headers=other)).status_code == 401
    client.cookies.set("mp_session", browser.secret)
    assert (await client.get("/account")).status_code == 302, "the browser session is signed out"
    assert (await _token(client, actor.email, PASSWORD)).status_code == 401
    assert (await _token(client, actor.email, NEW)).status_code == 200


async def test_change_password_needs_the_current_one_and_a_strong_new_one(
    client: httpx.AsyncClient, world: World
) -> None:
    actor = world.actor("a", "org:owner")
    r = await client.post(
        "/api/v1/me/password",
        json={"current_password": "not my password", "new_password": NEW},
        headers=actor.headers,
    )
    assert r.status_code == 401
    for weak in [*BLANK, "password123", "short"]:
        r = await client.post(
            "/api/v1/me/password",
            json={"current_password": PASSWORD, "new_password": weak},
            headers=actor.headers,
        )
        assert r.status_code == 422, repr(weak)
        assert r.json()["errors"][0]["field"] == "new_password"
    assert (await client.get("/api/v1/me", headers=actor.headers)).status_code == 200
    assert (await client.post("/api/v1/me/password", json={})).status_code in {400, 401}


async def test_guessing_the_current_password_is_throttled(
    client: httpx.AsyncClient, world: World
) -> None:
    actor = world.actor("a", "org:owner")
    answers = await asyncio.gather(
        *(
            client.post(
                "/api/v1/me/password",
                json={"current_password": f"guess {i}", "new_password": NEW},
                headers=actor.headers,
            )
            for i in range(10)
        )
    )
    assert sorted(r.status_code for r in answers) == [401] * 5 + [429] * 5


@pytest.mark.parametrize("blank", BLANK)
async def test_blank_or_invisible_passwords_are_refused_at_registration(
    client: httpx.AsyncClient, database: None, blank: str
) -> None:
    r = await client.post(
        "/api/v1/auth/register",
        json={"email": "blank@example.test", "password": blank, "name": "Blank"},
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "password"


async def _reset_message(settings: Settings, email: str) -> EmailMessage:
    rows = (
        await OutboxMessage.select()
        .where((OutboxMessage.email == email) & (OutboxMessage.kind == "password_reset"))
        .output(load_json=True)
        .run()
    )
    assert len(rows) == 1
    message: EmailMessage = await Worker(settings).compose(rows[0])
    return message


def _link(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    match = re.search(r"http://testserver/password-reset/confirm\?token=(\S+)", body.get_content())
    assert match, "an absolute link on the base URL"
    return match.group(1)


async def _request_reset(client: httpx.AsyncClient, settings: Settings, email: str) -> str:
    r = await client.post("/api/v1/auth/password-reset", json={"email": email})
    assert r.status_code == 202
    return _link(await _reset_message(settings, email))


async def test_reset_answers_alike_for_every_address_and_mails_only_known_ones(
    client: httpx.AsyncClient, world: World, settings: Settings
) -> None:
    actor = world.actor("a", "org:owner")
    known = await client.post("/api/v1/auth/password-reset", json={"email": actor.email.upper()})
    unknown = await client.post("/api/v1/auth/password-reset", json={"email": "nobody@x.test"})
    assert (known.status_code, known.content) == (unknown.status_code, unknown.content)
    assert known.status_code == 202
    assert await OutboxMessage.count().where(OutboxMessage.kind == "password_reset").run() == 1
    token = _link(await _reset_message(settings, actor.email))
    from marketplace.accounts.tables import PasswordResetToken  # the table this work added

    stored = await PasswordResetToken.select().run()
    assert [r["token_hash"] for r in stored] == [hashlib.sha256(token.encode()).hexdigest()]
    assert stored[0]["expires_at"] <= clock.now() + dt.timedelta(hours=1)


async def test_reset_sets_the_password_once_and_signs_out_everywhere(
    client: httpx.AsyncClient, world: World, settings: Settings
) -> None:
    actor = world.actor("a", "org:owner")
    token = await _request_reset(client, settings, actor.email)
    for weak in BLANK[:2]:
        r = await client.post(
            "/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": weak}
        )
        assert r.status_code == 422, "a weak choice leaves the link usable"
    r = await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": NEW}
    )
    assert r.status_code == 204
    assert (await client.get("/api/v1/me", headers=actor.headers)).status_code == 401
    again = await client.post(
        "/api/v1/auth/password-reset/confirm",
        json={"token": token, "new_password": "yet another one"},
    )
    assert again.status_code == 400
    assert again.json()["code"] == "invalid_reset_token"
    assert (await _token(client, actor.email, NEW)).status_code == 200
    unknown = await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": "mpr_nope", "new_password": NEW}
    )
    assert unknown.status_code == 400


async def test_a_reset_link_expires_within_an_hour(
    client: httpx.AsyncClient, world: World, settings: Settings
) -> None:
    actor = world.actor("a", "org:owner")
    token = await _request_reset(client, settings, actor.email)
    clock.travel_to(clock.now() + dt.timedelta(hours=1, seconds=1))
    r = await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": NEW}
    )
    assert r.status_code == 400
    assert (await client.get("/api/v1/me", headers=actor.headers)).status_code == 200


async def test_two_confirms_at_once_only_one_succeeds(
    client: httpx.AsyncClient, world: World, settings: Settings
) -> None:
    actor = world.actor("a", "org:owner")
    token = await _request_reset(client, settings, actor.email)
    answers = await asyncio.gather(
        *(
            client.post(
                "/api/v1/auth/password-reset/confirm",
                json={"token": token, "new_password": f"{NEW} number {i}"},
            )
            for i in range(8)
        )
    )
    codes = sorted(r.status_code for r in answers)
    assert codes == [204] + [400] * 7, codes
    winner = next(i for i, r in enumerate(answers) if r.status_code == 204)
    assert (await _token(client, actor.email, f"{NEW} number {winner}")).status_code == 200


async def _form(
    client: httpx.AsyncClient, page: str, action: str, data: dict[str, Any]
) -> httpx.Response:
    html = (await client.get(page)).text
    return await client.post(action, data={**data, "_csrf_token": csrf_from(html)})


async def test_pages_change_and_reset_a_password(
    client: httpx.AsyncClient, world: World, settings: Settings
) -> None:
    actor = world.actor("a", "org:owner")
    login = await client.get("/login")
    assert 'href="/password-reset"' in login.text
    r = await _form(
        client, "/login", "/login", {"email": actor.email, "password": PASSWORD, "next": "/account"}
    )
    assert r.status_code == 302
    account = await client.get("/account")
    assert 'href="/account/password"' in account.text
    other = await start_session(actor.user_id, 1)
    r = await _form(
        client,
        "/account/password",
        "/account/password",
        {"current_password": "wrong one!", "new_password": NEW},
    )
    assert r.status_code == 401
    r = await _form(
        client,
        "/account/password",
        "/account/password",
        {"current_password": PASSWORD, "new_password": "\u200b" * 10},
    )
    assert r.status_code == 422
    assert 'id="new_password-error"' in r.text
    r = await _form(
        client,
        "/account/password",
        "/account/password",
        {"current_password": PASSWORD, "new_password": NEW},
    )
    assert r.status_code == 200
    assert "Your password is changed" in r.text
    assert (await client.get("/account")).status_code == 200, "this browser stays signed in"
    async with httpx.AsyncClient(
        transport=client._transport,
        base_url="http://testserver",
        cookies={"mp_session": other.secret},
    ) as elsewhere:
        assert (await elsewhere.get("/account")).status_code == 302

    # Forgotten: the request page answers alike for every address.
    client.cookies.clear()
    known = await _form(client, "/password-reset", "/password-reset", {"email": actor.email})
    unknown = await _form(client, "/password-reset", "/password-reset", {"email": "no@x.test"})
    assert known.status_code == unknown.status_code == 202
    assert known.text.replace(actor.email, "X") == unknown.text.replace("no@x.test", "X")
    token = _link(await _reset_message(settings, actor.email))
    page = await client.get(f"/password-reset/confirm?token={token}")
    assert page.headers["referrer-policy"] == "no-referrer"
    assert f'value="{token}"' in page.text
    r = await client.post(
        "/password-reset/confirm",
        data={
            "token": token,
            "new_password": "reset by e-mail, finally",
            "_csrf_token": csrf_from(page.text),
        },
    )
    assert r.status_code == 200
    assert "Sign in with the new password" in r.text
    r = await client.post(
        "/password-reset/confirm",
        data={
            "token": token,
            "new_password": "and once more please",
            "_csrf_token": csrf_from(page.text),
        },
    )
    assert r.status_code == 400
    assert "used, expired or unknown" in r.text
    assert (await _token(client, actor.email, "reset by e-mail, finally")).status_code == 200


async def test_reset_mails_to_one_account_are_capped_and_the_answer_stays_alike(
    client: httpx.AsyncClient, world: World
) -> None:
    actor = world.actor("a", "org:owner")
    answers = await asyncio.gather(
        *(
            client.post("/api/v1/auth/password-reset", json={"email": actor.email})
            for _ in range(10)
        )
    )
    assert {r.status_code for r in answers} == {202}
    mails = OutboxMessage.count().where(OutboxMessage.kind == "password_reset")
    assert await mails.run() == 3, "three links an hour at most, even when asked at once"
    clock.travel_to(clock.now() + dt.timedelta(hours=1, minutes=1))
    r = await client.post("/api/v1/auth/password-reset", json={"email": actor.email})
    assert r.status_code == 202
    assert await mails.run() == 4, "a new hour, a new link"
