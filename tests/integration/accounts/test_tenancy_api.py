"""Organisations, sites, members and invitations, and the activity log they leave."""

from __future__ import annotations

import uuid

import httpx

from marketplace.core.tables import ActivityLog
from tests.factories import World

ORG = {
    "name": "Widget Works",
    "country": "DE",
    "iaf_sector": 17,
    "effective_personnel": 120,
    "sites": [
        {
            "name": "Berlin HQ",
            "address": "Hauptstr. 1",
            "country": "DE",
            "time_zone": "Europe/Berlin",
            "headcount": 100,
            "central": True,
        },
        {"name": "Leipzig", "country": "DE", "time_zone": "Europe/Berlin", "headcount": 20},
    ],
}


async def test_create_organisation_makes_caller_owner(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = world.outsider.headers
    r = await client.post("/api/v1/organisations", json=ORG, headers=headers)
    assert r.status_code == 201, r.text
    org = r.json()
    assert [s["name"] for s in org["sites"]] == ["Berlin HQ", "Leipzig"]
    me = (await client.get("/api/v1/me", headers=headers)).json()
    assert {"kind": "organisation", "id": org["id"], "role": "owner", "name": "Widget Works"} in me[
        "memberships"
    ]
    got = await client.get(f"/api/v1/organisations/{org['id']}", headers=headers)
    assert got.json()["effective_personnel"] == 120
    actions = (
        await ActivityLog.select(ActivityLog.action).where(ActivityLog.entity_id == org["id"]).run()
    )
    assert [a["action"] for a in actions] == ["marketplace.organisation.created"]


async def test_bad_organisation_input_writes_nothing(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = world.outsider.headers
    cases = [
        ({**ORG, "iaf_sector": 40}, "iaf_sector"),
        ({**ORG, "country": "Germany"}, "country"),
        ({**ORG, "effective_personnel": 0}, "effective_personnel"),
        (
            {**ORG, "sites": [{**ORG["sites"][0], "time_zone": "Mars/Olympus"}]},
            "sites[0].time_zone",
        ),
        ({**ORG, "sites": [ORG["sites"][0], {**ORG["sites"][0], "name": "Twin"}]}, "sites"),
        ({k: v for k, v in ORG.items() if k != "name"}, "name"),
        ({**ORG, "surprise": 1}, "surprise"),
    ]
    for body, field in cases:
        r = await client.post("/api/v1/organisations", json=body, headers=headers)
        assert r.status_code in (400, 422), (field, r.text)
        assert r.json()["detail"], field
        assert field.split("[")[0] in r.text, (field, r.text)
    me = (await client.get("/api/v1/me", headers=headers)).json()
    assert me["memberships"] == [], "a refused request leaves nothing half-written"


async def test_unknown_and_foreign_organisations_look_the_same(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = world.actor("a", "org:owner").headers
    unknown = await client.get(f"/api/v1/organisations/{uuid.uuid4()}", headers=headers)
    foreign = await client.get(f"/api/v1/organisations/{world.b.org_id}", headers=headers)
    assert unknown.status_code == foreign.status_code == 404
    assert unknown.json() == foreign.json()
    malformed = await client.get("/api/v1/organisations/not-a-uuid", headers=headers)
    assert malformed.status_code in (400, 404)


async def test_inviting_adds_nobody_at_once(client: httpx.AsyncClient, world: World) -> None:
    """Formerly an existing account became a member at once (201 "member", then 409 on a repeat);
    now every address is only invited (tests/integration/accounts/test_invitations.py)."""
    owner = world.actor("a", "org:owner")
    for _ in range(2):
        r = await client.post(
            f"/api/v1/organisations/{world.a.org_id}/members",
            json={"email": world.outsider.email, "role": "member"},
            headers=owner.headers,
        )
        assert r.status_code == 201
        assert r.json() == {"status": "invited", "email": world.outsider.email, "role": "member"}
    me = (await client.get("/api/v1/me", headers=world.outsider.headers)).json()
    assert me["memberships"] == []


async def test_role_must_exist_for_the_tenant_kind(client: httpx.AsyncClient, world: World) -> None:
    owner = world.actor("a", "org:owner")
    r = await client.post(
        f"/api/v1/organisations/{world.a.org_id}/members",
        json={"email": "x@example.test", "role": "scheduler"},
        headers=owner.headers,
    )
    assert r.status_code == 422
    assert "quality_manager" in r.json()["detail"]


async def test_owner_reads_activity_log_of_own_tenant_only(
    client: httpx.AsyncClient, world: World
) -> None:
    owner = world.actor("a", "org:owner")
    await client.post(
        f"/api/v1/organisations/{world.a.org_id}/sites",
        json={"name": "Depot", "country": "GB"},
        headers=owner.headers,
    )
    await client.post(
        f"/api/v1/organisations/{world.b.org_id}/sites",
        json={"name": "Depot", "country": "GB"},
        headers=world.actor("b", "org:owner").headers,
    )
    page = (
        await client.get(f"/api/v1/organisations/{world.a.org_id}/activity", headers=owner.headers)
    ).json()
    assert page["total"] == 1
    assert page["items"][0]["action"] == "marketplace.site.created"
    assert page["items"][0]["data"] == {"name": "Depot"}


async def test_body_registration_and_profile_edit(client: httpx.AsyncClient, world: World) -> None:
    headers = world.outsider.headers
    r = await client.post(
        "/api/v1/bodies",
        json={
            "name": "Über Cert GmbH",
            "country": "DE",
            "languages": ["de", "en"],
            "regions": ["DE", "AT"],
            "day_rate_min_minor": 100000,
            "day_rate_max_minor": 150000,
            "currency": "EUR",
            "services": ["gap_analysis", "remote_audits"],
            "remote_audits": True,
        },
        headers=headers,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["slug"] == "uber-cert-gmbh"
    assert body["services"] == ["gap_analysis", "remote_audits"]
    r = await client.patch(
        f"/api/v1/bodies/{body['id']}", json={"day_rate_min_minor": 200000}, headers=headers
    )
    assert r.status_code == 422, "the lowest rate may not exceed the highest"
    r = await client.patch(
        f"/api/v1/bodies/{body['id']}", json={"services": ["nope"]}, headers=headers
    )
    assert r.status_code == 422
    assert "gap_analysis" in r.json()["detail"], "the allowed values are listed"
    r = await client.patch(
        f"/api/v1/bodies/{body['id']}", json={"languages": ["fr"]}, headers=headers
    )
    assert r.status_code == 200
    assert r.json()["languages"] == ["fr"]
    assert r.json()["regions"] == ["AT", "DE"], "fields not sent stay as they were"
