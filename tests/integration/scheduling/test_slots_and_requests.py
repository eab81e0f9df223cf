"""Slot finder and client self-service booking: earliest free leads, private calendars, slot_taken."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from marketplace.core.errors import Conflict
from marketplace.scheduling.auditors import add_unavailability, set_settings
from marketplace.scheduling.booking import TeamMember, propose_audit
from marketplace.scheduling.context import audit_context
from marketplace.scheduling.slots import find_slots, request_booking
from marketplace.scheduling.tables import AuditAssignment
from tests.factories import World, make_organisation
from tests.factories.scheduling import at, auditor, engagement

pytestmark = pytest.mark.usefixtures("frozen_clock")


def t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


async def test_slots_skip_weekends_time_off_and_bookings(
    client: httpx.AsyncClient, world: World
) -> None:
    started = await engagement(world.a.org_id, world.a.body_id)
    audit_id = started.audit_ids["stage1"]
    lead = await auditor(world.a.body_id)
    await auditor(world.a.body_id, "Not Qualified", qualifications=[])
    await auditor(world.a.body_id, "Not A Lead", lead=False)
    # Today is Monday 2027-03-01: slots start tomorrow. Time off Tue-Wed, a booking on Thursday.
    await add_unavailability(
        None,
        lead,
        {"starts_at": t(at("2027-03-02", 0)), "ends_at": t(at("2027-03-04", 0)), "reason": ""},
    )
    other = await engagement(world.a.org_id, world.a.body_id)
    await propose_audit(
        other.audit_ids["stage1"],
        None,
        starts_at=t(at("2027-03-04", 9)),
        ends_at=t(at("2027-03-04", 17)),
        time_zone="Europe/London",
        team=[TeamMember(lead, "lead")],
    )
    headers = world.actor("a", "body:scheduler").headers
    r = await client.get(f"/api/v1/audits/{audit_id}/slots?days=2", headers=headers)
    assert r.status_code == 200, r.text
    slots = r.json()
    assert len(slots) == 10
    # Fri 5th + Mon 8th spans the weekend; then Mon 8th onwards.
    assert slots[0]["starts_at"].startswith("2027-03-05T09:00")
    assert slots[0]["ends_at"].startswith("2027-03-08T17:00")
    assert slots[0]["auditor_ids"] == [str(lead)]
    assert slots[1]["starts_at"].startswith("2027-03-08T09:00")
    # After the UK clock change 09:00 local is 08:00Z.
    late = await client.get(f"/api/v1/audits/{audit_id}/slots?days=1", headers=headers)
    assert all(s["starts_at"][11:13] == "09" for s in late.json())


async def test_clients_see_slots_only_with_self_service_and_never_who(
    client: httpx.AsyncClient, world: World
) -> None:
    started = await engagement(world.a.org_id, world.a.body_id)
    audit_id = started.audit_ids["stage1"]
    await auditor(world.a.body_id)
    headers = world.actor("a", "org:quality_manager").headers
    r = await client.get(f"/api/v1/audits/{audit_id}/slots?days=1", headers=headers)
    assert (r.status_code, r.json()["code"]) == (409, "self_service_disabled")
    r = await client.get(
        f"/api/v1/audits/{audit_id}/slots", headers=world.actor("a", "org:member").headers
    )
    assert r.status_code == 403
    await set_settings(None, world.a.body_id, True)
    r = await client.get(f"/api/v1/audits/{audit_id}/slots?days=1", headers=headers)
    assert r.status_code == 200
    assert r.json()
    assert all(s["auditor_ids"] == [] for s in r.json())


async def test_booking_request_then_proposal_or_decline(
    client: httpx.AsyncClient, world: World
) -> None:
    await set_settings(None, world.a.body_id, True)
    lead = await auditor(world.a.body_id)
    first = await engagement(world.a.org_id, world.a.body_id)
    other_org, _ = await make_organisation("Second Client Ltd")
    second = await engagement(other_org, world.a.body_id)
    client_h = world.actor("a", "org:owner").headers
    slot = (
        await client.get(
            f"/api/v1/audits/{first.audit_ids['stage1']}/slots?days=1", headers=client_h
        )
    ).json()[0]
    r = await client.post(
        f"/api/v1/audits/{first.audit_ids['stage1']}/booking-request",
        json={"starts_at": slot["starts_at"], "ends_at": slot["ends_at"]},
        headers=client_h,
    )
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "requested"
    assert r.json()["team"] == []  # the held lead is not the client's business
    # The only lead is held: the same slot for another client's audit is taken.
    with pytest.raises(Conflict) as taken:
        await request_booking(
            second.audit_ids["stage1"], None, t(slot["starts_at"]), t(slot["ends_at"])
        )
    assert taken.value.code == "slot_taken"
    # Outside the window is refused as such.
    r = await client.post(
        f"/api/v1/audits/{first.audit_ids['stage2']}/booking-request",
        json={"starts_at": slot["starts_at"], "ends_at": slot["ends_at"]},
        headers=client_h,
    )
    assert (r.status_code, r.json()["code"]) == (409, "outside_window")
    # The body turns the request into a proposal with its team in one step.
    body_h = world.actor("a", "body:scheduler").headers
    r = await client.post(
        f"/api/v1/audits/{first.audit_ids['stage1']}/proposal",
        json={
            "starts_at": slot["starts_at"],
            "ends_at": slot["ends_at"],
            "time_zone": "Europe/London",
            "team": [{"auditor_id": str(lead), "role": "lead"}],
        },
        headers=body_h,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "proposed"
    assert await AuditAssignment.count().where(AuditAssignment.live.eq(True)).run() == 1

    # A request the body declines frees the held lead and says why.
    await set_settings(None, world.a.body_id, True)
    r = await client.post(
        f"/api/v1/audits/{first.audit_ids['stage1']}/booking-request",
        json={"starts_at": at("2027-03-16", 9), "ends_at": at("2027-03-16", 17)},
        headers=client_h,
    )
    assert (r.status_code, r.json()["code"]) == (409, "invalid_state")
    r = await client.post(
        f"/api/v1/audits/{second.audit_ids['stage1']}/booking-request",
        json={"starts_at": at("2027-03-16", 9), "ends_at": at("2027-03-16", 17)},
        headers=client_h,
    )
    assert r.status_code == 404  # not this client's audit
    await request_booking(
        second.audit_ids["stage1"], None, t(at("2027-03-16", 9)), t(at("2027-03-16", 17))
    )
    r = await client.post(
        f"/api/v1/audits/{second.audit_ids['stage1']}/booking-request/decline",
        json={"reason": "Our lead is needed elsewhere"},
        headers=body_h,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "planned"
    assert r.json()["history"][-1]["reason"] == "Our lead is needed elsewhere"
    assert await AuditAssignment.count().where(AuditAssignment.live.eq(True)).run() == 1


async def test_slots_late_in_the_window_are_found_and_none_past_it(world: World) -> None:
    started = await engagement(world.a.org_id, world.a.body_id)
    lead = await auditor(world.a.body_id)
    await add_unavailability(
        None, lead, {"starts_at": t(at("2027-03-01", 0)), "ends_at": t(at("2027-05-01", 0))}
    )
    ctx = await audit_context(started.audit_ids["stage1"])
    slots = await find_slots(ctx, 3)
    # Window ends Sunday 2027-05-30: the last 3-day slot starts Wednesday the 26th.
    assert [s.starts_at.date().isoformat() for s in slots] == [
        "2027-05-03",
        "2027-05-04",
        "2027-05-05",
        "2027-05-06",
        "2027-05-07",
        "2027-05-10",
        "2027-05-11",
        "2027-05-12",
        "2027-05-13",
        "2027-05-14",
    ]
    assert slots[0].starts_at == t("2027-05-03T08:00:00+00:00")
    # Twenty working days from Monday 3 May end on Friday the 28th, the last that fit.
    assert [s.starts_at.date().isoformat() for s in await find_slots(ctx, 20)] == ["2027-05-03"]
    assert [s.starts_at.date().isoformat() for s in await find_slots(ctx, 19)] == [
        "2027-05-03",
        "2027-05-04",
    ]
