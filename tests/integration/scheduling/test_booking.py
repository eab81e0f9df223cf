"""Booking through the API: proposals, every refusal code, confirmation by the own client, DST."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from marketplace.scheduling.booking import cancel_audit
from marketplace.scheduling.engagements import apply_decision
from marketplace.scheduling.tables import AuditAssignment
from tests.factories import World
from tests.factories.scheduling import STANDARD, at, auditor, engagement

pytestmark = pytest.mark.usefixtures("frozen_clock")


def proposal(
    lead: Any, day: str = "2027-03-10", hours: tuple[int, int] = (9, 17), **extra: Any
) -> dict[str, Any]:
    body = {
        "starts_at": at(day, hours[0]),
        "ends_at": at(day, hours[1]),
        "time_zone": "Europe/London",
        "mode": "onsite",
        "team": [{"auditor_id": str(lead), "role": "lead"}],
    }
    body.update(extra)
    return body


async def _stage1(world: World) -> tuple[str, Any]:
    started = await engagement(world.a.org_id, world.a.body_id)
    return str(started.audit_ids["stage1"]), started


async def test_propose_confirm_reschedule_cancel_keeps_history(
    client: httpx.AsyncClient, world: World
) -> None:
    audit_id, _ = await _stage1(world)
    lead = await auditor(world.a.body_id)
    scheduler = world.actor("a", "body:scheduler").headers
    r = await client.post(
        f"/api/v1/audits/{audit_id}/proposal", json=proposal(lead), headers=scheduler
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "proposed"
    assert out["sequence"] == 0
    assert out["team"] == [
        {"auditor_id": str(lead), "name": "Lee Lead", "role": "lead", "status": "active"}
    ]
    assert out["starts_at"].startswith("2027-03-10T09:00:00")

    # The body cannot confirm for the client; another client cannot even see the audit.
    r = await client.post(f"/api/v1/audits/{audit_id}/confirm", headers=scheduler)
    assert r.status_code == 403
    r = await client.post(
        f"/api/v1/audits/{audit_id}/confirm", headers=world.actor("b", "org:owner").headers
    )
    assert r.status_code == 404
    r = await client.post(
        f"/api/v1/audits/{audit_id}/confirm",
        headers=world.actor("a", "org:quality_manager").headers,
    )
    assert r.status_code == 200
    assert r.json()["status"] == "confirmed"

    r = await client.post(
        f"/api/v1/audits/{audit_id}/reschedule",
        json={
            "starts_at": at("2027-03-17", 9),
            "ends_at": at("2027-03-18", 17),
            "reason": "Plant shutdown",
        },
        headers=scheduler,
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["status"], out["sequence"]) == ("proposed", 1)
    r = await client.post(
        f"/api/v1/audits/{audit_id}/reschedule",
        json={
            "starts_at": at("2027-03-24", 9),
            "ends_at": at("2027-03-24", 17),
            "reason": "Client asks",
        },
        headers=world.actor("a", "org:owner").headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["sequence"] == 2

    r = await client.post(
        f"/api/v1/audits/{audit_id}/cancel", json={"reason": ""}, headers=scheduler
    )
    assert r.status_code == 422
    r = await client.post(
        f"/api/v1/audits/{audit_id}/cancel", json={"reason": "Client withdrew"}, headers=scheduler
    )
    assert r.status_code == 200
    out = r.json()
    assert out["status"] == "cancelled"
    assert out["team"] == []
    assert [h["action"] for h in out["history"]] == [
        "proposed",
        "confirmed",
        "rescheduled",
        "rescheduled",
        "cancelled",
    ]
    assert [h["sequence"] for h in out["history"]] == [0, 0, 1, 2, 3]
    live = await AuditAssignment.count().where(AuditAssignment.live.eq(True)).run()
    assert live == 0


async def _refusal(
    client: httpx.AsyncClient, world: World, audit_id: str, body: dict[str, Any]
) -> httpx.Response:
    return await client.post(
        f"/api/v1/audits/{audit_id}/proposal",
        json=body,
        headers=world.actor("a", "body:owner").headers,
    )


async def test_no_lead(client: httpx.AsyncClient, world: World) -> None:
    audit_id, _ = await _stage1(world)
    member = await auditor(world.a.body_id)
    body = proposal(member)
    body["team"] = [{"auditor_id": str(member), "role": "member"}]
    r = await _refusal(client, world, audit_id, body)
    assert (r.status_code, r.json()["code"]) == (409, "no_lead")


async def test_outside_window(client: httpx.AsyncClient, world: World) -> None:
    audit_id, started = await _stage1(world)
    lead = await auditor(world.a.body_id)
    r = await _refusal(client, world, audit_id, proposal(lead, day="2027-06-01"))
    assert (r.status_code, r.json()["code"]) == (409, "outside_window")
    # Stage 2 has no window before stage 1 is done.
    r = await _refusal(client, world, str(started.audit_ids["stage2"]), proposal(lead))
    assert (r.status_code, r.json()["code"]) == (409, "outside_window")


async def test_not_qualified_unless_lead_or_expert_covers_the_sector(
    client: httpx.AsyncClient, world: World
) -> None:
    audit_id, _ = await _stage1(world)
    lead = await auditor(world.a.body_id, qualifications=[(STANDARD, 17)])
    r = await _refusal(client, world, audit_id, proposal(lead))
    assert (r.status_code, r.json()["code"]) == (409, "not_qualified")
    # A member covering the sector is not enough; a technical expert is.
    helper = await auditor(world.a.body_id, "Exp Ert", lead=False)
    body = proposal(lead)
    body["team"].append({"auditor_id": str(helper), "role": "member"})
    r = await _refusal(client, world, audit_id, body)
    assert (r.status_code, r.json()["code"]) == (409, "not_qualified")
    body["team"][1]["role"] = "expert"
    r = await _refusal(client, world, audit_id, body)
    assert r.status_code == 200, r.text


async def test_a_lead_needs_the_lead_flag(client: httpx.AsyncClient, world: World) -> None:
    audit_id, _ = await _stage1(world)
    plain = await auditor(world.a.body_id, lead=False)
    r = await _refusal(client, world, audit_id, proposal(plain))
    assert (r.status_code, r.json()["code"]) == (409, "not_qualified")


async def test_impartiality(client: httpx.AsyncClient, world: World) -> None:
    audit_id, _ = await _stage1(world)
    lead = await auditor(world.a.body_id)
    headers = world.actor("a", "body:scheduler").headers
    r = await client.post(
        f"/api/v1/auditors/{lead}/consultancy",
        json={"organisation_id": str(world.a.org_id), "ended_on": "2025-03-11"},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    r = await _refusal(client, world, audit_id, proposal(lead))
    assert (r.status_code, r.json()["code"]) == (409, "impartiality")
    # Exactly two years after the consultancy ended the auditor may audit again.
    r = await _refusal(client, world, audit_id, proposal(lead, day="2027-03-11"))
    assert r.status_code == 200, r.text


async def test_auditor_unavailable(client: httpx.AsyncClient, world: World) -> None:
    audit_id, _ = await _stage1(world)
    lead = await auditor(world.a.body_id)
    r = await client.post(
        f"/api/v1/auditors/{lead}/unavailability",
        json={"starts_at": at("2027-03-09", 0), "ends_at": at("2027-03-11", 0), "reason": "Leave"},
        headers=world.actor("a", "body:scheduler").headers,
    )
    assert r.status_code == 201, r.text
    r = await _refusal(client, world, audit_id, proposal(lead))
    assert (r.status_code, r.json()["code"]) == (409, "auditor_unavailable")
    r = await _refusal(client, world, audit_id, proposal(lead, day="2027-03-11"))
    assert r.status_code == 200


async def test_auditor_conflict_but_back_to_back_is_fine(
    client: httpx.AsyncClient, world: World
) -> None:
    first, _ = await _stage1(world)
    other = await engagement(world.a.org_id, world.a.body_id)
    second = str(other.audit_ids["stage1"])
    lead = await auditor(world.a.body_id)
    assert (await _refusal(client, world, first, proposal(lead, hours=(9, 13)))).status_code == 200
    r = await _refusal(client, world, second, proposal(lead, hours=(12, 17)))
    assert (r.status_code, r.json()["code"]) == (409, "auditor_conflict")
    r = await _refusal(client, world, second, proposal(lead, hours=(13, 17)))
    assert r.status_code == 200, r.text


async def test_illegal_transitions_are_409(client: httpx.AsyncClient, world: World) -> None:
    audit_id, _ = await _stage1(world)
    lead = await auditor(world.a.body_id)
    client_h = world.actor("a", "org:owner").headers
    body_h = world.actor("a", "body:owner").headers
    r = await client.post(f"/api/v1/audits/{audit_id}/confirm", headers=client_h)
    assert (r.status_code, r.json()["code"]) == (409, "invalid_state")
    assert (await _refusal(client, world, audit_id, proposal(lead))).status_code == 200
    r = await client.post(f"/api/v1/audits/{audit_id}/complete", headers=body_h)
    assert (r.status_code, r.json()["code"]) == (409, "invalid_state")
    r = await _refusal(client, world, audit_id, proposal(lead))
    assert (r.status_code, r.json()["code"]) == (409, "invalid_state")
    r = await client.post(
        f"/api/v1/audits/{audit_id}/booking-request/decline", json={"reason": "x"}, headers=body_h
    )
    assert (r.status_code, r.json()["code"]) == (409, "invalid_state")


async def test_completing_stage1_opens_stage2_and_decision_plans_the_cycle(
    client: httpx.AsyncClient, world: World
) -> None:
    audit_id, started = await _stage1(world)
    lead = await auditor(world.a.body_id)
    body_h = world.actor("a", "body:scheduler").headers
    assert (await _refusal(client, world, audit_id, proposal(lead))).status_code == 200
    await client.post(
        f"/api/v1/audits/{audit_id}/confirm", headers=world.actor("a", "org:owner").headers
    )
    r = await client.post(
        f"/api/v1/audits/{audit_id}/complete", headers=world.actor("a", "body:auditor").headers
    )
    assert r.status_code == 200
    assert r.json()["completed_on"] == "2027-03-10"
    r = await client.get(f"/api/v1/cycles/{started.cycle_id}", headers=body_h)
    audits = {a["kind"]: a for a in r.json()["audits"]}
    assert (audits["stage2"]["window_start"], audits["stage2"]["window_end"]) == (
        "2027-03-11",
        "2027-09-10",
    )
    assert audits["surveillance1"]["window_start"] is None

    await apply_decision(started.cycle_id, dt.date(2027, 5, 31))
    r = await client.get(
        f"/api/v1/cycles/{started.cycle_id}", headers=world.actor("a", "org:member").headers
    )
    cycle = r.json()
    assert (cycle["decision_date"], cycle["expiry_date"]) == ("2027-05-31", "2030-05-30")
    audits = {a["kind"]: a for a in cycle["audits"]}
    assert (audits["surveillance1"]["window_start"], audits["surveillance1"]["window_end"]) == (
        "2028-02-29",
        "2028-05-31",
    )
    assert audits["surveillance2"]["window_end"] == "2029-05-31"
    assert (audits["recertification"]["window_start"], audits["recertification"]["window_end"]) == (
        "2029-11-30",
        "2030-04-30",
    )
    assert audits["stage1"]["window_state"] == "done"
    assert cycle["certificate_at_risk"] is False


@pytest.mark.parametrize(
    ("tz", "before", "after", "utc_before", "utc_after"),
    [
        # UK clocks go forward on 2027-03-28: 09:00 is 09:00Z before and 08:00Z after.
        ("Europe/London", "2027-03-26", "2027-03-29", "09:00", "08:00"),
        # US clocks go forward on 2027-03-14: 09:00 is 14:00Z before and 13:00Z after.
        ("America/New_York", "2027-03-12", "2027-03-15", "14:00", "13:00"),
    ],
)
async def test_dst_proposals_store_the_right_utc(
    client: httpx.AsyncClient,
    world: World,
    tz: str,
    before: str,
    after: str,
    utc_before: str,
    utc_after: str,
) -> None:
    lead = await auditor(world.a.body_id, time_zone=tz)
    headers = world.actor("a", "body:scheduler").headers
    for day, expected in ((before, utc_before), (after, utc_after)):
        # Offsets as the site's zone has them that day, and naive wall times read in that zone.
        for starts_at in (at(day, 9, tz), f"{day}T09:00:00"):
            started = await engagement(world.a.org_id, world.a.body_id)
            audit_id = started.audit_ids["stage1"]
            r = await client.post(
                f"/api/v1/audits/{audit_id}/proposal",
                json={
                    "starts_at": starts_at,
                    "ends_at": at(day, 10, tz),
                    "time_zone": tz,
                    "team": [{"auditor_id": str(lead), "role": "lead"}],
                },
                headers=headers,
            )
            assert r.status_code == 200, r.text
            stored = (
                await AuditAssignment.select(AuditAssignment.starts_at)
                .where((AuditAssignment.audit == audit_id) & AuditAssignment.live.eq(True))
                .first()
                .run()
            )
            assert stored is not None
            assert stored["starts_at"] == dt.datetime.fromisoformat(f"{day}T{expected}:00+00:00")
            await cancel_audit(audit_id, None, "next case")


async def test_multi_day_audit_across_the_dst_change(
    client: httpx.AsyncClient, world: World
) -> None:
    audit_id, _ = await _stage1(world)
    lead = await auditor(world.a.body_id)
    body = proposal(lead)
    body["starts_at"], body["ends_at"] = at("2027-03-26", 9), at("2027-03-29", 17)
    r = await _refusal(client, world, audit_id, body)
    assert r.status_code == 200, r.text
    assert r.json()["starts_at"].startswith("2027-03-26T09:00")
    assert r.json()["ends_at"].startswith("2027-03-29T16:00")


async def test_bad_input_is_4xx(client: httpx.AsyncClient, world: World) -> None:
    audit_id, _ = await _stage1(world)
    lead = await auditor(world.a.body_id)
    cases = [
        proposal(lead, time_zone="Mars/Olympus"),
        {**proposal(lead), "ends_at": at("2027-03-10", 8)},
        {
            **proposal(lead),
            "team": [{"auditor_id": "00000000-0000-4000-8000-000000000000", "role": "lead"}],
        },
        {**proposal(lead), "team": [{"auditor_id": str(lead), "role": "boss"}]},
        {**proposal(lead), "starts_at": "2027-03-28T01:30:00"},  # skipped by the UK clock change
        {**proposal(lead), "team": [{"auditor_id": str(lead), "role": "lead"}] * 2},
    ]
    for body in cases:
        r = await _refusal(client, world, audit_id, body)
        assert r.status_code in (400, 422), (body, r.text)
    r = await client.post(
        f"/api/v1/audits/{audit_id}/proposal",
        content=b"{not json",
        headers={**world.actor("a", "body:owner").headers, "content-type": "application/json"},
    )
    assert r.status_code == 400
    r = await client.get(
        f"/api/v1/audits/{audit_id}/slots?days=0", headers=world.actor("a", "body:owner").headers
    )
    assert r.status_code == 422
    assert await AuditAssignment.count().run() == 0


async def test_an_auditor_sees_only_audits_of_their_body(
    client: httpx.AsyncClient, world: World
) -> None:
    audit_id, started = await _stage1(world)
    for path in (f"/api/v1/audits/{audit_id}", f"/api/v1/cycles/{started.cycle_id}"):
        r = await client.get(path, headers=world.actor("a", "body:auditor").headers)
        assert r.status_code == 200
        r = await client.get(path, headers=world.actor("b", "body:auditor").headers)
        assert r.status_code == 404
    r = await client.get(
        f"/api/v1/bodies/{world.a.body_id}/audits", headers=world.actor("a", "body:auditor").headers
    )
    assert len(r.json()) == 5
    r = await client.get(
        f"/api/v1/bodies/{world.a.body_id}/audits", headers=world.actor("b", "body:auditor").headers
    )
    assert r.status_code == 404
