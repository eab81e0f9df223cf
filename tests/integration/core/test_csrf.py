"""Page forms carry a CSRF token bound to the browser's session: another session's token is refused."""

from __future__ import annotations

import httpx
from litestar import Litestar

from marketplace.accounts.sessions import start_session
from tests.factories import PASSWORD, World, csrf_from


def _browser(app: Litestar) -> httpx.AsyncClient:
    """A second browser on the same app (its own cookie jar)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def test_a_token_from_another_session_is_refused(
    app: Litestar, client: httpx.AsyncClient, world: World
) -> None:
    alice = await start_session(world.actor("a", "org:owner").user_id, 1)
    bob = await start_session(world.actor("b", "org:owner").user_id, 1)
    async with _browser(app) as other:
        client.cookies.set("mp_session", alice.secret)
        other.cookies.set("mp_session", bob.secret)
        alice_token = csrf_from((await client.get("/account")).text)
        bob_token = csrf_from((await other.get("/account")).text)
        assert alice_token != bob_token
        # Bob's browser (his session, his own CSRF cookie) posting Alice's token: refused.
        stolen = await other.post("/logout", data={"_csrf_token": alice_token})
        assert stolen.status_code == 403
        # Alice's CSRF cookie and token replayed with Bob's session cookie: refused as well.
        replay = httpx.Cookies()
        replay.set("mp_csrf", client.cookies["mp_csrf"])
        replay.set("mp_session", bob.secret)
        other.cookies = replay
        forged = await other.post(
            "/logout", data={"_csrf_token": alice_token}, headers={"x-csrftoken": alice_token}
        )
        assert forged.status_code == 403
    # Alice's own token still works for her.
    assert (await client.post("/logout", data={"_csrf_token": alice_token})).status_code == 302


async def test_an_anonymous_token_is_refused_once_signed_in(
    client: httpx.AsyncClient, world: World
) -> None:
    anonymous_token = csrf_from((await client.get("/login")).text)
    session = await start_session(world.actor("a", "org:owner").user_id, 1)
    client.cookies.set("mp_session", session.secret)
    refused = await client.post("/logout", data={"_csrf_token": anonymous_token})
    assert refused.status_code == 403


async def test_sign_in_and_sign_out_change_the_token_and_still_work(
    client: httpx.AsyncClient, world: World
) -> None:
    actor = world.actor("a", "org:owner")
    login_token = csrf_from((await client.get("/login")).text)
    signed_in = await client.post(
        "/login", data={"email": actor.email, "password": PASSWORD, "_csrf_token": login_token}
    )
    assert signed_in.status_code == 302
    session_token = csrf_from((await client.get("/account")).text)
    assert session_token != login_token, "signing in changes the token"
    # The pre-sign-in token no longer passes with the new session.
    assert (await client.post("/logout", data={"_csrf_token": login_token})).status_code == 403
    signed_out = await client.post("/logout", data={"_csrf_token": session_token})
    assert signed_out.status_code == 302
    assert (await client.get("/account")).status_code == 302  # signed out
    after_token = csrf_from((await client.get("/login")).text)
    assert after_token != session_token, "signing out changes the token"
    again = await client.post(
        "/login", data={"email": actor.email, "password": PASSWORD, "_csrf_token": after_token}
    )
    assert again.status_code == 302
