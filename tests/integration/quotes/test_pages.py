"""Quote pages as a browser uses them: request form, body answer and decline, comparison, acceptance."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from marketplace.core import clock
from marketplace.quotes.tables import Quote, QuoteRequest
from tests.factories import World, csrf_from, sign_in
from tests.factories.quotes import make_quote, make_request


async def _post(
    client: httpx.AsyncClient, page: str, action: str, data: dict[str, Any]
) -> httpx.Response:
    html = (await client.get(page)).text
    return await client.post(action, data={**data, "_csrf_token": csrf_from(html)})


def _answer_form(days: dict[str, str] | None = None, **kw: str) -> dict[str, str]:
    data = {"currency": "GBP", "valid_until": (clock.today() + dt.timedelta(days=30)).isoformat()}
    for kind, value in {
        "stage1": "1.5",
        "stage2": "3.5",
        "surveillance1": "1.5",
        "surveillance2": "1.5",
        "recertification": "3.5",
        **(days or {}),
    }.items():
        data |= {
            f"{kind}_days": value,
            f"{kind}_day_rate": "950.00",
            f"{kind}_fees": "0",
            f"{kind}_travel": "0",
        }
    return {**data, **kw}


async def test_request_form_is_prefilled_and_sends(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, world.actor("a", "org:owner").user_id)
    page = (
        f"/quote-requests/new?organisation={world.a.org_id}&body={world.a.body_id}&body=not-an-id"
    )
    html = (await client.get(page)).text
    assert 'value="50"' in html  # effective personnel from the profile
    assert f'value="{world.a.body_id}" checked' in html
    r = await client.post(
        "/quote-requests/new",
        data={
            "_csrf_token": csrf_from(html),
            "organisation_id": str(world.a.org_id),
            "standard": "ISO 9001:2015",
            "iaf_sector": "28",
            "effective_personnel": "50",
            "sites": "1",
            "shifts": "1",
            "complexity": "",
            "desired_start": "",
            "message": "Please quote",
            "body_ids": [str(world.a.body_id), str(world.b.body_id)],
        },
    )
    assert r.status_code == 302, r.text
    assert await QuoteRequest.count() == 1


async def test_request_form_shows_field_errors(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, world.actor("a", "org:owner").user_id)
    r = await _post(
        client,
        f"/quote-requests/new?organisation={world.a.org_id}",
        "/quote-requests/new",
        {
            "organisation_id": str(world.a.org_id),
            "standard": "ISO 14001:2015",
            "effective_personnel": "50",
            "body_ids": str(world.a.body_id),
        },
    )
    assert r.status_code == 422
    assert "complexity" in r.text
    assert 'id="complexity-error"' in r.text
    assert await QuoteRequest.count() == 0


async def test_body_answers_in_its_inbox(client: httpx.AsyncClient, world: World) -> None:
    request_id = await make_request(world)
    await sign_in(client, world.actor("a", "body:scheduler").user_id)
    inbox = await client.get(f"/manage/bodies/{world.a.body_id}/quote-requests")
    assert inbox.status_code == 200
    assert "Client A Ltd" in inbox.text
    page = f"/manage/bodies/{world.a.body_id}/quote-requests/{request_id}"
    bad = await _post(client, page, f"{page}/quote", _answer_form({"stage2": "0"}))
    assert bad.status_code == 422
    assert 'id="stage2_days-error"' in bad.text
    negative = await _post(client, page, f"{page}/quote", _answer_form(stage1_fees="-5"))
    assert negative.status_code == 422
    assert 'id="stage1_fees-error"' in negative.text
    ok = await _post(client, page, f"{page}/quote", _answer_form({"stage1": "0.5", "stage2": "2"}))
    assert ok.status_code == 302, ok.text
    shown = await client.get(page)
    assert "below IAF MD 5 minimum" in shown.text
    quote = await Quote.select().first()
    assert quote is not None
    assert quote["below_baseline"] is True


async def test_body_declines_in_its_inbox(client: httpx.AsyncClient, world: World) -> None:
    request_id = await make_request(world)
    await sign_in(client, world.actor("a", "body:owner").user_id)
    page = f"/manage/bodies/{world.a.body_id}/quote-requests/{request_id}"
    empty = await _post(client, page, f"{page}/decline", {"reason": ""})
    assert empty.status_code == 422
    r = await _post(client, page, f"{page}/decline", {"reason": "Fully booked"})
    assert r.status_code == 302
    assert "You declined: Fully booked" in (await client.get(page)).text


async def test_client_compares_and_accepts(client: httpx.AsyncClient, world: World) -> None:
    request_id = await make_request(world, [world.a.body_id, world.b.body_id])
    good = await make_quote(world, request_id, world.a.body_id)
    await make_quote(world, request_id, world.b.body_id, days={"stage1": 0.5, "stage2": 1.5})
    await sign_in(client, world.actor("a", "org:quality_manager").user_id)
    page = f"/quote-requests/{request_id}"
    html = (await client.get(page)).text
    assert "below IAF MD 5 minimum" in html
    assert "Three-year total" in html
    assert "How this was calculated" in html
    r = await _post(client, page, f"/quotes/{good}/accept", {})
    assert r.status_code == 302
    after = await client.get(page)
    assert "engagement has started" in after.text
    again = await _post(client, page, f"/quotes/{good}/accept", {})
    assert again.status_code == 409


async def test_expired_quote_has_no_accept_button(client: httpx.AsyncClient, world: World) -> None:
    request_id = await make_request(world)
    quote_id = await make_quote(world, request_id, valid_until=clock.today())
    clock.travel_to(clock.now() + dt.timedelta(days=2))
    await sign_in(client, world.actor("a", "org:owner").user_id)
    html = (await client.get(f"/quote-requests/{request_id}")).text
    assert "expired" in html
    assert f"/quotes/{quote_id}/accept" not in html


async def test_index_lists_requests_and_inboxes(client: httpx.AsyncClient, world: World) -> None:
    await make_request(world)
    await sign_in(client, world.actor("a", "org:owner").user_id)
    assert "ISO 9001:2015" in (await client.get("/quote-requests")).text
    await sign_in(client, world.actor("a", "body:owner").user_id)
    assert "requests received" in (await client.get("/quote-requests")).text


async def test_client_withdraws_from_the_page(client: httpx.AsyncClient, world: World) -> None:
    request_id = await make_request(world)
    await sign_in(client, world.actor("a", "org:owner").user_id)
    page = f"/quote-requests/{request_id}"
    r = await _post(client, page, f"{page}/withdraw", {})
    assert r.status_code == 302
    assert "You withdrew this request." in (await client.get(page)).text
