"""Registration, tokens, throttling and the caller over the real HTTP API."""

from __future__ import annotations

import datetime as dt

import httpx

from marketplace.core import clock
from tests.factories import PASSWORD, World, sign_in


async def register(
    client: httpx.AsyncClient, email: str, password: str = "a long enough passphrase"
) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/register", json={"email": email, "password": password, "name": "Pat"}
    )


async def test_register_then_token_then_me(client: httpx.AsyncClient, database: None) -> None:
    r = await register(client, "Pat@Example.test")
    assert r.status_code == 201
    assert r.json()["email"] == "pat@example.test"  # addresses are compared lower-cased
    r = await client.post(
        "/api/v1/auth/token",
        json={"email": "pat@example.test", "password": "a long enough passphrase"},
    )
    assert r.status_code == 200
    token = r.json()["token"]
    assert dt.datetime.fromisoformat(r.json()["expires_at"]) > clock.now()
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["email"] == "pat@example.test"
    assert me.json()["memberships"] == []


async def test_email_taken_is_409(client: httpx.AsyncClient, database: None) -> None:
    assert (await register(client, "dup@example.test")).status_code == 201
    r = await register(client, "DUP@example.test")
    assert r.status_code == 409
    assert r.json()["code"] == "email_taken"


async def test_password_policy(client: httpx.AsyncClient, database: None) -> None:
    short = await register(client, "a@example.test", "short")
    assert short.status_code == 422
    assert short.json()["errors"][0]["field"] == "password"
    common = await register(client, "b@example.test", "password123")
    assert common.status_code == 422
    assert "common" in common.json()["detail"]
    # No composition rules: a long lower-case passphrase is fine, and 64+ characters are accepted.
    assert (
        await register(client, "c@example.test", "x" * 5 + " correct staple horse" * 3)
    ).status_code == 201
    assert (await register(client, "d@example.test", "q" * 64)).status_code == 201
    assert (await register(client, "e@example.test", "q" * 129)).status_code == 422


async def test_wrong_password_is_401_and_throttled_with_growing_delay(
    client: httpx.AsyncClient, world: World
) -> None:
    email = world.actor("a", "org:owner").email
    for _ in range(5):
        r = await client.post(
            "/api/v1/auth/token", json={"email": email, "password": "wrong password!"}
        )
        assert r.status_code == 401
    r = await client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert r.status_code == 429, "even the right password waits while throttled"
    first_wait = int(r.headers["retry-after"])
    assert first_wait >= 1
    # Once the delay has passed, one more failure doubles the next delay.
    clock.travel_to(clock.now() + dt.timedelta(seconds=first_wait + 1))
    r = await client.post("/api/v1/auth/token", json={"email": email, "password": "wrong again!!"})
    assert r.status_code == 401
    r = await client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) > first_wait
    # After the window the right password works and clears the failures.
    clock.travel_to(clock.now() + dt.timedelta(minutes=16))
    r = await client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200


async def test_unknown_email_is_401_not_404(client: httpx.AsyncClient, database: None) -> None:
    r = await client.post(
        "/api/v1/auth/token", json={"email": "nobody@example.test", "password": "whatever123"}
    )
    assert r.status_code == 401
    assert r.json()["detail"] == "Wrong e-mail address or password."


async def test_revoked_token_stops_working(client: httpx.AsyncClient, world: World) -> None:
    headers = world.actor("a", "org:member").headers
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200
    assert (await client.delete("/api/v1/auth/token", headers=headers)).status_code == 204
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401


async def test_no_or_bad_token_is_401(client: httpx.AsyncClient, database: None) -> None:
    assert (await client.get("/api/v1/me")).status_code == 401
    r = await client.get("/api/v1/me", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    assert r.json()["detail"]


async def test_session_cookie_does_not_authorise_the_api(
    client: httpx.AsyncClient, world: World
) -> None:
    await sign_in(client, world.actor("a", "org:owner").user_id)
    assert (await client.get("/api/v1/me")).status_code == 401
