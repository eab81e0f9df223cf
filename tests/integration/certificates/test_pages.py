"""Certificate pages: public search and verification, the document's QR code, decision and status forms."""

from __future__ import annotations

import re

import httpx

from tests.factories import World, sign_in
from tests.factories.certificates import granted, ready_cycle


async def _token(client: httpx.AsyncClient, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text[:300]
    match = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert match
    return match.group(1)


async def test_public_search_and_verification(client: httpx.AsyncClient, world: World) -> None:
    _made, number = await granted(world.a.org_id, world.a.body_id)
    client.cookies.clear()
    assert (await client.get("/certificates")).status_code == 200
    by_number = await client.get(f"/certificates?q={number}")
    assert f'href="/certificates/{number}"' in by_number.text
    by_name = await client.get("/certificates?q=client a")
    assert number in by_name.text
    assert number not in (await client.get("/certificates?q=nobody%25")).text
    assert (await client.get("/certificates?q=" + "x" * 201)).status_code == 422
    page = await client.get(f"/certificates/{number}")
    assert page.status_code == 200
    assert "active" in page.text
    assert "Client A Ltd" in page.text
    assert "History" not in page.text  # the public sees the registry fields, not the history
    document = await client.get(f"/certificates/{number}/document")
    assert document.status_code == 200
    assert "<svg" in document.text
    assert "qrline" in document.text
    assert f"http://testserver/certificates/{number}" in document.text
    assert (await client.get("/certificates/NOPE-1")).status_code == 404


async def test_decision_form_and_status_changes(client: httpx.AsyncClient, world: World) -> None:
    made = await ready_cycle(world.a.org_id, world.a.body_id)
    await sign_in(client, world.actor("a", "body:decision_maker").user_id)
    path = f"/cycles/{made.cycle_id}/decision"
    token = await _token(client, path)
    r = await client.post(path, data={"_csrf_token": token, "decision": "grant", "scope": ""})
    assert r.status_code == 422
    r = await client.post(
        path, data={"_csrf_token": token, "decision": "grant", "scope": "Parts", "decided_on": ""}
    )
    assert r.status_code == 303, r.text[:400]
    cert_path = r.headers["location"]
    token = await _token(client, cert_path)
    r = await client.post(
        f"{cert_path}/suspend", data={"_csrf_token": token, "reason": "Missed surveillance"}
    )
    assert r.status_code == 303
    page = await client.get(cert_path)
    assert "suspended" in page.text
    assert "Missed surveillance" in page.text
    r = await client.post(f"{cert_path}/suspend", data={"_csrf_token": token, "reason": "again"})
    assert r.status_code == 409
    r = await client.post(f"{cert_path}/explode", data={"_csrf_token": token, "reason": "x"})
    assert r.status_code == 422
    await sign_in(client, world.actor("a", "body:scheduler").user_id)
    token = await _token(client, cert_path)
    assert (
        await client.post(f"{cert_path}/restore", data={"_csrf_token": token, "reason": "x"})
    ).status_code == 403
    await sign_in(client, world.actor("b", "body:owner").user_id)
    assert (await client.get(path)).status_code == 404
