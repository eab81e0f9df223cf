"""Accreditations declared by bodies and verified by administrators; profile detail; compare."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from marketplace.core import clock
from marketplace.rules.audit_time import Family, estimate
from tests.factories import World
from tests.factories.directory import accredit, experience, rate

pytestmark = pytest.mark.usefixtures("database")


def _declaration(**over: object) -> dict[str, object]:
    data: dict[str, object] = {
        "accreditation_body": "UKAS",
        "number": "4321",
        "standard": "ISO 9001:2015",
        "iaf_sectors": [28, 29],
        "valid_until": (clock.today() + dt.timedelta(days=400)).isoformat(),
        "evidence_url": "https://www.ukas.com/find-an-organisation/4321",
    }
    data.update(over)
    return data


async def test_declare_then_verify(client: httpx.AsyncClient, world: World) -> None:
    owner = world.actor("a", "body:owner").headers
    response = await client.post(
        f"/api/v1/bodies/{world.a.body_id}/accreditations", json=_declaration(), headers=owner
    )
    assert response.status_code == 201, response.text
    acc = response.json()
    assert acc["status"] == "pending"
    assert acc["iaf_sectors"] == [28, 29]
    search = "/api/v1/bodies?standard=ISO%209001:2015&iaf_sector=28"
    assert (await client.get(search)).json()["total"] == 0

    queue = await client.get("/api/v1/admin/accreditations", headers=world.admin.headers)
    assert [a["id"] for a in queue.json()["items"]] == [acc["id"]]
    denied = await client.post(f"/api/v1/admin/accreditations/{acc['id']}/verify", headers=owner)
    assert denied.status_code == 403
    verified = await client.post(
        f"/api/v1/admin/accreditations/{acc['id']}/verify", headers=world.admin.headers
    )
    assert verified.status_code == 200
    assert verified.json()["status"] == "verified"
    assert (await client.get(search)).json()["total"] == 1

    again = await client.post(
        f"/api/v1/admin/accreditations/{acc['id']}/reject", headers=world.admin.headers
    )
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition"
    suspended = await client.post(
        f"/api/v1/admin/accreditations/{acc['id']}/suspend",
        json={"reason": "Withdrawn by UKAS"},
        headers=world.admin.headers,
    )
    assert suspended.json()["status"] == "suspended"
    assert (await client.get(search)).json()["total"] == 0


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"accreditation_body": "NOPE"}, "accreditation_body"),
        ({"standard": "ISO 1"}, "standard"),
        ({"iaf_sectors": [40]}, "iaf_sectors"),
        ({"iaf_sectors": []}, "iaf_sectors"),
        ({"valid_until": "2001-01-01"}, "valid_until"),
        ({"evidence_url": "javascript:alert(1)"}, "evidence_url"),
    ],
)
async def test_bad_declarations_are_422(
    client: httpx.AsyncClient, world: World, over: dict[str, object], field: str
) -> None:
    response = await client.post(
        f"/api/v1/bodies/{world.a.body_id}/accreditations",
        json=_declaration(**over),
        headers=world.actor("a", "body:scheduler").headers,
    )
    assert response.status_code == 422, response.text
    assert field in response.text


async def test_detail_shows_statuses_experience_and_rating(
    client: httpx.AsyncClient, world: World
) -> None:
    await accredit(world.a.body_id)
    await accredit(world.a.body_id, "ISO 14001:2015", days=-5)
    await accredit(world.a.body_id, "ISO 45001:2018", status="pending")
    await experience(world.a.body_id, 28, 40)
    await rate(world.a.body_id, 4, 4.5)
    response = await client.get(f"/api/v1/bodies/{world.a.body_id}")
    detail = response.json()
    assert {a["standard"]: a["status"] for a in detail["accreditations"]} == {
        "ISO 9001:2015": "verified",
        "ISO 14001:2015": "expired",
        "ISO 45001:2018": "pending",
    }
    assert detail["sectors_of_experience"][0]["clients_certified"] == 40
    assert detail["rating"]["review_count"] == 4
    assert detail["rating"]["rating"] == 4.5
    assert (await client.get("/api/v1/bodies/body-a-certification")).json()["id"] == str(
        world.a.body_id
    )


async def test_sector_experience_is_replaced(client: httpx.AsyncClient, world: World) -> None:
    url = f"/api/v1/bodies/{world.a.body_id}/sectors-of-experience"
    owner = world.actor("a", "body:owner").headers
    response = await client.put(
        url, json=[{"iaf_sector": 28, "clients_certified": 12}], headers=owner
    )
    assert response.status_code == 200
    assert response.json()[0]["clients_certified"] == 12
    dup = [{"iaf_sector": 28, "clients_certified": 1}, {"iaf_sector": 28, "clients_certified": 2}]
    assert (await client.put(url, json=dup, headers=owner)).status_code == 422


async def test_compare_estimates_cycle_cost_for_the_organisation(
    client: httpx.AsyncClient, world: World
) -> None:
    await accredit(world.a.body_id, sectors=(28,))
    await accredit(world.b.body_id, sectors=(33,))
    await experience(world.a.body_id, 28, 15)
    url = (
        f"/api/v1/bodies/compare?ids={world.a.body_id},{world.b.body_id}"
        f"&organisation={world.a.org_id}"
    )
    response = await client.get(url, headers=world.actor("a", "org:member").headers)
    assert response.status_code == 200, response.text
    a, b = response.json()["bodies"]
    assert a["accredited"]
    assert not b["accredited"]
    assert a["accreditation_matches"][0]["accreditation_body"] == "UKAS"
    assert a["clients_in_sector"] == 15
    days = estimate(Family.QMS, 50).cycle_days()
    assert a["cycle_days"] == days
    assert a["estimated_cycle_cost_minor"] == round(days * (90000 + 130000) / 2)
    # Another tenant's organisation is not revealed.
    other = await client.get(url, headers=world.actor("b", "org:owner").headers)
    assert other.status_code == 404
    too_many = ",".join([str(world.a.body_id)] * 1 + [str(world.b.body_id)] * 1 + ["x"])
    assert (await client.get(f"/api/v1/bodies/compare?ids={too_many}")).status_code == 422
