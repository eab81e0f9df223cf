"""Gap self-assessment over the API: checklist per standard, ratings, scores, gaps, history, actions."""

from __future__ import annotations

import datetime as dt

import httpx

from marketplace.core import clock
from tests.factories import World


async def _start(client: httpx.AsyncClient, world: World, standard: str = "ISO 9001:2015") -> dict:
    qm = world.actor("a", "org:quality_manager").headers
    r = await client.post(
        f"/api/v1/organisations/{world.a.org_id}/readiness/assessments",
        json={"standard": standard},
        headers=qm,
    )
    assert r.status_code == 201, r.text
    return r.json()


def _item(assessment: dict, clause: str) -> dict:
    return next(i for i in assessment["items"] if i["clause"] == clause)


async def test_checklist_follows_the_standard(client: httpx.AsyncClient, world: World) -> None:
    qms = await _start(client, world)
    clauses = [i["clause"] for i in qms["items"]]
    assert clauses[0] == "4"
    assert clauses[-1] == "10.3"
    assert "8.7" in clauses
    assert clauses.index("10") > clauses.index("9.3")
    assert _item(qms, "6.2")["title"] == "Quality objectives and planning to achieve them"
    # A fresh assessment: every clause missing, nothing in place yet.
    assert qms["overall"]["percent"] == 0
    assert qms["level"] == "early"

    ems = await _start(client, world, "ISO 14001:2015")
    assert _item(ems, "8.2")["title"] == "Emergency preparedness and response"
    assert "8.7" not in [i["clause"] for i in ems["items"]]
    isms = await _start(client, world, "ISO/IEC 27001:2022")
    assert _item(isms, "8.3")["title"] == "Information security risk treatment"

    again = await client.post(
        f"/api/v1/organisations/{world.a.org_id}/readiness/assessments",
        json={"standard": "ISO 9001:2015"},
        headers=world.actor("a", "org:owner").headers,
    )
    assert again.status_code == 409
    assert again.json()["code"] == "assessment_exists"
    unknown = await client.post(
        f"/api/v1/organisations/{world.a.org_id}/readiness/assessments",
        json={"standard": "ISO 0000"},
        headers=world.actor("a", "org:owner").headers,
    )
    assert unknown.status_code == 422


async def test_rating_moves_scores_gaps_and_history(
    client: httpx.AsyncClient, world: World
) -> None:
    assessment = await _start(client, world)
    qm = world.actor("a", "org:quality_manager").headers
    base = f"/api/v1/organisations/{world.a.org_id}/readiness/items"
    group4 = [i for i in assessment["items"] if i["clause"].startswith("4.")]
    ratings = ["in_place", "in_place", "partly", "not_applicable"]
    for item, rating in zip(group4, ratings, strict=True):
        r = await client.patch(f"{base}/{item['id']}", json={"rating": rating}, headers=qm)
        assert r.status_code == 200, r.text
    out = r.json()
    # (1 + 1 + 0.5) / 3 applicable, the n/a clause left out.
    assert out["groups"]["4"]["percent"] == 83
    assert out["groups"]["4"]["counts"]["not_applicable"] == 1
    applicable = sum(1 for i in out["items"] if "." in i["clause"]) - 1
    assert out["overall"]["percent"] == round(100 * 2.5 / applicable)
    gap_clauses = [g["clause"] for g in out["gaps"]]
    assert "4.3" in gap_clauses
    assert "4.1" not in gap_clauses
    assert "4.4" not in gap_clauses
    # Missing clauses come before the partly met one.
    assert gap_clauses.index("5.1") < gap_clauses.index("4.3")
    # One snapshot per day, updated by each change.
    assert len(out["history"]) == 1
    assert out["history"][0]["overall"] == out["overall"]["percent"]

    clock.travel_to(clock.now() + dt.timedelta(days=2))
    item_51 = _item(out, "5.1")
    r = await client.patch(
        f"{base}/{item_51['id']}",
        json={
            "rating": "partly",
            "note": "Policy signed, not yet communicated",
            "owner_id": str(world.actor("a", "org:member").user_id),
            "target_date": (clock.today() + dt.timedelta(days=30)).isoformat(),
        },
        headers=qm,
    )
    out = r.json()
    assert len(out["history"]) == 2
    assert out["history"][1]["overall"] > out["history"][0]["overall"]
    item_51 = _item(out, "5.1")
    assert item_51["owner_name"] == "member of org a"
    assert item_51["note"] == "Policy signed, not yet communicated"

    heading = _item(out, "5")
    r = await client.patch(f"{base}/{heading['id']}", json={"rating": "in_place"}, headers=qm)
    assert r.status_code == 409
    r = await client.patch(f"{base}/{item_51['id']}", json={"rating": "done"}, headers=qm)
    assert r.status_code == 400 or r.status_code == 422
    outsider_owner = {"owner_id": str(world.actor("b", "org:owner").user_id)}
    r = await client.patch(f"{base}/{item_51['id']}", json=outsider_owner, headers=qm)
    assert r.status_code == 422
    member = world.actor("a", "org:member").headers
    r = await client.patch(f"{base}/{item_51['id']}", json={"rating": "missing"}, headers=member)
    assert r.status_code == 403
    # Another organisation's item is unknown.
    other = world.actor("b", "org:owner").headers
    r = await client.patch(
        f"/api/v1/organisations/{world.b.org_id}/readiness/items/{item_51['id']}",
        json={"rating": "missing"},
        headers=other,
    )
    assert r.status_code == 404


async def test_gap_becomes_an_internal_action(client: httpx.AsyncClient, world: World) -> None:
    assessment = await _start(client, world)
    qm = world.actor("a", "org:quality_manager").headers
    org = world.a.org_id
    item = _item(assessment, "9.2")
    due = (clock.today() + dt.timedelta(days=14)).isoformat()
    owner = str(world.actor("a", "org:member").user_id)
    r = await client.post(
        f"/api/v1/organisations/{org}/readiness/items/{item['id']}/action",
        json={"owner_id": owner, "due_on": due},
        headers=qm,
    )
    assert r.status_code == 201, r.text
    action = r.json()
    assert action["clause"] == "9.2"
    assert action["title"] == "Close the gap in 9.2 Internal audit"
    assert action["owner_id"] == owner
    assert action["due_on"] == due
    assert action["status"] == "open"
    assert not action["overdue"]

    listed = await client.get(f"/api/v1/organisations/{org}/readiness/actions", headers=qm)
    assert listed.json()["total"] == 1
    done = await client.post(
        f"/api/v1/organisations/{org}/readiness/actions/{action['id']}/done", headers=qm
    )
    assert done.status_code == 200
    assert done.json()["status"] == "done"
    again = await client.post(
        f"/api/v1/organisations/{org}/readiness/actions/{action['id']}/done", headers=qm
    )
    assert again.status_code == 409

    await client.patch(
        f"/api/v1/organisations/{org}/readiness/items/{item['id']}",
        json={"rating": "in_place"},
        headers=qm,
    )
    r = await client.post(
        f"/api/v1/organisations/{org}/readiness/items/{item['id']}/action", json={}, headers=qm
    )
    assert r.status_code == 409
    assert r.json()["code"] == "not_a_gap"


async def test_overview_lists_assessments(client: httpx.AsyncClient, world: World) -> None:
    await _start(client, world)
    r = await client.get(
        f"/api/v1/organisations/{world.a.org_id}/readiness",
        headers=world.actor("a", "org:member").headers,
    )
    assert r.status_code == 200
    out = r.json()
    assert [a["standard"] for a in out["assessments"]] == ["ISO 9001:2015"]
    assert out["stage1"]["ready"] is False
    assert out["stage1"]["clauses_not_audited"] == ["4", "5", "6", "7", "8", "9", "10"]
