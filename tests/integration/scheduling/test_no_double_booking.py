"""No double booking, ever: many concurrent proposals for one auditor, exactly one wins."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from marketplace.scheduling.tables import AuditAssignment
from tests.factories import World
from tests.factories.scheduling import at, auditor, engagement
from tests.integration.scheduling.conftest import on_postgres

pytestmark = pytest.mark.usefixtures("frozen_clock")


async def _race(client: httpx.AsyncClient, world: World, n: int) -> None:
    lead = await auditor(world.a.body_id)
    audits = [
        (await engagement(world.a.org_id, world.a.body_id)).audit_ids["stage1"] for _ in range(n)
    ]
    headers = world.actor("a", "body:scheduler").headers

    async def propose(i: int, audit_id: object) -> httpx.Response:
        # Every proposal overlaps every other: same day, staggered by minutes.
        return await client.post(
            f"/api/v1/audits/{audit_id}/proposal",
            json={
                "starts_at": at("2027-03-10", 9).replace(":00:00", f":{i % 60:02d}:00"),
                "ends_at": at("2027-03-10", 17),
                "time_zone": "Europe/London",
                "team": [{"auditor_id": str(lead), "role": "lead"}],
            },
            headers=headers,
        )

    responses = await asyncio.gather(*(propose(i, a) for i, a in enumerate(audits)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * (n - 1), [
        r.text for r in responses if r.status_code not in (200, 409)
    ]
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"auditor_conflict"}
    live = (
        await AuditAssignment.count()
        .where((AuditAssignment.auditor == lead) & AuditAssignment.live.eq(True))
        .run()
    )
    assert live == 1


@pytest.mark.postgres_only
async def test_fifty_concurrent_proposals_on_postgres(
    client: httpx.AsyncClient, world: World
) -> None:
    await _race(client, world, 50)


async def test_concurrent_proposals_on_sqlite(client: httpx.AsyncClient, world: World) -> None:
    if on_postgres():
        pytest.skip("the PostgreSQL variant runs 50")
    await _race(client, world, 10)


async def test_concurrent_reschedules_of_one_audit_leave_one_team(
    client: httpx.AsyncClient, world: World
) -> None:
    """Found by bench/load_mixed.py: two moves of one audit at once each released the team the
    other had not yet committed and both inserted theirs, leaving two live leads (every later
    move then failed with 422). The audit row is now locked for the move."""
    lead = await auditor(world.a.body_id)
    audit_id = (await engagement(world.a.org_id, world.a.body_id)).audit_ids["stage1"]
    headers = world.actor("a", "body:scheduler").headers
    proposed = await client.post(
        f"/api/v1/audits/{audit_id}/proposal",
        json={
            "starts_at": at("2027-03-09", 9),
            "ends_at": at("2027-03-09", 17),
            "time_zone": "Europe/London",
            "team": [{"auditor_id": str(lead), "role": "lead"}],
        },
        headers=headers,
    )
    assert proposed.status_code == 200, proposed.text
    days = ["2027-03-10", "2027-03-11", "2027-03-12", "2027-03-15", "2027-03-16", "2027-03-17"]

    async def move(day: str) -> httpx.Response:
        return await client.post(
            f"/api/v1/audits/{audit_id}/reschedule",
            json={"starts_at": at(day, 9), "ends_at": at(day, 17), "reason": "Moved"},
            headers=headers,
        )

    responses = await asyncio.gather(*(move(d) for d in days * 2))
    assert {r.status_code for r in responses} <= {200, 409}, [
        r.text for r in responses if r.status_code not in (200, 409)
    ]
    live = (
        await AuditAssignment.select(AuditAssignment.auditor, AuditAssignment.role)
        .where((AuditAssignment.audit == audit_id) & AuditAssignment.live.eq(True))
        .run()
    )
    assert [(r["auditor"], r["role"]) for r in live] == [(lead, "lead")]
    again = await move("2027-03-18")
    assert again.status_code == 200, again.text
