"""The readiness pages in a browser's shoes: session cookie, CSRF, forms, uploads, both sides."""

from __future__ import annotations

import datetime as dt

import httpx

from marketplace.core import clock
from marketplace.readiness.documents import get_document
from marketplace.readiness.sharing import list_shares
from marketplace.readiness.tables import DocumentAccess, GapItem
from tests.factories import World, csrf_from, sign_in
from tests.factories.files import PDF
from tests.factories.findings import draft_report
from tests.factories.readiness import shared_document
from tests.factories.scheduling import engagement


async def _token(client: httpx.AsyncClient, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text[:300]
    return csrf_from(page.text)


async def test_self_assessment_pages(client: httpx.AsyncClient, world: World) -> None:
    org = world.a.org_id
    await sign_in(client, world.actor("a", "org:quality_manager").user_id)
    home = await client.get("/")
    assert f"/organisations/{org}/readiness" in home.text
    token = await _token(client, f"/organisations/{org}/readiness")
    r = await client.post(
        f"/organisations/{org}/readiness/assessments",
        data={"_csrf_token": token, "standard": "ISO 45001:2018"},
    )
    assert r.status_code == 303
    page = await client.get(r.headers["location"])
    assert "Consultation and participation of workers" in page.text
    assert "<svg" in page.text
    assert 'role="img"' in page.text
    item = await GapItem.select(GapItem.id).where(GapItem.clause == "5.4").first().run()
    assert item is not None
    r = await client.post(
        f"/organisations/{org}/readiness/items/{item['id']}",
        data={
            "_csrf_token": csrf_from(page.text),
            "rating": "in_place",
            "note": "Safety committee",
        },
    )
    assert r.status_code == 303
    page = await client.get(r.headers["location"].split("#")[0])
    assert "Safety committee" in page.text
    r = await client.post(
        f"/organisations/{org}/readiness/items/{item['id']}",
        data={"_csrf_token": csrf_from(page.text), "rating": "great"},
    )
    assert r.status_code == 422
    assert "alert" in r.text
    gap = await GapItem.select(GapItem.id).where(GapItem.clause == "9.2").first().run()
    assert gap is not None
    r = await client.post(
        f"/organisations/{org}/readiness/items/{gap['id']}/action",
        data={"_csrf_token": csrf_from(page.text), "owner_id": "", "due_on": "2030-01-01"},
    )
    assert r.status_code == 303
    actions = await client.get(r.headers["location"])
    assert "Close the gap in 9.2 Internal audit" in actions.text
    # A member reads but sees no forms to change ratings.
    await sign_in(client, world.actor("a", "org:member").user_id)
    page = await client.get(f"/organisations/{org}/readiness/assessments")
    assert page.status_code in (404, 405)
    overview = await client.get(f"/organisations/{org}/readiness")
    assert "Start a self-assessment" not in overview.text


async def test_document_pages_version_upload_approve_and_share(
    client: httpx.AsyncClient, world: World
) -> None:
    org = world.a.org_id
    await engagement(org, world.a.body_id)
    await sign_in(client, world.actor("a", "org:quality_manager").user_id)
    token = await _token(client, f"/organisations/{org}/documents")
    r = await client.post(
        f"/organisations/{org}/documents",
        data={
            "_csrf_token": token,
            "code": "QM-01",
            "title": "Quality manual",
            "doc_type": "policy",
            "clause": "4.3",
        },
    )
    assert r.status_code == 303, r.text[:400]
    doc_path = r.headers["location"]
    page = await client.get(doc_path)
    assert "Draft v1" in page.text
    doc_id = doc_path.rsplit("/", 1)[1]
    version = (await get_document(doc_id))["versions"][0]["id"]  # type: ignore[arg-type]
    r = await client.post(
        f"{doc_path}/versions/{version}/file",
        data={"_csrf_token": csrf_from(page.text)},
        files={"file": ("manual.exe", b"MZ\x90\x00", "application/octet-stream")},
    )
    assert r.status_code == 415
    assert "not accepted" in r.text
    r = await client.post(
        f"{doc_path}/versions/{version}/file",
        data={"_csrf_token": csrf_from(page.text)},
        files={"file": ("manual.pdf", PDF, "application/pdf")},
    )
    assert r.status_code == 303
    r = await client.post(
        f"{doc_path}/versions/{version}/approve",
        data={"_csrf_token": csrf_from(page.text), "effective_on": ""},
    )
    assert r.status_code == 303
    page = await client.get(doc_path)
    assert "approved" in page.text
    assert "(frozen)" in page.text
    r = await client.post(
        f"{doc_path}/versions/{version}",
        data={"_csrf_token": csrf_from(page.text), "change_summary": "Rewrite history"},
    )
    assert r.status_code == 409

    register = await client.get(f"/organisations/{org}/documents")
    r = await client.post(
        f"/organisations/{org}/document-shares",
        data={
            "_csrf_token": csrf_from(register.text),
            "body_id": str(world.a.body_id),
            "document_ids": doc_id,
        },
    )
    assert r.status_code == 303
    register = await client.get(f"/organisations/{org}/documents")
    assert "Body A Certification" in register.text
    assert "Withdraw" in register.text

    # The body's auditor reads and comments; the view is logged.
    await sign_in(client, world.actor("a", "body:auditor").user_id)
    listed = await client.get(f"/manage/bodies/{world.a.body_id}/shared-documents")
    assert "QM-01" in listed.text
    body_doc = f"/manage/bodies/{world.a.body_id}/shared-documents/{doc_id}"
    page = await client.get(body_doc)
    assert "read-only" in page.text
    r = await client.post(
        f"{body_doc}/comments",
        data={
            "_csrf_token": csrf_from(page.text),
            "version_id": str(version),
            "text": "Scope matches the contract.",
        },
    )
    assert r.status_code == 303
    r = await client.get(f"{body_doc}/versions/{version}/file")
    assert r.status_code == 200
    assert r.content == PDF
    actions = [
        a["action"]
        for a in await DocumentAccess.select(DocumentAccess.action)
        .where(DocumentAccess.side == "body")
        .run()
    ]
    assert sorted(actions) == ["download", "view"]

    await sign_in(client, world.actor("a", "org:quality_manager").user_id)
    page = await client.get(doc_path)
    assert "Scope matches the contract." in page.text
    assert "Access log" in page.text
    assert "auditor of body a" in page.text
    share = (await list_shares(org))[0]
    r = await client.post(
        f"/organisations/{org}/document-shares/{share.id}/withdraw",
        data={"_csrf_token": csrf_from(page.text)},
    )
    assert r.status_code == 303
    await sign_in(client, world.actor("a", "body:auditor").user_id)
    assert (await client.get(body_doc)).status_code == 404


async def test_internal_audit_and_review_pages(client: httpx.AsyncClient, world: World) -> None:
    org = world.a.org_id
    await sign_in(client, world.actor("a", "org:owner").user_id)
    token = await _token(client, f"/organisations/{org}/internal-audits")
    r = await client.post(
        f"/organisations/{org}/internal-audits",
        data={
            "_csrf_token": token,
            "scope": "Whole system",
            "clauses": ["4", "5", "6", "7"],
            "more_clauses": "8.5, 9.2, 10",
            "auditor_name": "Kim Lee",
            "planned_on": (clock.today() - dt.timedelta(days=2)).isoformat(),
        },
    )
    assert r.status_code == 303, r.text[:400]
    audit_path = r.headers["location"]
    page = await client.get(audit_path)
    assert "4, 5, 6, 7, 8.5, 9.2, 10" in page.text
    r = await client.post(
        f"{audit_path}/findings",
        data={
            "_csrf_token": csrf_from(page.text),
            "grade": "minor",
            "clause": "9.2",
            "evidence": "No programme",
        },
    )
    assert r.status_code == 303
    r = await client.post(f"{audit_path}/complete", data={"_csrf_token": csrf_from(page.text)})
    assert r.status_code == 303
    page = await client.get(audit_path)
    assert "completed" in page.text
    r = await client.post(
        f"/organisations/{org}/internal-audits",
        data={"_csrf_token": token, "scope": "x", "auditor_name": "y", "planned_on": "2026-01-01"},
    )
    assert r.status_code == 422

    token = await _token(client, f"/organisations/{org}/management-reviews")
    r = await client.post(
        f"/organisations/{org}/management-reviews",
        data={
            "_csrf_token": token,
            "held_on": clock.today().isoformat(),
            "attendees": "Directors",
            "inputs": ["performance", "improvement"],
            "decisions": "Hire a second inspector",
        },
    )
    assert r.status_code == 303
    overview = await client.get(f"/organisations/{org}/readiness")
    assert "Internal audits and management review are running." in overview.text


async def test_stage1_reference_page(client: httpx.AsyncClient, world: World) -> None:
    _made, report = await draft_report(world.a.org_id, world.a.body_id, stage="stage1")
    shared = await shared_document(world.a.org_id, world.a.body_id, "QM-02")
    await sign_in(client, world.actor("a", "body:auditor").user_id)
    path = f"/reports/{report}/references"
    page = await client.get(path)
    assert "QM-02" in page.text
    r = await client.post(
        path,
        data={
            "_csrf_token": csrf_from(page.text),
            "document_id": str(shared["doc"]),
            "clause": "4.3",
            "note": "Scope",
        },
    )
    assert r.status_code == 303
    r = await client.post(
        path,
        data={"_csrf_token": csrf_from(page.text), "document_id": "", "clause": "", "note": ""},
    )
    assert r.status_code == 422
    page = await client.get(path)
    assert "v1" in page.text
    assert "4.3" in page.text
