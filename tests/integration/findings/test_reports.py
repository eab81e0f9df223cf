"""Report workflow over the API: draft, edit, issue (freeze), amend; refusals and who sees what."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from marketplace.core import clock
from marketplace.core.activity import entries_for_entity
from marketplace.core.errors import Conflict
from marketplace.findings import reports as findings
from marketplace.findings.tables import CorrectiveAction
from tests.factories import World
from tests.factories.findings import answered, finding, issued_report
from tests.factories.scheduling import engagement


async def test_draft_edit_issue_opens_actions_for_nonconformities_only(
    client: httpx.AsyncClient, world: World
) -> None:
    made = await engagement(world.a.org_id, world.a.body_id, held=2)
    auditor = world.actor("a", "body:auditor").headers
    r = await client.post(
        f"/api/v1/audits/{made.audit_ids['stage2']}/report",
        json={
            "summary": "Stage 2 of the QMS",
            "recommendation": "Recommend after majors are verified",
            "findings": [
                finding("major", "8.5.1", world.a.site_id),
                finding("minor", "7.2"),
                finding("observation", "9.1"),
            ],
        },
        headers=auditor,
    )
    assert r.status_code == 201, r.text
    report = r.json()
    assert report["status"] == "draft"
    assert report["revision"] == 1
    assert [f["grade"] for f in report["findings"]] == ["major", "minor", "observation"]
    assert report["findings"][0]["site_name"] == "Head office"

    r = await client.patch(
        f"/api/v1/reports/{report['id']}",
        json={"findings": [finding("major"), finding("minor"), finding("ofi", "10.3")]},
        headers=auditor,
    )
    assert r.status_code == 200, r.text
    assert [f["grade"] for f in r.json()["findings"]] == ["major", "minor", "ofi"]

    # The client does not see a draft.
    client_headers = world.actor("a", "org:member").headers
    assert (
        await client.get(f"/api/v1/reports/{report['id']}", headers=client_headers)
    ).status_code == 404

    r = await client.post(f"/api/v1/reports/{report['id']}/issue", headers=auditor)
    assert r.status_code == 200, r.text
    issued = r.json()
    assert issued["status"] == "issued"
    assert issued["issued_on"] == clock.today().isoformat()
    with_actions = [f for f in issued["findings"] if f["corrective_action_id"]]
    assert [f["grade"] for f in with_actions] == ["major", "minor"]

    actions = {a["grade"]: a for a in await CorrectiveAction.select().run()}
    assert set(actions) == {"major", "minor"}
    assert actions["major"]["due_on"] == clock.today() + dt.timedelta(days=90)
    assert actions["minor"]["due_on"] == clock.today() + dt.timedelta(days=30)

    assert (
        await client.get(f"/api/v1/reports/{report['id']}", headers=client_headers)
    ).status_code == 200
    actions_logged = [e["action"] for e in await entries_for_entity("report", report["id"])]
    assert actions_logged == [
        "marketplace.report.drafted",
        "marketplace.report.edited",
        "marketplace.report.issued",
    ]


async def test_body_policy_overrides_due_dates(client: httpx.AsyncClient, world: World) -> None:
    owner = world.actor("a", "body:owner").headers
    r = await client.put(
        f"/api/v1/bodies/{world.a.body_id}/finding-policy",
        json={"major_response_days": 60, "minor_plan_days": 14},
        headers=owner,
    )
    assert r.status_code == 200, r.text
    await issued_report(world.a.org_id, world.a.body_id, ("major", "minor"))
    due = {a["grade"]: a["due_on"] for a in await CorrectiveAction.select().run()}
    assert due["major"] == clock.today() + dt.timedelta(days=60)
    assert due["minor"] == clock.today() + dt.timedelta(days=14)
    r = await client.put(
        f"/api/v1/bodies/{world.a.body_id}/finding-policy",
        json={"major_response_days": 0, "minor_plan_days": 14},
        headers=owner,
    )
    assert r.status_code in (400, 422)


async def test_refusals(client: httpx.AsyncClient, world: World) -> None:
    made = await engagement(world.a.org_id, world.a.body_id, held=1)
    auditor = world.actor("a", "body:auditor").headers
    path = f"/api/v1/audits/{made.audit_ids['stage2']}/report"
    r = await client.post(path, json={"summary": "x"}, headers=auditor)
    assert r.status_code == 409
    assert r.json()["code"] == "audit_not_completed"

    path = f"/api/v1/audits/{made.audit_ids['stage1']}/report"
    # A site of another organisation is refused field by field.
    r = await client.post(
        path, json={"findings": [finding("minor", site_id=world.b.site_id)]}, headers=auditor
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "findings[0].site_id"
    r = await client.post(
        path, json={"findings": [{"grade": "severe", "clause": "1"}]}, headers=auditor
    )
    assert r.status_code in (400, 422)
    # Roles: the client and the body's finance cannot write reports.
    assert (
        await client.post(path, json={}, headers=world.actor("a", "org:owner").headers)
    ).status_code == 403
    assert (
        await client.post(path, json={}, headers=world.actor("a", "body:finance").headers)
    ).status_code == 403
    assert (
        await client.post(path, json={}, headers=world.actor("b", "body:owner").headers)
    ).status_code == 404

    r = await client.post(path, json={"summary": "first"}, headers=auditor)
    assert r.status_code == 201
    report_id = r.json()["id"]
    r = await client.post(path, json={"summary": "second"}, headers=auditor)
    assert r.status_code == 409
    assert r.json()["code"] == "report_exists"

    assert (
        await client.post(f"/api/v1/reports/{report_id}/issue", headers=auditor)
    ).status_code == 200
    r = await client.post(f"/api/v1/reports/{report_id}/issue", headers=auditor)
    assert r.status_code == 409
    assert r.json()["code"] == "report_frozen"
    r = await client.patch(
        f"/api/v1/reports/{report_id}", json={"summary": "changed"}, headers=auditor
    )
    assert r.status_code == 409
    assert r.json()["code"] == "report_frozen"
    r = await client.post(path, json={"summary": "again"}, headers=auditor)
    assert r.status_code == 409
    assert r.json()["code"] == "report_issued"


async def test_amendment_keeps_the_old_revision_and_moves_actions(
    client: httpx.AsyncClient, world: World
) -> None:
    _made, report_id, actions = await issued_report(
        world.a.org_id, world.a.body_id, ("major", "minor", "minor")
    )
    await answered(actions["major"], "submitted")
    auditor = world.actor("a", "body:auditor").headers
    r = await client.post(
        f"/api/v1/reports/{report_id}/amend", json={"reason": "Typo in 8.5.1"}, headers=auditor
    )
    assert r.status_code == 201, r.text
    amendment = r.json()
    assert amendment["revision"] == 2
    assert amendment["status"] == "draft"
    assert amendment["supersedes_id"] == str(report_id)
    r = await client.post(
        f"/api/v1/reports/{report_id}/amend", json={"reason": "again"}, headers=auditor
    )
    assert r.status_code == 409
    assert r.json()["code"] == "amendment_pending"

    # Keep the major, drop the second minor, turn the first minor into an observation.
    r = await client.patch(
        f"/api/v1/reports/{amendment['id']}",
        json={"findings": [finding("major", "8.5.2"), finding("observation")]},
        headers=auditor,
    )
    assert r.status_code == 200, r.text
    r = await client.post(f"/api/v1/reports/{amendment['id']}/issue", headers=auditor)
    assert r.status_code == 200, r.text

    old = (await client.get(f"/api/v1/reports/{report_id}", headers=auditor)).json()
    assert old["status"] == "amended"
    assert [f["clause"] for f in old["findings"]] == ["8.5.1", "8.5.1", "8.5.1"]
    new = r.json()
    assert [rev["status"] for rev in new["revisions"]] == ["amended", "issued"]
    rows = {a["id"]: a for a in await CorrectiveAction.select().run()}
    # The major's answer follows the restated finding; the two minors are withdrawn.
    assert (
        rows[actions["major"]]["finding"] == new["findings"][0]["id"]
        or str(rows[actions["major"]]["finding"]) == new["findings"][0]["id"]
    )
    assert rows[actions["major"]]["status"] == "submitted"
    minors = [a for a in rows.values() if a["grade"] == "minor"]
    assert len(minors) == 2
    assert all(a["status"] == "closed" for a in minors)
    assert all("Withdrawn" in a["verification_comment"] for a in minors)
    r = await client.post(
        f"/api/v1/reports/{report_id}/amend", json={"reason": "x"}, headers=auditor
    )
    assert r.status_code == 409
    assert r.json()["code"] == "not_issued"


async def test_service_issue_twice_is_a_conflict(world: World) -> None:
    _made, report_id, _ = await issued_report(world.a.org_id, world.a.body_id, ("minor",))
    with pytest.raises(Conflict) as caught:
        await findings.issue_report(None, report_id)
    assert caught.value.code == "report_frozen"
