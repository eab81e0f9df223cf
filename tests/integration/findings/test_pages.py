"""The findings pages end to end in a browser's shoes: session cookie, CSRF, forms and uploads."""

from __future__ import annotations

import re

import httpx

from marketplace.findings.tables import AuditReport, CorrectiveAction, EvidenceFile
from tests.factories import World, sign_in
from tests.factories.findings import answered, issued_report
from tests.factories.scheduling import engagement


async def _token(client: httpx.AsyncClient, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text[:300]
    match = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert match, "the page carries a CSRF input"
    return match.group(1)


async def test_body_drafts_adds_findings_and_issues(
    client: httpx.AsyncClient, world: World
) -> None:
    made = await engagement(world.a.org_id, world.a.body_id, held=2)
    await sign_in(client, world.actor("a", "body:auditor").user_id)
    audit_path = f"/audits/{made.audit_ids['stage2']}/report"
    token = await _token(client, audit_path)
    r = await client.post(audit_path, data={"_csrf_token": token, "summary": "Good system"})
    assert r.status_code == 303
    report_path = r.headers["location"]
    token = await _token(client, report_path)
    r = await client.post(
        f"{report_path}/findings",
        data={
            "_csrf_token": token,
            "grade": "major",
            "clause": "8.5.1",
            "requirement": "Control",
            "evidence": "None",
            "site_id": str(world.a.site_id),
        },
    )
    assert r.status_code == 303, r.text[:300]
    r = await client.post(
        f"{report_path}/findings", data={"_csrf_token": token, "grade": "severe", "clause": "8"}
    )
    assert r.status_code == 422
    assert "grade" in r.text
    r = await client.post(f"{report_path}/issue", data={"_csrf_token": token})
    assert r.status_code == 303
    page = await client.get(report_path)
    assert "issued" in page.text
    assert "8.5.1" in page.text
    printable = await client.get(f"{report_path}/print")
    assert printable.status_code == 200
    assert "@media print" not in printable.text  # the stylesheet carries it, not inline CSS
    assert (await AuditReport.select(AuditReport.status).first().run())["status"] == "issued"
    assert await CorrectiveAction.count().run() == 1


async def test_client_answers_uploads_and_submits(client: httpx.AsyncClient, world: World) -> None:
    _made, report_id, actions = await issued_report(
        world.a.org_id, world.a.body_id, ("major", "minor")
    )
    ca = actions["major"]
    await sign_in(client, world.actor("a", "org:quality_manager").user_id)
    tracker = await client.get(f"/organisations/{world.a.org_id}/corrective-actions")
    assert tracker.status_code == 200
    assert "<svg" in tracker.text
    assert "Opened" in tracker.text
    filtered = await client.get(f"/organisations/{world.a.org_id}/corrective-actions?grade=minor")
    assert filtered.text.count('href="/corrective-actions/') == 1
    csv = await client.get(f"/organisations/{world.a.org_id}/corrective-actions/export.csv")
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0].startswith("id,grade,status")
    assert len(csv.text.strip().splitlines()) == 3

    path = f"/corrective-actions/{ca}"
    token = await _token(client, path)
    r = await client.post(
        path,
        data={
            "_csrf_token": token,
            "owner_id": "",
            "correction": "Contained",
            "root_cause_method": "fishbone",
            "root_cause": "Training",
            "action_plan": "Retrain",
            "target_date": "2099-01-01",
        },
    )
    assert r.status_code == 303, r.text[:500]
    r = await client.post(
        f"{path}/evidence",
        data={"_csrf_token": token},
        files={"file": ("record.pdf", b"%PDF-1.4\n%%EOF", "application/pdf")},
    )
    assert r.status_code == 303, r.text[:500]
    r = await client.post(
        f"{path}/evidence",
        data={"_csrf_token": token},
        files={"file": ("record.png", b"<html>", "image/png")},
    )
    assert r.status_code == 415
    assert await EvidenceFile.count().run() == 1
    evidence = (await EvidenceFile.select(EvidenceFile.id).first().run())["id"]
    download = await client.get(f"/evidence/{evidence}")
    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith("attachment;")
    r = await client.post(f"{path}/submit", data={"_csrf_token": token})
    assert r.status_code == 303
    page = await client.get(path)
    assert "submitted" in page.text
    assert "History" in page.text
    # Another client's pages are not found.
    await sign_in(client, world.actor("b", "org:owner").user_id)
    assert (await client.get(path)).status_code == 404
    assert (await client.get(f"/reports/{report_id}")).status_code == 404
    assert (await client.get(f"/evidence/{evidence}")).status_code == 404


async def test_body_reviews_and_verifies(client: httpx.AsyncClient, world: World) -> None:
    _made, _report, actions = await issued_report(world.a.org_id, world.a.body_id, ("major",))
    ca = actions["major"]
    await answered(ca, "submitted")
    await sign_in(client, world.actor("a", "body:auditor").user_id)
    path = f"/corrective-actions/{ca}"
    token = await _token(client, path)
    r = await client.post(
        f"{path}/review", data={"_csrf_token": token, "decision": "reject", "comment": ""}
    )
    assert r.status_code == 422
    r = await client.post(
        f"{path}/review", data={"_csrf_token": token, "decision": "accept", "comment": "ok"}
    )
    assert r.status_code == 303
    r = await client.post(
        f"{path}/verify", data={"_csrf_token": token, "effective": "true", "comment": "seen"}
    )
    assert r.status_code == 303
    assert (await CorrectiveAction.select(CorrectiveAction.status).first().run())[
        "status"
    ] == "closed"
