"""A body's website is an http(s) address with a host, on the API and the page, and is never linked otherwise."""

from __future__ import annotations

import httpx
import pytest

from marketplace.accounts.tables import CertificationBody
from tests.factories import World, csrf_from, sign_in

BAD = ["javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "ftp://x", "http:/x"]
BAD += ["JavaScript:alert(1)", "https://", " https://example.org", "java\tscript:alert(1)"]


def _field_error(r: httpx.Response) -> None:
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["website"]


@pytest.mark.parametrize("website", BAD)
async def test_api_refuses_non_http_websites(
    client: httpx.AsyncClient, world: World, website: str
) -> None:
    owner = world.actor("a", "body:owner").headers
    before = (await client.get(f"/api/v1/bodies/{world.a.body_id}", headers=owner)).json()
    patched = await client.patch(
        f"/api/v1/bodies/{world.a.body_id}", json={"website": website}, headers=owner
    )
    _field_error(patched)
    created = await client.post(
        "/api/v1/bodies",
        json={"name": "Scheme Cert", "country": "DE", "website": website},
        headers=world.outsider.headers,
    )
    _field_error(created)
    after = (await client.get(f"/api/v1/bodies/{world.a.body_id}", headers=owner)).json()
    assert after["website"] == before["website"]


async def test_api_accepts_http_and_https(client: httpx.AsyncClient, world: World) -> None:
    owner = world.actor("a", "body:owner").headers
    for website in ("https://example.org", "http://example.org/about?x=1", ""):
        r = await client.patch(
            f"/api/v1/bodies/{world.a.body_id}", json={"website": website}, headers=owner
        )
        assert r.status_code == 200, r.text
        assert r.json()["website"] == website


async def test_profile_page_form_refuses_a_javascript_website(
    client: httpx.AsyncClient, world: World
) -> None:
    await sign_in(client, world.actor("a", "body:owner").user_id)
    page = await client.get(f"/manage/bodies/{world.a.body_id}")
    assert page.status_code == 200
    form = {
        "_csrf_token": csrf_from(page.text),
        "name": "Body A Certification",
        "country": "GB",
        "website": "javascript:alert(1)",
    }
    r = await client.post(f"/manage/bodies/{world.a.body_id}", data=form)
    assert r.status_code == 422
    assert 'id="website-error"' in r.text
    assert "http:// or https://" in r.text
    stored = await CertificationBody.select(CertificationBody.website).where(
        CertificationBody.id == world.a.body_id
    )
    assert stored[0]["website"] == ""
    ok = await client.post(
        f"/manage/bodies/{world.a.body_id}", data={**form, "website": "https://example.org"}
    )
    assert ok.status_code in (200, 302, 303), ok.text[:300]


async def test_a_stored_bad_website_is_never_linked(
    client: httpx.AsyncClient, world: World
) -> None:
    # Rows written before the rule existed: sanitised on the way out too.
    await CertificationBody.update({CertificationBody.website: "javascript:alert(1)"}).where(
        CertificationBody.id == world.a.body_id
    )
    slug = (
        await CertificationBody.select(CertificationBody.slug).where(
            CertificationBody.id == world.a.body_id
        )
    )[0]["slug"]
    page = await client.get(f"/bodies/{slug}")
    assert page.status_code == 200
    assert "javascript:" not in page.text
    api = await client.get(
        f"/api/v1/bodies/{world.a.body_id}", headers=world.actor("a", "body:owner").headers
    )
    assert api.json()["website"] == ""
    await CertificationBody.update({CertificationBody.website: "https://a.example/"}).where(
        CertificationBody.id == world.a.body_id
    )
    page = await client.get(f"/bodies/{slug}")
    assert 'href="https://a.example/"' in page.text
