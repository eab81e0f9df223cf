"""Certificates: public verification, suspend/withdraw/restore rules, expiry on read, at risk."""

from __future__ import annotations

import datetime as dt

import httpx

from marketplace.certificates.tables import Certificate
from marketplace.core import clock
from marketplace.rules.cycle import add_months
from marketplace.scheduling.tables import CertificationCycle
from tests.factories import World
from tests.factories.certificates import granted

REGISTRY_FIELDS = {
    "number",
    "status",
    "organisation",
    "organisation_address",
    "body",
    "accreditation_body",
    "accreditation_body_name",
    "standard",
    "scope",
    "iaf_sectors",
    "sites",
    "original_issued_on",
    "issued_on",
    "expires_on",
}


async def test_public_verification(client: httpx.AsyncClient, world: World) -> None:
    _made, number = await granted(world.a.org_id, world.a.body_id)
    r = await client.get(f"/api/v1/certificates/{number}")
    assert r.status_code == 200
    assert set(r.json()) == REGISTRY_FIELDS
    assert r.json()["status"] == "active"
    # Lower case finds it too; an unknown number is a plain 404.
    assert (await client.get(f"/api/v1/certificates/{number.lower()}")).status_code == 200
    r = await client.get("/api/v1/certificates/XX-2020-000001")
    assert r.status_code == 404
    assert "detail" in r.json()


async def test_suspend_restore_withdraw(client: httpx.AsyncClient, world: World) -> None:
    _made, number = await granted(world.a.org_id, world.a.body_id)
    decider = world.actor("a", "body:decision_maker").headers
    base = f"/api/v1/certificates/{number}"
    r = await client.post(f"{base}/restore", json={"reason": "x"}, headers=decider)
    assert r.status_code == 409
    assert r.json()["code"] == "not_suspended"
    r = await client.post(f"{base}/suspend", json={"reason": ""}, headers=decider)
    assert r.status_code == 422
    r = await client.post(
        f"{base}/suspend", json={"reason": "Surveillance 1 refused"}, headers=decider
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "suspended"
    assert r.json()["status_reason"] == "Surveillance 1 refused"
    assert (await client.get(base)).json()["status"] == "suspended"
    r = await client.post(f"{base}/suspend", json={"reason": "again"}, headers=decider)
    assert r.json()["code"] == "not_active"
    r = await client.post(f"{base}/restore", json={"reason": "Surveillance held"}, headers=decider)
    assert r.status_code == 200
    assert r.json()["status"] == "active"
    r = await client.post(
        f"{base}/withdraw", json={"reason": "Client closed down"}, headers=decider
    )
    assert r.status_code == 200
    assert r.json()["status"] == "withdrawn"
    for action in ("suspend", "restore", "withdraw"):
        r = await client.post(f"{base}/{action}", json={"reason": "try"}, headers=decider)
        assert r.status_code == 409
    assert r.json()["code"] == "withdrawn_final"
    history = r = (
        await client.get(f"{base}/manage", headers=world.actor("a", "org:member").headers)
    ).json()["history"]
    assert [h["action"] for h in history] == ["granted", "suspended", "restored", "withdrawn"]


async def test_restore_only_within_six_months(client: httpx.AsyncClient, world: World) -> None:
    _made, number = await granted(world.a.org_id, world.a.body_id)
    decider = world.actor("a", "body:owner").headers
    base = f"/api/v1/certificates/{number}"
    assert (
        await client.post(
            f"{base}/suspend", json={"reason": "Missed surveillance"}, headers=decider
        )
    ).status_code == 200
    limit = add_months(clock.today(), 6)
    clock.travel_to(dt.datetime.combine(limit + dt.timedelta(days=1), dt.time(12), tzinfo=dt.UTC))
    r = await client.post(f"{base}/restore", json={"reason": "Late"}, headers=decider)
    assert r.status_code == 409
    assert r.json()["code"] == "suspension_limit_passed"
    assert (
        await client.post(f"{base}/withdraw", json={"reason": "Unresolved"}, headers=decider)
    ).status_code == 200


async def test_expiry_on_read_and_at_risk(client: httpx.AsyncClient, world: World) -> None:
    made, number = await granted(world.a.org_id, world.a.body_id)
    member = world.actor("a", "org:member").headers
    base = f"/api/v1/certificates/{number}"
    assert (await client.get(f"{base}/manage", headers=member)).json()["at_risk"] is False
    # Surveillance 1 is due 12 months after the decision; a day later without it: at risk.
    # (Dates are moved back rather than the clock forward: the test tokens live one year.)
    decided = add_months(clock.today(), -12) - dt.timedelta(days=1)
    await (
        CertificationCycle.update({CertificationCycle.decision_date: decided})
        .where(CertificationCycle.id == made.cycle_id)
        .run()
    )
    managed = (await client.get(f"{base}/manage", headers=member)).json()
    assert managed["at_risk"] is True
    assert managed["status"] == "active"
    await (
        Certificate.update({Certificate.expires_on: clock.today()})
        .where(Certificate.number == number)
        .run()
    )
    assert (await client.get(base)).json()["status"] == "active"
    await (
        Certificate.update({Certificate.expires_on: clock.today() - dt.timedelta(days=1)})
        .where(Certificate.number == number)
        .run()
    )
    assert (await client.get(base)).json()["status"] == "expired"
    assert (await client.get(f"{base}/manage", headers=member)).json()["at_risk"] is False
    decider = world.actor("a", "body:owner").headers
    r = await client.post(f"{base}/suspend", json={"reason": "x"}, headers=decider)
    assert r.json()["code"] == "not_active"
    r = await client.post(f"{base}/withdraw", json={"reason": "x"}, headers=decider)
    assert r.json()["code"] == "expired"


async def test_roles_for_status_changes(client: httpx.AsyncClient, world: World) -> None:
    _made, number = await granted(world.a.org_id, world.a.body_id)
    base = f"/api/v1/certificates/{number}"
    for tenant, key, status in (
        ("a", "body:scheduler", 403),
        ("a", "org:owner", 404),
        ("b", "body:owner", 404),
    ):
        r = await client.post(
            f"{base}/suspend", json={"reason": "x"}, headers=world.actor(tenant, key).headers
        )
        assert r.status_code == status
    assert (await client.post(f"{base}/suspend", json={"reason": "x"})).status_code == 401
    assert (
        await client.get(f"{base}/manage", headers=world.actor("b", "org:owner").headers)
    ).status_code == 404


async def test_body_list_flags_certificates_at_risk(
    client: httpx.AsyncClient, world: World
) -> None:
    made, number = await granted(world.a.org_id, world.a.body_id)
    headers = world.actor("a", "body:scheduler").headers
    path = f"/api/v1/bodies/{world.a.body_id}/certificates"
    listed = (await client.get(path, headers=headers)).json()
    assert [(c["number"], c["at_risk"]) for c in listed] == [(number, False)]
    decided = add_months(clock.today(), -24) - dt.timedelta(days=1)
    await (
        CertificationCycle.update({CertificationCycle.decision_date: decided})
        .where(CertificationCycle.id == made.cycle_id)
        .run()
    )
    assert (await client.get(path, headers=headers)).json()[0]["at_risk"] is True
    assert (
        await client.get(path, headers=world.actor("b", "body:owner").headers)
    ).status_code == 404
