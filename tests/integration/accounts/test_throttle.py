"""Sign-in throttling under real concurrency: per account and per client address, API and page alike,
in one process (asyncio.gather through the app) and across two app processes."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections import Counter
from collections.abc import Coroutine
from typing import Any

import httpx
import pytest
from litestar import Litestar

from marketplace.accounts import throttle
from marketplace.accounts.tables import User
from tests.factories import PASSWORD, World, csrf_from, password_hash
from tests.live_server import live_server

FREE = throttle.ACCOUNT.free_attempts


def _token(
    client: httpx.AsyncClient, email: str, password: str
) -> Coroutine[Any, Any, httpx.Response]:
    return client.post("/api/v1/auth/token", json={"email": email, "password": password})


async def test_forty_parallel_guesses_on_one_account_judge_only_the_free_ones(
    client: httpx.AsyncClient, world: World
) -> None:
    email = world.actor("a", "org:owner").email
    answers = await asyncio.gather(*(_token(client, email, f"wrong guess {i}") for i in range(40)))
    codes = Counter(r.status_code for r in answers)
    assert codes == {401: FREE, 429: 40 - FREE}, codes
    refused = next(r for r in answers if r.status_code == 429)
    assert int(refused.headers["retry-after"]) >= 1
    # After the limit even the right password waits out the delay.
    r = await client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert r.status_code == 429
    assert r.json()["code"] == "throttled"
    assert int(r.headers["retry-after"]) >= 1


async def test_the_right_password_sent_with_a_parallel_burst_gets_no_token(
    client: httpx.AsyncClient, world: World
) -> None:
    email = world.actor("a", "org:owner").email
    # The free attempts are used up at once, the right password among the burst that follows.
    first = await asyncio.gather(*(_token(client, email, f"guess {i}") for i in range(FREE)))
    assert [r.status_code for r in first] == [401] * FREE
    burst = [_token(client, email, f"guess {i}") for i in range(39)]
    burst.insert(17, _token(client, email, PASSWORD))
    answers = await asyncio.gather(*burst)
    assert [r.status_code for r in answers] == [429] * 40


async def _accounts(n: int) -> list[str]:
    emails = [f"spray-{i}-{uuid.uuid4().hex[:6]}@example.test" for i in range(n)]
    await User.insert(
        *(User(email=e, name="Sprayed", password_hash=password_hash()) for e in emails)
    ).run()
    return emails


def _client_from(app: Litestar, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_one_address_spraying_one_password_over_forty_accounts_is_throttled(
    app: Litestar, database: None
) -> None:
    emails = await _accounts(40)
    free = throttle.ADDRESS.free_attempts
    async with _client_from(app, "198.51.100.7") as sprayer:
        codes = []
        for email in emails:
            r = await sprayer.post(
                "/api/v1/auth/token", json={"email": email, "password": "Winter2026!"}
            )
            codes.append(r.status_code)
        assert codes.index(429) == free < 39, codes
        assert set(codes[free:]) == {429}
    # Another address is not held back by that one, and the accounts themselves were guessed once.
    async with _client_from(app, "198.51.100.8") as other:
        r = await other.post("/api/v1/auth/token", json={"email": emails[-1], "password": PASSWORD})
        assert r.status_code == 200


async def test_one_address_spraying_in_parallel_is_throttled(app: Litestar, database: None) -> None:
    emails = await _accounts(40)
    async with _client_from(app, "2001:db8::7") as sprayer:
        answers = await asyncio.gather(*(_token(sprayer, email, "Winter2026!") for email in emails))
    codes = Counter(r.status_code for r in answers)
    assert codes == {401: throttle.ADDRESS.free_attempts, 429: 40 - throttle.ADDRESS.free_attempts}


async def test_a_success_does_not_wash_away_the_address_failures(
    app: Litestar, world: World
) -> None:
    emails = await _accounts(throttle.ADDRESS.free_attempts - 1)
    own = world.actor("a", "org:owner").email
    async with _client_from(app, "198.51.100.9") as c:
        for email in emails:
            assert (await _token(c, email, "Winter2026!")).status_code == 401
        assert (await _token(c, own, PASSWORD)).status_code == 200
        r = await _token(c, emails[0], "Spring2026!")
        assert r.status_code == 401
        r = await _token(c, emails[1], "Spring2026!")
        assert r.status_code == 429


def _login_form(
    client: httpx.AsyncClient, email: str, password: str, csrf: str
) -> Coroutine[Any, Any, httpx.Response]:
    return client.post(
        "/login",
        data={"email": email, "password": password, "next": "/account", "_csrf_token": csrf},
    )


async def test_the_sign_in_page_shares_the_throttle_with_the_api(
    client: httpx.AsyncClient, world: World
) -> None:
    email = world.actor("a", "org:owner").email
    for _ in range(FREE - 2):
        assert (await _token(client, email, "wrong guess")).status_code == 401
    csrf = csrf_from((await client.get("/login")).text)
    answers = await asyncio.gather(*(_login_form(client, email, "wrong", csrf) for _ in range(20)))
    codes = Counter(r.status_code for r in answers)
    assert codes == {401: 2, 429: 18}, codes
    r = await _login_form(client, email, PASSWORD, csrf)
    assert r.status_code == 429
    assert "Too many failed sign-ins" in r.text
    assert int(r.headers["retry-after"]) >= 1
    assert (await _token(client, email, PASSWORD)).status_code == 429


async def _burst(url: str, email: str, n: int, **headers: str) -> list[int]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as c:
        answers = await asyncio.gather(
            *(
                c.post(
                    "/api/v1/auth/token",
                    json={"email": email, "password": f"wrong {i}"},
                    headers=headers,
                )
                for i in range(n)
            )
        )
    return [r.status_code for r in answers]


@pytest.mark.skipif(
    not os.environ["DATABASE_URL"].startswith("postgres"), reason="two processes share PostgreSQL"
)
async def test_forty_parallel_guesses_across_two_app_processes(world: World) -> None:
    email = world.actor("a", "org:owner").email
    with live_server(workers=2) as url:
        codes = await _burst(url, email, 40)
        assert Counter(codes) == {401: FREE, 429: 40 - FREE}, Counter(codes)
        async with httpx.AsyncClient(base_url=url) as c:
            r = await c.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) >= 1


async def _spray(url: str, n: int, forwarded: bool) -> list[int]:
    codes = []
    async with httpx.AsyncClient(base_url=url, timeout=60) as c:
        for i in range(n):
            headers = {"X-Forwarded-For": f"203.0.113.{i + 1}"} if forwarded else {}
            r = await c.post(
                "/api/v1/auth/token",
                json={"email": f"nobody-{i}@example.test", "password": "Winter2026!"},
                headers=headers,
            )
            codes.append(r.status_code)
    return codes


async def test_x_forwarded_for_counts_only_from_a_trusted_proxy(database: None) -> None:
    n = throttle.ADDRESS.free_attempts + 2
    # Untrusted: a forged header changes nothing, the peer's address is throttled.
    with live_server(env={"MARKETPLACE_TRUSTED_PROXIES": ""}) as url:
        codes = await _spray(url, n, forwarded=True)
    assert codes[-1] == 429, codes
    # The peer (127.0.0.1) is the trusted proxy: each forwarded client has its own count.
    with live_server(env={"MARKETPLACE_TRUSTED_PROXIES": "127.0.0.0/8, ::1"}) as url:
        codes = await _spray(url, n, forwarded=True)
    assert set(codes) == {401}, codes
