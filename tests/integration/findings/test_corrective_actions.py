"""Corrective action workflow: answer, submit, review, verify, escalate; every refusal; the tracker."""

from __future__ import annotations

import datetime as dt

import httpx

from marketplace.core import clock
from tests.factories import World
from tests.factories.findings import ANSWER, answered, issued_report


def _answer() -> dict[str, str]:
    return {**ANSWER, "target_date": (clock.today() + dt.timedelta(days=20)).isoformat()}


async def test_full_cycle_open_submit_accept_verify(
    client: httpx.AsyncClient, world: World
) -> None:
    _made, _report, actions = await issued_report(world.a.org_id, world.a.body_id, ("major",))
    ca = actions["major"]
    qm = world.actor("a", "org:quality_manager").headers
    auditor = world.actor("a", "body:auditor").headers
    r = await client.get(f"/api/v1/corrective-actions/{ca}", headers=qm)
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "open"
    assert body["finding"]["clause"] == "8.5.1"
    assert body["overdue"] is False

    # Submitting an empty answer is refused with the missing fields.
    r = await client.post(f"/api/v1/corrective-actions/{ca}/submit", headers=qm)
    assert r.status_code == 409
    assert r.json()["code"] == "incomplete_answer"
    assert {e["field"] for e in r.json()["errors"]} == {
        "correction",
        "root_cause_method",
        "root_cause",
        "action_plan",
        "target_date",
    }

    member = world.actor("a", "org:member")
    r = await client.patch(
        f"/api/v1/corrective-actions/{ca}",
        json={**_answer(), "owner_id": str(member.user_id)},
        headers=qm,
    )
    assert r.status_code == 200, r.text
    assert r.json()["owner_id"] == str(member.user_id)
    # The assigned owner may answer even with the plain member role.
    r = await client.patch(
        f"/api/v1/corrective-actions/{ca}",
        json={"correction": "Batch quarantined and re-inspected"},
        headers=member.headers,
    )
    assert r.status_code == 200, r.text
    r = await client.post(f"/api/v1/corrective-actions/{ca}/submit", headers=member.headers)
    assert r.status_code == 200
    assert r.json()["status"] == "submitted"
    r = await client.patch(
        f"/api/v1/corrective-actions/{ca}", json={"correction": "late"}, headers=qm
    )
    assert r.status_code == 409
    assert r.json()["code"] == "not_editable"

    r = await client.post(
        f"/api/v1/corrective-actions/{ca}/verify", json={"effective": True}, headers=auditor
    )
    assert r.status_code == 409
    assert r.json()["code"] == "not_accepted"
    r = await client.post(
        f"/api/v1/corrective-actions/{ca}/review",
        json={"decision": "accept", "comment": "Good"},
        headers=auditor,
    )
    assert r.status_code == 200
    assert r.json()["status"] == "accepted"
    r = await client.post(
        f"/api/v1/corrective-actions/{ca}/review", json={"decision": "accept"}, headers=auditor
    )
    assert r.status_code == 409
    assert r.json()["code"] == "not_submitted"
    r = await client.post(
        f"/api/v1/corrective-actions/{ca}/verify",
        json={"effective": True, "comment": "Seen on site"},
        headers=auditor,
    )
    assert r.status_code == 200
    final = r.json()
    assert final["status"] == "closed"
    assert [h["action"] for h in final["history"]] == [
        "marketplace.corrective_action.opened",
        "marketplace.corrective_action.updated",
        "marketplace.corrective_action.updated",
        "marketplace.corrective_action.submitted",
        "marketplace.corrective_action.accepted",
        "marketplace.corrective_action.verified",
    ]


async def test_reject_and_ineffective_go_back_to_the_client(
    client: httpx.AsyncClient, world: World
) -> None:
    _made, _report, actions = await issued_report(
        world.a.org_id, world.a.body_id, ("major", "minor")
    )
    auditor = world.actor("a", "body:auditor").headers
    ca = actions["minor"]
    await answered(ca, "submitted")
    r = await client.post(
        f"/api/v1/corrective-actions/{ca}/review", json={"decision": "reject"}, headers=auditor
    )
    assert r.status_code == 422  # a rejection says why
    r = await client.post(
        f"/api/v1/corrective-actions/{ca}/review",
        json={"decision": "reject", "comment": "Dig deeper"},
        headers=auditor,
    )
    assert r.json()["status"] == "rejected"
    assert r.json()["review_comment"] == "Dig deeper"
    qm = world.actor("a", "org:quality_manager").headers
    assert (
        await client.patch(
            f"/api/v1/corrective-actions/{ca}", json={"root_cause": "Deeper"}, headers=qm
        )
    ).status_code == 200
    assert (await client.post(f"/api/v1/corrective-actions/{ca}/submit", headers=qm)).json()[
        "status"
    ] == "submitted"

    major = actions["major"]
    await answered(major, "accepted")
    r = await client.post(
        f"/api/v1/corrective-actions/{major}/verify", json={"effective": False}, headers=auditor
    )
    assert r.status_code == 422
    r = await client.post(
        f"/api/v1/corrective-actions/{major}/verify",
        json={"effective": False, "comment": "Recurred"},
        headers=auditor,
    )
    assert r.json()["status"] == "rejected"


async def test_roles(client: httpx.AsyncClient, world: World) -> None:
    _made, _report, actions = await issued_report(world.a.org_id, world.a.body_id, ("major",))
    ca = actions["major"]
    # A plain member who is not the owner cannot answer; the body cannot answer for the client.
    assert (
        await client.patch(
            f"/api/v1/corrective-actions/{ca}",
            json={"correction": "x"},
            headers=world.actor("a", "org:member").headers,
        )
    ).status_code == 403
    assert (
        await client.patch(
            f"/api/v1/corrective-actions/{ca}",
            json={"correction": "x"},
            headers=world.actor("a", "body:owner").headers,
        )
    ).status_code == 403
    # The client cannot review its own answer; finance cannot review.
    for key in ("org:owner", "body:finance"):
        r = await client.post(
            f"/api/v1/corrective-actions/{ca}/review",
            json={"decision": "accept"},
            headers=world.actor("a", key).headers,
        )
        assert r.status_code == 403
    # Another tenant learns nothing.
    for key in ("org:owner", "body:owner"):
        assert (
            await client.get(
                f"/api/v1/corrective-actions/{ca}", headers=world.actor("b", key).headers
            )
        ).status_code == 404
    # The owner must belong to the organisation.
    r = await client.patch(
        f"/api/v1/corrective-actions/{ca}",
        json={"owner_id": str(world.actor("b", "org:owner").user_id)},
        headers=world.actor("a", "org:owner").headers,
    )
    assert r.status_code == 422
    r = await client.patch(
        f"/api/v1/corrective-actions/{ca}",
        json={"target_date": "2000-01-01"},
        headers=world.actor("a", "org:owner").headers,
    )
    assert r.status_code == 422
    r = await client.patch(
        f"/api/v1/corrective-actions/{ca}",
        json={"root_cause_method": "astrology"},
        headers=world.actor("a", "org:owner").headers,
    )
    assert r.status_code in (400, 422)


async def test_escalation_of_an_overdue_minor(client: httpx.AsyncClient, world: World) -> None:
    _made, _report, actions = await issued_report(
        world.a.org_id, world.a.body_id, ("major", "minor")
    )
    auditor = world.actor("a", "body:auditor").headers
    minor, major = actions["minor"], actions["major"]
    r = await client.post(f"/api/v1/corrective-actions/{minor}/escalate", headers=auditor)
    assert r.status_code == 409
    assert r.json()["code"] == "not_overdue"
    r = await client.post(f"/api/v1/corrective-actions/{major}/escalate", headers=auditor)
    assert r.status_code == 409
    assert r.json()["code"] == "not_minor"

    # Day 30 is still on time; day 31 is overdue.
    clock.travel_to(clock.now() + dt.timedelta(days=30))
    assert (
        await client.post(f"/api/v1/corrective-actions/{minor}/escalate", headers=auditor)
    ).status_code == 409
    clock.travel_to(clock.now() + dt.timedelta(days=1))
    org = world.actor("a", "org:owner").headers
    listed = (
        await client.get(
            f"/api/v1/organisations/{world.a.org_id}/corrective-actions?overdue=true", headers=org
        )
    ).json()
    assert [i["id"] for i in listed["items"]] == [str(minor)]
    assert (
        await client.post(f"/api/v1/corrective-actions/{minor}/escalate", headers=org)
    ).status_code == 403
    r = await client.post(
        f"/api/v1/corrective-actions/{minor}/escalate",
        json={"reason": "No plan after 30 days"},
        headers=auditor,
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["grade"] == "major"
    assert out["escalated"] is True
    assert out["due_on"] == (clock.today() + dt.timedelta(days=90)).isoformat()
    assert out["overdue"] is False


async def test_tracker_filters_and_paging(client: httpx.AsyncClient, world: World) -> None:
    _made, _report, actions = await issued_report(
        world.a.org_id, world.a.body_id, ("major", "minor", "minor", "observation")
    )
    await answered(actions["major"], "submitted")
    await issued_report(world.b.org_id, world.b.body_id, ("major",))
    org = world.actor("a", "org:member").headers
    base = f"/api/v1/organisations/{world.a.org_id}/corrective-actions"
    page = (await client.get(base, headers=org)).json()
    assert page["total"] == 3
    assert page["page"] == 1
    assert page["per_page"] == 20
    assert {i["organisation_id"] for i in page["items"]} == {str(world.a.org_id)}
    assert (await client.get(f"{base}?grade=minor", headers=org)).json()["total"] == 2
    assert (await client.get(f"{base}?status=submitted", headers=org)).json()["total"] == 1
    assert (await client.get(f"{base}?overdue=true", headers=org)).json()["total"] == 0
    paged = (await client.get(f"{base}?per_page=2&page=2", headers=org)).json()
    assert len(paged["items"]) == 1
    assert (await client.get(f"{base}?status=bogus", headers=org)).status_code == 422
    assert (await client.get(f"{base}?per_page=1000", headers=org)).status_code == 422
    # The body sees the actions on its own findings, not another body's.
    body_list = (
        await client.get(
            f"/api/v1/bodies/{world.a.body_id}/corrective-actions",
            headers=world.actor("a", "body:auditor").headers,
        )
    ).json()
    assert body_list["total"] == 3
    assert (
        await client.get(base, headers=world.actor("a", "body:owner").headers)
    ).status_code == 404
