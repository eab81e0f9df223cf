"""Scheduling pages as a browser uses them: auditors, proposal, client confirmation, board, programme."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from marketplace.scheduling.auditors import list_auditors
from marketplace.scheduling.booking import get_audit
from marketplace.scheduling.context import audit_context
from tests.factories import World, csrf_from, sign_in
from tests.factories.scheduling import engagement

pytestmark = pytest.mark.usefixtures("frozen_clock")


async def _post(
    client: httpx.AsyncClient, page: str, action: str, data: dict[str, Any]
) -> httpx.Response:
    html = (await client.get(page)).text
    return await client.post(action, data={**data, "_csrf_token": csrf_from(html)})


async def test_body_adds_an_auditor_proposes_and_the_client_confirms(
    client: httpx.AsyncClient, world: World
) -> None:
    started = await engagement(world.a.org_id, world.a.body_id)
    audit_id = started.audit_ids["stage1"]
    await sign_in(client, world.actor("a", "body:scheduler").user_id)
    page = f"/manage/bodies/{world.a.body_id}/auditors"
    r = await _post(
        client,
        page,
        page,
        {
            "name": "Lee Lead",
            "email": "lee@auditors.test",
            "time_zone": "Europe/London",
            "lead": "on",
            "standard": "ISO 9001:2015",
            "iaf_sector": "28",
        },
    )
    assert r.status_code == 200, r.text
    assert "Auditor added." in r.text
    r = await _post(client, page, page, {"name": "", "email": "nope", "time_zone": "UTC"})
    assert r.status_code == 422
    assert 'class="field-error"' in r.text or "alert error" in r.text
    lead = (await list_auditors(world.a.body_id))[0].id

    r = await client.get(f"/audits/{audit_id}")
    assert r.status_code == 200
    assert "Earliest available" in r.text  # the slot finder offers dates to the planner
    r = await _post(
        client,
        f"/audits/{audit_id}",
        f"/audits/{audit_id}/proposal",
        {
            "starts_at": "2027-06-10T09:00",
            "ends_at": "2027-06-10T17:00",
            "time_zone": "Europe/London",
            "lead": str(lead),
        },
    )
    assert r.status_code == 409
    assert "outside" in r.text
    r = await _post(
        client,
        f"/audits/{audit_id}",
        f"/audits/{audit_id}/proposal",
        {
            "starts_at": "2027-03-29T09:00",
            "ends_at": "2027-03-30T17:00",
            "time_zone": "Europe/London",
            "mode": "remote",
            "lead": str(lead),
        },
    )
    assert r.status_code == 303, r.text
    audit = await get_audit(await audit_context(audit_id))
    assert audit.status == "proposed"
    assert audit.starts_at.isoformat() == "2027-03-29T08:00:00+00:00"  # 09:00 BST

    for path in (
        f"/manage/bodies/{world.a.body_id}/planning",
        f"/manage/bodies/{world.a.body_id}/planning?auditor={lead}",
        f"/manage/bodies/{world.a.body_id}/auditors/{lead}/agenda",
    ):
        r = await client.get(path)
        assert r.status_code == 200, path
        assert "stage1" in r.text

    await sign_in(client, world.actor("a", "org:quality_manager").user_id)
    r = await _post(client, f"/audits/{audit_id}", f"/audits/{audit_id}/confirm", {})
    assert r.status_code == 303
    r = await client.get(f"/organisations/{world.a.org_id}/audit-programme")
    assert r.status_code == 200
    assert "<svg" in r.text
    assert "confirmed" in r.text

    await sign_in(client, world.actor("b", "org:quality_manager").user_id)
    assert (await client.get(f"/audits/{audit_id}")).status_code == 404


async def test_planning_board_opens_on_what_still_needs_planning(
    client: httpx.AsyncClient, world: World
) -> None:
    from marketplace.scheduling.tables import Audit

    started = await engagement(world.a.org_id, world.a.body_id)
    stage1 = started.audit_ids["stage1"]
    await Audit.update({Audit.status: "completed"}).where(Audit.id == stage1).run()
    await sign_in(client, world.actor("a", "body:scheduler").user_id)
    board = (await client.get(f"/manage/bodies/{world.a.body_id}/planning")).text
    assert f"/audits/{stage1}" not in board, "completed audits leave the default board"
    assert f"/audits/{started.audit_ids['stage2']}" in board
    history = (await client.get(f"/manage/bodies/{world.a.body_id}/planning?status=any")).text
    assert f"/audits/{stage1}" in history
