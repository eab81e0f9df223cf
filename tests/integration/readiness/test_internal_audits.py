"""Internal audits with graded findings and their workflow, management reviews, the stage 1 panel."""

from __future__ import annotations

import datetime as dt

import httpx

from marketplace.core import clock
from tests.factories import World
from tests.factories.scheduling import engagement


def _org(world: World) -> str:
    return f"/api/v1/organisations/{world.a.org_id}"


async def _audit(
    client: httpx.AsyncClient, world: World, clauses: list[str], days_ago: int = 10
) -> dict:
    qm = world.actor("a", "org:quality_manager").headers
    r = await client.post(
        f"{_org(world)}/internal-audits",
        json={
            "scope": "Purchasing and production",
            "clauses": clauses,
            "auditor_name": "Priya Shah (trained internal auditor)",
            "planned_on": (clock.today() - dt.timedelta(days=days_ago)).isoformat(),
        },
        headers=qm,
    )
    assert r.status_code == 201, r.text
    return r.json()


async def _complete(client: httpx.AsyncClient, world: World, audit: dict, days_ago: int) -> None:
    r = await client.post(
        f"{_org(world)}/internal-audits/{audit['id']}/complete",
        json={"completed_on": (clock.today() - dt.timedelta(days=days_ago)).isoformat()},
        headers=world.actor("a", "org:quality_manager").headers,
    )
    assert r.status_code == 200, r.text


async def test_internal_finding_workflow(client: httpx.AsyncClient, world: World) -> None:
    qm = world.actor("a", "org:quality_manager").headers
    audit = await _audit(client, world, ["8.4", "8.5"])
    assert audit["clauses"] == ["8.4", "8.5"]
    assert audit["status"] == "planned"
    url = f"{_org(world)}/internal-audits/{audit['id']}/findings"
    r = await client.post(url, json={"grade": "minor", "clause": "8.4.2"}, headers=qm)
    assert r.status_code == 201, r.text
    minor = r.json()
    assert minor["status"] == "open"
    assert minor["due_on"] == (clock.today() + dt.timedelta(days=30)).isoformat()
    r = await client.post(url, json={"grade": "ofi", "clause": "7.4"}, headers=qm)
    ofi = r.json()
    assert (ofi["status"], ofi["due_on"], ofi["number"]) == ("none", None, 2)
    r = await client.post(url, json={"grade": "fatal", "clause": "7.4"}, headers=qm)
    assert r.status_code in (400, 422)

    f = f"{_org(world)}/internal-findings/{minor['id']}"
    r = await client.post(f"{f}/steps", json={"step": "submit"}, headers=qm)
    assert r.status_code == 409
    assert r.json()["code"] == "incomplete_answer"
    answer = {
        "correction": "Evaluated the plating subcontractor",
        "root_cause_method": "five_whys",
        "root_cause": "No reminder for evaluations",
        "action_plan": "Add evaluations to the purchasing calendar",
        "target_date": (clock.today() + dt.timedelta(days=20)).isoformat(),
        "owner_id": str(world.actor("a", "org:member").user_id),
    }
    r = await client.patch(f, json=answer, headers=qm)
    assert r.status_code == 200
    assert r.json()["owner_name"] == "member of org a"
    for step, status in (("submit", "submitted"), ("reject", None)):
        r = await client.post(f"{f}/steps", json={"step": step}, headers=qm)
        if status:
            assert r.json()["status"] == status
        else:
            assert r.status_code == 422  # a rejection says why
    r = await client.post(f"{f}/steps", json={"step": "accept"}, headers=qm)
    assert r.json()["status"] == "accepted"
    r = await client.patch(f, json={"correction": "late edit"}, headers=qm)
    assert r.status_code == 409
    r = await client.post(f"{f}/steps", json={"step": "verify"}, headers=qm)
    assert r.json()["status"] == "closed"
    r = await client.post(
        f"{_org(world)}/internal-findings/{ofi['id']}/steps", json={"step": "submit"}, headers=qm
    )
    assert r.status_code == 409
    member = world.actor("a", "org:member").headers
    r = await client.post(f"{f}/steps", json={"step": "verify"}, headers=member)
    assert r.status_code == 403


async def test_internal_audits_are_visible_to_the_body_only_when_shared(
    client: httpx.AsyncClient, world: World
) -> None:
    qm = world.actor("a", "org:quality_manager").headers
    audit = await _audit(client, world, ["9.2"])
    await client.post(
        f"{_org(world)}/internal-audits/{audit['id']}/findings",
        json={"grade": "major", "clause": "9.2", "evidence": "No audit programme"},
        headers=qm,
    )
    auditor = world.actor("a", "body:auditor").headers
    body_url = f"/api/v1/bodies/{world.a.body_id}/shared-internal-audits"
    assert (await client.get(body_url, headers=auditor)).json() == []
    assert (await client.get(f"{body_url}/{audit['id']}", headers=auditor)).status_code == 404

    share = f"{_org(world)}/internal-audits/{audit['id']}/share"
    r = await client.post(share, json={"body_id": str(world.a.body_id)}, headers=qm)
    assert r.status_code == 422  # no engagement with that body yet
    await engagement(world.a.org_id, world.a.body_id)
    r = await client.post(share, json={"body_id": str(world.a.body_id)}, headers=qm)
    assert r.status_code == 200
    assert r.json()["shared_body_name"] == "Body A Certification"
    r = await client.get(f"{body_url}/{audit['id']}", headers=auditor)
    assert r.status_code == 200
    assert [f["grade"] for f in r.json()["findings"]] == ["major"]
    other = world.actor("b", "body:owner").headers
    r = await client.get(
        f"/api/v1/bodies/{world.b.body_id}/shared-internal-audits/{audit['id']}", headers=other
    )
    assert r.status_code == 404

    r = await client.post(share, json={"body_id": None}, headers=qm)
    assert r.status_code == 200
    assert r.json()["shared_body_id"] is None
    assert (await client.get(f"{body_url}/{audit['id']}", headers=auditor)).status_code == 404


async def test_stage1_panel_needs_full_cycle_and_review(
    client: httpx.AsyncClient, world: World
) -> None:
    qm = world.actor("a", "org:quality_manager").headers
    panel_url = f"{_org(world)}/readiness"
    # Held more than 12 months ago: it no longer counts towards the cycle.
    stale = await _audit(client, world, ["8", "9", "10"], days_ago=420)
    await _complete(client, world, stale, 400)
    first = await _audit(client, world, ["4", "5", "6", "7"], days_ago=60)
    await _complete(client, world, first, 55)
    second = await _audit(client, world, ["8.1", "9", "10.2"], days_ago=20)
    # Planned but not held: it does not count yet.
    panel = (await client.get(panel_url, headers=qm)).json()["stage1"]
    assert panel["clauses_not_audited"] == ["8", "9", "10"]
    await _complete(client, world, second, 15)
    panel = (await client.get(panel_url, headers=qm)).json()["stage1"]
    assert panel["internal_audit_cycle"] is True
    assert panel["management_review"] is False
    assert panel["ready"] is False

    r = await client.post(
        f"{_org(world)}/management-reviews",
        json={
            "held_on": (clock.today() - dt.timedelta(days=5)).isoformat(),
            "attendees": "Managing director, quality manager, production lead",
            "inputs": ["previous_actions", "performance", "resources"],
            "decisions": "Fund a second calibration bench.",
        },
        headers=qm,
    )
    assert r.status_code == 201, r.text
    assert "improvement" in r.json()["missing_inputs"]
    panel = (await client.get(panel_url, headers=qm)).json()["stage1"]
    assert panel["ready"] is True
    assert panel["last_management_review"] == (clock.today() - dt.timedelta(days=5)).isoformat()

    r = await client.post(
        f"{_org(world)}/management-reviews",
        json={"held_on": clock.today().isoformat(), "attendees": "x", "inputs": ["gossip"]},
        headers=qm,
    )
    assert r.status_code == 422
    r = await client.post(
        f"{_org(world)}/internal-audits/{first['id']}/complete", json={}, headers=qm
    )
    assert r.status_code == 409
