"""Answers that depend on who asks carry `Cache-Control: private, no-store`; public ones keep theirs."""

from __future__ import annotations

import httpx

from tests.factories import PASSWORD, World, csrf_from, sign_in
from tests.factories.certificates import granted

PRIVATE = "private, no-store"


async def test_signed_in_pages_and_api_answers_are_private_and_unstored(
    client: httpx.AsyncClient, world: World
) -> None:
    _made, number = await granted(world.a.org_id, world.a.body_id)
    owner = world.actor("a", "body:owner")
    await sign_in(client, owner.user_id)
    pages = [
        "/",
        "/account",
        "/bodies",  # the public directory, but its header shows who is signed in
        f"/certificates/{number}",  # a party sees the history
        f"/manage/bodies/{world.a.body_id}",
        f"/manage/bodies/{world.a.body_id}/activity",
        "/calendars",
        f"/manage/bodies/{world.b.body_id}",  # another tenant's: the 404 is private too
    ]
    for path in pages:
        r = await client.get(path)
        assert r.status_code in (200, 404), (path, r.status_code)
        assert r.headers.get("cache-control") == PRIVATE, path
    client.cookies.clear()
    api = [
        "/api/v1/me",
        "/api/v1/standards",
        "/api/v1/calendar-feeds",
        f"/api/v1/bodies/{world.a.body_id}/certificates",
        f"/api/v1/organisations/{world.b.org_id}",  # 404 for a stranger, still private
    ]
    for path in api:
        r = await client.get(path, headers=owner.headers)
        assert r.status_code in (200, 404), (path, r.status_code)
        assert r.headers.get("cache-control") == PRIVATE, path


async def test_an_answer_that_sets_a_session_is_private(
    client: httpx.AsyncClient, world: World
) -> None:
    token = csrf_from((await client.get("/login")).text)
    actor = world.actor("a", "org:owner")
    r = await client.post(
        "/login", data={"email": actor.email, "password": PASSWORD, "_csrf_token": token}
    )
    assert r.status_code == 302
    assert "mp_session" in r.headers.get("set-cookie", "")
    assert r.headers["cache-control"] == PRIVATE


async def test_public_answers_keep_their_caching(client: httpx.AsyncClient, world: World) -> None:
    _made, number = await granted(world.a.org_id, world.a.body_id)
    await client.get("/")  # the visitor's CSRF cookie (an answer setting it is private)
    for path in ("/bodies", f"/certificates/{number}", "/certificates", "/healthz"):
        r = await client.get(path)
        assert r.status_code == 200, path
        assert "no-store" not in r.headers.get("cache-control", ""), path
    # Static files stay cacheable even when the browser sends its session cookie.
    await sign_in(client, world.actor("a", "org:owner").user_id)
    css = await client.get("/static/css/site.css")
    assert css.status_code == 200
    assert "no-store" not in css.headers.get("cache-control", "")
    assert "set-cookie" not in css.headers, "a static file sets no cookie"
    client.cookies.clear()
    health = await client.get("/healthz")
    assert "no-store" not in health.headers.get("cache-control", "")
    assert "set-cookie" not in health.headers


async def test_calendar_feed_keeps_revalidation(client: httpx.AsyncClient, world: World) -> None:
    # The feed is authorised by its URL token: private, but calendar apps may keep a copy and
    # revalidate it (no-store would defeat the ETag and make every poll a full download).
    r = await client.post(
        "/api/v1/calendar-feeds",
        json={"scope": "body", "scope_id": str(world.a.body_id)},
        headers=world.actor("a", "body:owner").headers,
    )
    assert r.status_code == 201, r.text
    path = str(r.json()["url"]).removeprefix("http://testserver")
    await sign_in(client, world.actor("a", "body:owner").user_id)  # even from a signed-in browser
    first = await client.get(path)
    assert first.status_code == 200
    assert first.headers["cache-control"] == "private, max-age=0, must-revalidate"
    again = await client.get(path, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
