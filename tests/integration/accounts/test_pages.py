"""The sign-up, sign-in and organisation pages as a browser uses them: forms, CSRF, cookies, redirects."""

from __future__ import annotations

import re

import httpx

from tests.factories import PASSWORD, World, csrf_from


async def form_post(
    client: httpx.AsyncClient, page: str, action: str, data: dict[str, str]
) -> httpx.Response:
    html = (await client.get(page)).text
    return await client.post(action, data={**data, "_csrf_token": csrf_from(html)})


async def test_register_sign_out_sign_in(client: httpx.AsyncClient, database: None) -> None:
    r = await form_post(
        client,
        "/register",
        "/register",
        {
            "name": "Quinn",
            "email": "quinn@example.test",
            "password": "quality first, always",
            "time_zone": "Europe/London",
        },
    )
    assert r.status_code == 302
    assert r.headers["location"] == "/account"
    account = await client.get("/account")
    assert account.status_code == 200
    assert "quinn@example.test" in account.text
    r = await form_post(client, "/account", "/logout", {})
    assert r.status_code == 302
    assert (await client.get("/account")).status_code == 302  # back to the login page
    r = await form_post(
        client,
        "/login",
        "/login",
        {"email": "quinn@example.test", "password": "wrong one!!", "next": "/account"},
    )
    assert r.status_code == 401
    assert "Wrong e-mail address or password." in r.text
    r = await form_post(
        client,
        "/login",
        "/login",
        {
            "email": "quinn@example.test",
            "password": "quality first, always",
            "next": "https://evil.example/",
        },
    )
    assert r.status_code == 302
    assert r.headers["location"] == "/account", "no open redirect through ?next="


async def test_form_post_without_csrf_is_refused(client: httpx.AsyncClient, database: None) -> None:
    await client.get("/login")
    r = await client.post("/login", data={"email": "x@example.test", "password": PASSWORD})
    assert r.status_code == 403


async def test_register_form_shows_field_errors(client: httpx.AsyncClient, database: None) -> None:
    r = await form_post(
        client,
        "/register",
        "/register",
        {"name": "Q", "email": "q@example.test", "password": "12345678"},
    )
    assert r.status_code == 422
    assert "too common" in r.text
    assert 'value="q@example.test"' in r.text, "what was typed is kept"


async def test_create_organisation_through_the_page(
    client: httpx.AsyncClient, world: World
) -> None:
    r = await form_post(
        client,
        "/login",
        "/login",
        {"email": world.outsider.email, "password": PASSWORD, "next": "/account"},
    )
    assert r.status_code == 302
    r = await form_post(
        client,
        "/organisations/new",
        "/organisations/new",
        {
            "name": "Leeds Fabrication",
            "country": "gb",
            "iaf_sector": "17",
            "effective_personnel": "35",
            "site_name": "Works",
            "site_address": "Unit 4, Leeds",
            "site_time_zone": "Europe/London",
        },
    )
    assert r.status_code == 302, r.text[:500]
    page = await client.get(r.headers["location"])
    assert "Leeds Fabrication" in page.text
    assert "Unit 4, Leeds" in page.text
    bad = await form_post(
        client,
        "/organisations/new",
        "/organisations/new",
        {
            "name": "X",
            "country": "GB",
            "iaf_sector": "",
            "effective_personnel": "0",
        },
    )
    assert bad.status_code == 422
    assert (
        "Please correct" in bad.text
        or "effective_personnel" in bad.text
        or "iaf_sector" in bad.text
    )


async def test_every_input_on_public_forms_has_a_label(
    client: httpx.AsyncClient, database: None
) -> None:
    for path in ("/login", "/register"):
        html = (await client.get(path)).text
        ids = set(re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', html))
        labelled = set(re.findall(r'<label[^>]*\bfor="([^"]+)"', html))
        assert ids <= labelled, (path, ids - labelled)


async def test_add_site_form_central_checkbox(client: httpx.AsyncClient, world: World) -> None:
    """The macro's checkbox posts "true"; the page takes it (and the browser default "on")."""
    r = await form_post(
        client,
        "/login",
        "/login",
        {"email": world.outsider.email, "password": PASSWORD, "next": "/account"},
    )
    r = await form_post(
        client,
        "/organisations/new",
        "/organisations/new",
        {"name": "Hull Plating", "country": "GB", "iaf_sector": "17", "effective_personnel": "5"},
    )
    assert r.status_code == 302, r.text[:500]
    org_page = r.headers["location"]
    html = (await client.get(org_page)).text
    assert 'id="site-central" name="central" type="checkbox" value="true"' in html
    # The first site ("Head office") holds the central function, so a checked box on a second
    # one is refused: the refusal shows the box was read as checked, for "true" and "on" alike.
    for checked in ("true", "on"):
        r = await form_post(
            client,
            org_page,
            f"{org_page}/sites",
            {"name": "Dock", "country": "gb", "central": checked, "headcount": "3"},
        )
        assert r.status_code == 422
        assert "already has a central function site" in r.text
    r = await form_post(
        client, org_page, f"{org_page}/sites", {"name": "Dock", "country": "gb", "headcount": "3"}
    )
    assert r.status_code == 200
    assert "Site added." in r.text
