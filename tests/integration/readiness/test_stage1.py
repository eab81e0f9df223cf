"""Stage 1 with the room: the report references shared documents and clauses; concerns reach the tracker."""

from __future__ import annotations

import httpx

from marketplace.findings.reports import issue_report, update_report
from marketplace.readiness.sharing import share_documents
from tests.factories import World
from tests.factories.findings import draft_report, finding
from tests.factories.readiness import approved_document


async def _stage1_report(world: World) -> tuple[str, str, str]:
    _made, report = await draft_report(world.a.org_id, world.a.body_id, stage="stage1")
    doc, version = await approved_document(world.a.org_id, "QM-01")
    await share_documents(None, world.a.org_id, world.a.body_id, [doc])
    return str(report), str(doc), str(version)


async def test_report_references_shared_documents_and_clauses(
    client: httpx.AsyncClient, world: World
) -> None:
    report, doc, version = await _stage1_report(world)
    url = f"/api/v1/reports/{report}/references"
    auditor = world.actor("a", "body:auditor").headers
    r = await client.post(
        url, json={"document_id": doc, "clause": "7.5", "note": "Manual reviewed"}, headers=auditor
    )
    assert r.status_code == 201, r.text
    ref = r.json()
    # Without a version the reference pins the version in force.
    assert (ref["document_code"], ref["version_id"], ref["version_number"]) == ("QM-01", version, 1)
    r = await client.post(
        url, json={"clause": "9.2", "note": "Audit programme seen"}, headers=auditor
    )
    assert r.status_code == 201
    r = await client.post(url, json={"note": "nothing"}, headers=auditor)
    assert r.status_code == 422

    hidden, _ = await approved_document(world.a.org_id, "QM-02")
    r = await client.post(url, json={"document_id": str(hidden)}, headers=auditor)
    assert r.status_code == 422
    r = await client.post(
        url, json={"clause": "4.1"}, headers=world.actor("a", "org:owner").headers
    )
    assert r.status_code == 403
    r = await client.post(
        url, json={"clause": "4.1"}, headers=world.actor("b", "body:owner").headers
    )
    assert r.status_code == 404

    await update_report(
        None, report, {"findings": [finding("minor", "9.3"), finding("observation", "7.2")]}
    )
    await issue_report(None, report)
    r = await client.post(url, json={"clause": "4.1"}, headers=auditor)
    assert r.status_code == 409
    assert r.json()["code"] == "report_frozen"
    # The client reads the issued report's references.
    listed = await client.get(url, headers=world.actor("a", "org:member").headers)
    assert [x["clause"] for x in listed.json()] == ["7.5", "9.2"]

    # Areas of concern flow into the tracker, listed as the stage 2 preparation.
    overview = (
        await client.get(
            f"/api/v1/organisations/{world.a.org_id}/readiness",
            headers=world.actor("a", "org:member").headers,
        )
    ).json()
    prep = overview["stage2_preparation"]
    assert [(p["grade"], p["clause"], p["status"]) for p in prep] == [("minor", "9.3", "open")]
    tracker = await client.get(
        f"/api/v1/organisations/{world.a.org_id}/corrective-actions",
        headers=world.actor("a", "org:member").headers,
    )
    assert prep[0]["id"] in [a["id"] for a in tracker.json()["items"]]


async def test_references_only_on_stage1_reports(client: httpx.AsyncClient, world: World) -> None:
    _made, report = await draft_report(world.a.org_id, world.a.body_id)
    r = await client.post(
        f"/api/v1/reports/{report}/references",
        json={"clause": "8.5"},
        headers=world.actor("a", "body:auditor").headers,
    )
    assert r.status_code == 409
    assert r.json()["code"] == "not_stage1"
