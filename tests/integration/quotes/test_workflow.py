"""Quote workflow through the API: request, answer, decline, accept, and every guarded transition."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
import pytest

from marketplace.core import activity, clock
from marketplace.scheduling.tables import Audit, CertificationCycle, Engagement
from tests.factories import World, make_body
from tests.factories.quotes import lines, make_quote, make_request, quote_payload


def _request_body(world: World, **kw: Any) -> dict[str, Any]:
    return {
        "organisation_id": str(world.a.org_id),
        "standard": "ISO 9001:2015",
        "body_ids": [str(world.a.body_id)],
        **kw,
    }


def _fields(response: httpx.Response) -> set[str]:
    return {e["field"] for e in response.json().get("errors", [])}


# --- requests ----------------------------------------------------------------------------------


async def test_client_sends_a_request_to_two_bodies(
    client: httpx.AsyncClient, world: World
) -> None:
    qm = world.actor("a", "org:quality_manager")
    r = await client.post(
        "/api/v1/quote-requests",
        json=_request_body(
            world, body_ids=[str(world.a.body_id), str(world.b.body_id)], message="Hi"
        ),
        headers=qm.headers,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "open"
    assert {x["body_id"] for x in body["recipients"]} == {
        str(world.a.body_id),
        str(world.b.body_id),
    }
    assert {x["status"] for x in body["recipients"]} == {"pending"}
    # Profile defaults: 50 persons, one site, sector 28; IAF MD 5 QMS minimum 3.5 days.
    assert (body["effective_personnel"], body["sites"], body["iaf_sector"]) == (50, 1, 28)
    assert body["baseline_days"] == 3.5
    inbox = await client.get(
        f"/api/v1/bodies/{world.b.body_id}/quote-requests",
        headers=world.actor("b", "body:scheduler").headers,
    )
    assert inbox.status_code == 200
    assert [i["id"] for i in inbox.json()["items"]] == [body["id"]]
    assert inbox.json()["items"][0]["status"] == "pending"


async def test_member_role_cannot_send(client: httpx.AsyncClient, world: World) -> None:
    r = await client.post(
        "/api/v1/quote-requests",
        json=_request_body(world),
        headers=world.actor("a", "org:member").headers,
    )
    assert r.status_code == 403


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"standard": "ISO 0000:1999"}, "standard"),
        ({"standard": "ISO 14001:2015"}, "complexity"),
        ({"body_ids": []}, "body_ids"),
        ({"iaf_sector": 99}, "iaf_sector"),
        ({"effective_personnel": -4}, "effective_personnel"),
        ({"desired_start": "2000-01-01"}, "desired_start"),
    ],
)
async def test_bad_requests_are_422(
    client: httpx.AsyncClient, world: World, change: dict[str, Any], field: str
) -> None:
    r = await client.post(
        "/api/v1/quote-requests",
        json=_request_body(world, **change),
        headers=world.actor("a", "org:owner").headers,
    )
    assert r.status_code == 422, r.text
    assert field in _fields(r)


async def test_more_than_five_bodies_is_422(client: httpx.AsyncClient, world: World) -> None:
    extra = [str(await make_body(f"Extra {i}")) for i in range(5)]
    r = await client.post(
        "/api/v1/quote-requests",
        json=_request_body(world, body_ids=[str(world.a.body_id), *extra]),
        headers=world.actor("a", "org:owner").headers,
    )
    assert r.status_code == 422
    assert _fields(r) == {"body_ids"}
    assert "at most 5" in r.json()["errors"][0]["message"]


async def test_a_body_twice_is_422(client: httpx.AsyncClient, world: World) -> None:
    r = await client.post(
        "/api/v1/quote-requests",
        json=_request_body(world, body_ids=[str(world.a.body_id)] * 2),
        headers=world.actor("a", "org:owner").headers,
    )
    assert r.status_code == 422
    assert "twice" in r.json()["errors"][0]["message"]


async def test_unknown_body_is_422_and_nothing_is_written(
    client: httpx.AsyncClient, world: World
) -> None:
    r = await client.post(
        "/api/v1/quote-requests",
        json=_request_body(world, body_ids=[str(world.a.body_id), str(uuid.uuid4())]),
        headers=world.actor("a", "org:owner").headers,
    )
    assert r.status_code == 422
    assert _fields(r) == {"body_ids"}
    listing = await client.get(
        f"/api/v1/organisations/{world.a.org_id}/quote-requests",
        headers=world.actor("a", "org:owner").headers,
    )
    assert listing.json()["total"] == 0


async def test_ems_request_stores_complexity_baseline(
    client: httpx.AsyncClient, world: World
) -> None:
    r = await client.post(
        "/api/v1/quote-requests",
        json=_request_body(world, standard="ISO 14001:2015", complexity="high", sites=4),
        headers=world.actor("a", "org:owner").headers,
    )
    assert r.status_code == 201, r.text
    # EMS high, 46 to 65 persons: 8 days, minimum 8 x 0.7 = 5.6 -> 5.5.
    assert (r.json()["table_days"], r.json()["baseline_days"]) == (8.0, 5.5)


# --- quotes --------------------------------------------------------------------------------------


async def test_body_answers_with_a_quote(client: httpx.AsyncClient, world: World) -> None:
    request_id = await make_request(world)
    r = await client.post(
        f"/api/v1/quote-requests/{request_id}/quotes",
        json=quote_payload(world.a.body_id, lines=lines(rate=95_050, fees=20_000, travel=5_000)),
        headers=world.actor("a", "body:scheduler").headers,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    # 11.5 days x 950.50 + 5 x (200 + 50) = 10930.75 + 1250
    assert body["total_minor"] == 1_093_075 + 125_000
    assert (body["baseline_days"], body["quoted_days"], body["below_baseline"]) == (3.5, 5.0, False)
    assert body["cycle_days"] == 11.5
    view = await client.get(
        f"/api/v1/quote-requests/{request_id}", headers=world.actor("a", "org:member").headers
    )
    quote = view.json()["quotes"][0]
    assert quote["status"] == "submitted"
    assert [ln["audit_kind"] for ln in quote["lines"]] == [
        "stage1",
        "stage2",
        "surveillance1",
        "surveillance2",
        "recertification",
    ]
    assert view.json()["recipients"][0]["status"] == "quoted"


async def test_quote_below_the_minimum_is_flagged(client: httpx.AsyncClient, world: World) -> None:
    request_id = await make_request(world)
    r = await client.post(
        f"/api/v1/quote-requests/{request_id}/quotes",
        json=quote_payload(world.a.body_id, lines=lines({"stage1": 1.0, "stage2": 2.0})),
        headers=world.actor("a", "body:owner").headers,
    )
    assert r.status_code == 201
    assert r.json()["below_baseline"] is True
    assert r.json()["quoted_days"] == 3.0


@pytest.mark.parametrize(
    ("payload_change", "field"),
    [
        ({"lines": lines({"stage2": 0})}, "lines[1].auditor_days"),
        ({"lines": lines({"stage1": 1.2})}, "lines[0].auditor_days"),
        ({"lines": lines(rate=-1)}, "lines[0].day_rate_minor"),
        ({"lines": lines(fees=-100)}, "lines[0].fees_minor"),
        ({"lines": lines(travel=-5)}, "lines[4].travel_minor"),
        ({"lines": lines()[:4]}, "lines"),
        ({"lines": [*lines()[:4], lines()[0]]}, "lines[4].audit_kind"),
        ({"valid_until": "2001-01-01"}, "valid_until"),
    ],
)
async def test_bad_quotes_are_422_with_field_errors(
    client: httpx.AsyncClient, world: World, payload_change: dict[str, Any], field: str
) -> None:
    request_id = await make_request(world)
    r = await client.post(
        f"/api/v1/quote-requests/{request_id}/quotes",
        json={**quote_payload(world.a.body_id), **payload_change},
        headers=world.actor("a", "body:owner").headers,
    )
    assert r.status_code == 422, r.text
    assert field in _fields(r)
    view = await client.get(
        f"/api/v1/quote-requests/{request_id}", headers=world.actor("a", "org:owner").headers
    )
    assert view.json()["quotes"] == []
    assert view.json()["recipients"][0]["status"] == "pending"


async def test_bad_currency_is_422(client: httpx.AsyncClient, world: World) -> None:
    request_id = await make_request(world)
    r = await client.post(
        f"/api/v1/quote-requests/{request_id}/quotes",
        json=quote_payload(world.a.body_id, currency="pounds"),
        headers=world.actor("a", "body:owner").headers,
    )
    assert r.status_code == 422


async def test_a_body_answers_only_requests_sent_to_it(
    client: httpx.AsyncClient, world: World
) -> None:
    request_id = await make_request(world)
    r = await client.post(
        f"/api/v1/quote-requests/{request_id}/quotes",
        json=quote_payload(world.b.body_id),
        headers=world.actor("b", "body:owner").headers,
    )
    assert r.status_code == 404
    r = await client.post(
        f"/api/v1/quote-requests/{request_id}/decline",
        json={"body_id": str(world.b.body_id), "reason": "no"},
        headers=world.actor("b", "body:owner").headers,
    )
    assert r.status_code == 404


async def test_answering_twice_is_409(client: httpx.AsyncClient, world: World) -> None:
    request_id = await make_request(world)
    await make_quote(world, request_id)
    headers = world.actor("a", "body:owner").headers
    r = await client.post(
        f"/api/v1/quote-requests/{request_id}/quotes",
        json=quote_payload(world.a.body_id),
        headers=headers,
    )
    assert r.status_code == 409
    assert r.json()["code"] == "already_answered"
    r = await client.post(
        f"/api/v1/quote-requests/{request_id}/decline",
        json={"body_id": str(world.a.body_id), "reason": "changed our mind"},
        headers=headers,
    )
    assert r.status_code == 409
    assert r.json()["code"] == "already_answered"


async def test_each_body_sees_only_its_own_quote(client: httpx.AsyncClient, world: World) -> None:
    request_id = await make_request(world, [world.a.body_id, world.b.body_id])
    await make_quote(world, request_id, world.a.body_id)
    await make_quote(world, request_id, world.b.body_id, days={"stage2": 2.0})
    for tenant in ("a", "b"):
        r = await client.get(
            f"/api/v1/quote-requests/{request_id}",
            headers=world.actor(tenant, "body:scheduler").headers,
        )
        assert r.status_code == 200
        own = str(world.tenant(tenant).body_id)
        assert [q["body_id"] for q in r.json()["quotes"]] == [own]
        assert [x["body_id"] for x in r.json()["recipients"]] == [own]
    client_view = await client.get(
        f"/api/v1/quote-requests/{request_id}", headers=world.actor("a", "org:owner").headers
    )
    assert len(client_view.json()["quotes"]) == 2
    # A client never sees another client's request.
    other = await client.get(
        f"/api/v1/quote-requests/{request_id}", headers=world.actor("b", "org:owner").headers
    )
    assert other.status_code == 404


# --- declines ----------------------------------------------------------------------------------


async def test_body_declines_with_a_reason(client: httpx.AsyncClient, world: World) -> None:
    request_id = await make_request(world)
    headers = world.actor("a", "body:scheduler").headers
    r = await client.post(
        f"/api/v1/quote-requests/{request_id}/decline",
        json={"body_id": str(world.a.body_id), "reason": "   "},
        headers=headers,
    )
    assert r.status_code == 422
    assert _fields(r) == {"reason"}
    r = await client.post(
        f"/api/v1/quote-requests/{request_id}/decline",
        json={"body_id": str(world.a.body_id), "reason": "No auditor for sector 28 this year."},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    recipient = r.json()["recipients"][0]
    assert recipient["status"] == "declined"
    assert recipient["decline_reason"] == "No auditor for sector 28 this year."
    entries = await activity.entries_for_tenant(activity.Tenant("organisation", world.a.org_id))
    assert "marketplace.quote_request.declined" in {e["action"] for e in entries}


# --- acceptance ----------------------------------------------------------------------------------


async def test_accept_starts_the_engagement_and_declines_the_others(
    client: httpx.AsyncClient, world: World
) -> None:
    third = await make_body("Third Body")
    request_id = await make_request(world, [world.a.body_id, world.b.body_id, third])
    chosen = await make_quote(world, request_id, world.a.body_id)
    other = await make_quote(world, request_id, world.b.body_id)
    r = await client.post(
        f"/api/v1/quotes/{chosen}/accept", headers=world.actor("a", "org:quality_manager").headers
    )
    assert r.status_code == 201, r.text
    engagement_id, cycle_id = r.json()["engagement_id"], r.json()["cycle_id"]
    engagement = await Engagement.select().where(Engagement.id == uuid.UUID(engagement_id)).first()
    assert engagement is not None
    assert engagement["body"] == world.a.body_id
    assert engagement["organisation"] == world.a.org_id
    cycle = (
        await CertificationCycle.select()
        .where(CertificationCycle.id == uuid.UUID(cycle_id))
        .first()
    )
    assert cycle is not None
    assert cycle["engagement"] == uuid.UUID(engagement_id)
    audits = await Audit.select(Audit.kind).where(Audit.cycle == uuid.UUID(cycle_id)).run()
    assert len(audits) == 5

    view = (
        await client.get(
            f"/api/v1/quote-requests/{request_id}", headers=world.actor("a", "org:owner").headers
        )
    ).json()
    assert view["status"] == "closed"
    statuses = {q["id"]: q["status"] for q in view["quotes"]}
    assert statuses == {str(chosen): "accepted", str(other): "declined"}
    assert (
        next(q for q in view["quotes"] if q["id"] == str(chosen))["engagement_id"] == engagement_id
    )
    recipients = {x["body_id"]: x["status"] for x in view["recipients"]}
    assert recipients == {
        str(world.a.body_id): "accepted",
        str(world.b.body_id): "not_selected",
        str(third): "not_selected",
    }
    # Every body involved hears the outcome (the activity log feeds the later outbox).
    a_log = await activity.entries_for_tenant(activity.Tenant("body", world.a.body_id))
    b_log = await activity.entries_for_tenant(activity.Tenant("body", world.b.body_id))
    third_log = await activity.entries_for_tenant(activity.Tenant("body", third))
    assert "marketplace.quote.accepted" in {e["action"] for e in a_log}
    assert "marketplace.quote.declined" in {e["action"] for e in b_log}
    assert "marketplace.quote_request.closed" in {e["action"] for e in third_log}


async def test_accepting_twice_is_409(client: httpx.AsyncClient, world: World) -> None:
    request_id = await make_request(world)
    quote_id = await make_quote(world, request_id)
    headers = world.actor("a", "org:owner").headers
    assert (
        await client.post(f"/api/v1/quotes/{quote_id}/accept", headers=headers)
    ).status_code == 201
    r = await client.post(f"/api/v1/quotes/{quote_id}/accept", headers=headers)
    assert r.status_code == 409
    assert r.json()["code"] == "already_decided"
    assert await Engagement.count() == 1


async def test_accepting_a_declined_quote_is_409(client: httpx.AsyncClient, world: World) -> None:
    request_id = await make_request(world, [world.a.body_id, world.b.body_id])
    first = await make_quote(world, request_id, world.a.body_id)
    second = await make_quote(world, request_id, world.b.body_id)
    headers = world.actor("a", "org:owner").headers
    assert (await client.post(f"/api/v1/quotes/{first}/accept", headers=headers)).status_code == 201
    r = await client.post(f"/api/v1/quotes/{second}/accept", headers=headers)
    assert r.status_code == 409
    assert r.json()["code"] == "quote_declined"


async def test_accepting_an_expired_quote_is_409(client: httpx.AsyncClient, world: World) -> None:
    request_id = await make_request(world)
    quote_id = await make_quote(world, request_id, valid_until=clock.today() + dt.timedelta(days=3))
    clock.travel_to(clock.now() + dt.timedelta(days=4))
    headers = world.actor("a", "org:owner").headers
    view = await client.get(f"/api/v1/quote-requests/{request_id}", headers=headers)
    assert view.json()["quotes"][0]["expired"] is True
    r = await client.post(f"/api/v1/quotes/{quote_id}/accept", headers=headers)
    assert r.status_code == 409
    assert r.json()["code"] == "quote_expired"
    assert await Engagement.count() == 0


async def test_quote_valid_until_today_can_still_be_accepted(
    client: httpx.AsyncClient, world: World
) -> None:
    request_id = await make_request(world)
    quote_id = await make_quote(world, request_id, valid_until=clock.today())
    r = await client.post(
        f"/api/v1/quotes/{quote_id}/accept", headers=world.actor("a", "org:owner").headers
    )
    assert r.status_code == 201


async def test_answering_a_closed_request_is_409(client: httpx.AsyncClient, world: World) -> None:
    request_id = await make_request(world, [world.a.body_id, world.b.body_id])
    quote_id = await make_quote(world, request_id, world.a.body_id)
    await client.post(
        f"/api/v1/quotes/{quote_id}/accept", headers=world.actor("a", "org:owner").headers
    )
    headers = world.actor("b", "body:owner").headers
    r = await client.post(
        f"/api/v1/quote-requests/{request_id}/quotes",
        json=quote_payload(world.b.body_id),
        headers=headers,
    )
    assert r.status_code == 409
    assert r.json()["code"] == "request_closed"
    r = await client.post(
        f"/api/v1/quote-requests/{request_id}/decline",
        json={"body_id": str(world.b.body_id), "reason": "too late"},
        headers=headers,
    )
    assert r.status_code == 409
    assert r.json()["code"] == "request_closed"


async def test_body_cannot_accept_its_own_quote(client: httpx.AsyncClient, world: World) -> None:
    request_id = await make_request(world)
    quote_id = await make_quote(world, request_id)
    r = await client.post(
        f"/api/v1/quotes/{quote_id}/accept", headers=world.actor("a", "body:owner").headers
    )
    assert r.status_code == 404


async def test_unknown_quote_is_404(client: httpx.AsyncClient, world: World) -> None:
    r = await client.post(
        f"/api/v1/quotes/{uuid.uuid4()}/accept", headers=world.actor("a", "org:owner").headers
    )
    assert r.status_code == 404


# --- withdrawal ----------------------------------------------------------------------------------


async def test_withdrawn_request_refuses_answers_and_acceptance(
    client: httpx.AsyncClient, world: World
) -> None:
    request_id = await make_request(world, [world.a.body_id, world.b.body_id])
    quote_id = await make_quote(world, request_id, world.a.body_id)
    headers = world.actor("a", "org:owner").headers
    r = await client.post(f"/api/v1/quote-requests/{request_id}/withdraw", headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "closed"
    assert r.json()["quotes"][0]["status"] == "declined"
    again = await client.post(f"/api/v1/quote-requests/{request_id}/withdraw", headers=headers)
    assert again.status_code == 409
    assert again.json()["code"] == "request_closed"
    accept = await client.post(f"/api/v1/quotes/{quote_id}/accept", headers=headers)
    assert accept.status_code == 409
    assert accept.json()["code"] == "quote_declined"
    late = await client.post(
        f"/api/v1/quote-requests/{request_id}/quotes",
        json=quote_payload(world.b.body_id),
        headers=world.actor("b", "body:owner").headers,
    )
    assert late.status_code == 409
    assert late.json()["code"] == "request_closed"
    b_log = await activity.entries_for_tenant(activity.Tenant("body", world.b.body_id))
    assert "marketplace.quote_request.withdrawn" in {e["action"] for e in b_log}
