"""The document room: versions (approved frozen, new supersedes), uploads, retention and review flags."""

from __future__ import annotations

import datetime as dt
import hashlib

import httpx
import pytest

from marketplace.core import clock
from marketplace.readiness.tables import DocumentVersion
from tests.factories import World
from tests.factories.files import PDF, PDF2, docx, stored_files
from tests.factories.readiness import shared_document


def _docs(world: World) -> str:
    return f"/api/v1/organisations/{world.a.org_id}/documents"


async def _create(client: httpx.AsyncClient, world: World, **fields: object) -> dict:
    body = {"code": "QP-07", "title": "Control of documented information", "doc_type": "procedure"}
    body.update(fields)
    r = await client.post(
        _docs(world), json=body, headers=world.actor("a", "org:quality_manager").headers
    )
    assert r.status_code == 201, r.text
    return r.json()


async def _upload(
    client: httpx.AsyncClient, world: World, doc: str, version: str, name: str, data: bytes
) -> httpx.Response:
    return await client.post(
        f"{_docs(world)}/{doc}/versions/{version}/file",
        files={"file": (name, data, "application/octet-stream")},
        headers=world.actor("a", "org:quality_manager").headers,
    )


async def test_version_history_approved_is_frozen_new_supersedes(
    client: httpx.AsyncClient, world: World
) -> None:
    qm = world.actor("a", "org:quality_manager").headers
    doc = await _create(client, world, change_summary="First issue for certification")
    assert doc["current_version"] is None
    v1 = doc["versions"][0]
    assert (v1["number"], v1["status"]) == (1, "draft")
    assert v1["author_name"] == "quality_manager of org a"
    base = f"{_docs(world)}/{doc['id']}/versions"

    # A draft can be edited; it cannot be approved without its file.
    r = await client.patch(f"{base}/{v1['id']}", json={"change_summary": "First issue"}, headers=qm)
    assert r.status_code == 200
    assert r.json()["change_summary"] == "First issue"
    r = await client.post(f"{base}/{v1['id']}/approve", headers=qm)
    assert r.status_code == 409
    assert r.json()["code"] == "no_file"
    r = await _upload(client, world, doc["id"], v1["id"], "QP-07 rev 1.pdf", PDF)
    assert r.status_code == 201, r.text
    assert r.json()["sha256"] == hashlib.sha256(PDF).hexdigest()
    r = await client.post(
        f"{base}/{v1['id']}/approve", headers=world.actor("a", "org:owner").headers
    )
    assert r.status_code == 200, r.text
    approved = r.json()
    assert approved["status"] == "approved"
    assert approved["approver_name"] == "owner of org a"
    assert approved["approved_on"] == clock.today().isoformat()
    assert approved["effective_on"] == clock.today().isoformat()

    # Approved is frozen: no edits, no new file, no second approval.
    r = await client.patch(f"{base}/{v1['id']}", json={"change_summary": "Sneaky"}, headers=qm)
    assert r.status_code == 409
    assert r.json()["code"] == "version_frozen"
    r = await _upload(client, world, doc["id"], v1["id"], "other.pdf", PDF2)
    assert r.status_code == 409
    assert r.json()["code"] == "version_frozen"
    r = await client.post(f"{base}/{v1['id']}/approve", headers=qm)
    assert r.status_code == 409

    # A new version is a draft beside the approved one; only one draft at a time.
    r = await client.post(base, json={"change_summary": "Add retention table"}, headers=qm)
    assert r.status_code == 201, r.text
    v2 = r.json()
    assert (v2["number"], v2["status"]) == (2, "draft")
    r = await client.post(base, json={"change_summary": "Another"}, headers=qm)
    assert r.status_code == 409
    assert r.json()["code"] == "draft_exists"
    current = (await client.get(f"{_docs(world)}/{doc['id']}", headers=qm)).json()[
        "current_version"
    ]
    assert current["number"] == 1

    await _upload(client, world, doc["id"], v2["id"], "QP-07 rev 2.pdf", PDF2)
    effective = (clock.today() + dt.timedelta(days=7)).isoformat()
    r = await client.post(
        f"{base}/{v2['id']}/approve", json={"effective_on": effective}, headers=qm
    )
    assert r.status_code == 200
    assert r.json()["effective_on"] == effective
    out = (await client.get(f"{_docs(world)}/{doc['id']}", headers=qm)).json()
    assert [(v["number"], v["status"]) for v in out["versions"]] == [
        (1, "superseded"),
        (2, "approved"),
    ]
    assert out["current_version"]["number"] == 2
    # The superseded version keeps its file and stays frozen.
    r = await client.get(f"{base}/{v1['id']}/file", headers=qm)
    assert r.status_code == 200
    assert r.content == PDF
    r = await client.patch(f"{base}/{v1['id']}", json={"change_summary": "x"}, headers=qm)
    assert r.status_code == 409

    past = (clock.today() - dt.timedelta(days=1)).isoformat()
    r = await client.post(base, json={"change_summary": "v3"}, headers=qm)
    v3 = r.json()
    await _upload(client, world, doc["id"], v3["id"], "v3.pdf", PDF)
    r = await client.post(f"{base}/{v3['id']}/approve", json={"effective_on": past}, headers=qm)
    assert r.status_code == 422


async def test_member_reads_but_cannot_edit(client: httpx.AsyncClient, world: World) -> None:
    doc = await _create(client, world)
    member = world.actor("a", "org:member").headers
    assert (await client.get(f"{_docs(world)}/{doc['id']}", headers=member)).status_code == 200
    r = await client.patch(f"{_docs(world)}/{doc['id']}", json={"title": "x"}, headers=member)
    assert r.status_code == 403
    r = await client.post(
        f"{_docs(world)}/{doc['id']}/versions", json={"change_summary": "x"}, headers=member
    )
    assert r.status_code == 403


async def test_register_entry_and_duplicate_codes(client: httpx.AsyncClient, world: World) -> None:
    qm = world.actor("a", "org:quality_manager").headers
    doc = await _create(client, world)
    r = await client.post(
        _docs(world), json={"code": "QP-07", "title": "Dup", "doc_type": "policy"}, headers=qm
    )
    assert r.status_code == 409
    assert r.json()["code"] == "code_taken"
    r = await client.post(
        _docs(world), json={"code": "X", "title": "Bad", "doc_type": "memo"}, headers=qm
    )
    assert r.status_code in (400, 422)
    r = await client.post(
        _docs(world),
        json={"code": "X", "title": "Bad clause", "doc_type": "policy", "clause": "seven"},
        headers=qm,
    )
    assert r.status_code == 422
    review = (clock.today() + dt.timedelta(days=365)).isoformat()
    r = await client.patch(
        f"{_docs(world)}/{doc['id']}",
        json={"title": "Documented information", "next_review_on": review, "clause": "7.5.3"},
        headers=qm,
    )
    assert r.status_code == 200
    out = r.json()
    assert (out["title"], out["next_review_on"], out["clause"]) == (
        "Documented information",
        review,
        "7.5.3",
    )
    assert out["review_due"] is False


async def test_retention_and_review_flags(client: httpx.AsyncClient, world: World) -> None:
    qm = world.actor("a", "org:quality_manager").headers
    start = clock.now()
    clock.travel_to(start - dt.timedelta(days=800))
    old = await _create(client, world, code="REC-1", doc_type="record", retention_months=24)
    kept = await _create(client, world, code="REC-2", doc_type="record", retention_months=36)
    policy = await _create(
        client,
        world,
        code="POL-1",
        doc_type="policy",
        retention_months=12,
        next_review_on=(clock.today() + dt.timedelta(days=365)).isoformat(),
    )
    for d in (old, kept, policy):
        v = d["versions"][0]["id"]
        await _upload(client, world, d["id"], v, "r.pdf", PDF)
        r = await client.post(f"{_docs(world)}/{d['id']}/versions/{v}/approve", headers=qm)
        assert r.status_code == 200
    clock.travel_to(start)

    listed = (await client.get(_docs(world), headers=qm)).json()["items"]
    flags = {d["code"]: d for d in listed}
    # 800 days after taking effect: past a 24-month retention, inside a 36-month one.
    assert flags["REC-1"]["past_retention"] is True
    assert flags["REC-1"]["retention_ends_on"] < clock.today().isoformat()
    assert flags["REC-2"]["past_retention"] is False
    # Only records are retained; a policy is maintained and reviewed instead.
    assert flags["POL-1"]["past_retention"] is False
    assert flags["POL-1"]["review_due"] is True
    assert flags["REC-1"]["review_due"] is False
    records = (await client.get(_docs(world), params={"doc_type": "record"}, headers=qm)).json()
    assert records["total"] == 2


async def test_uploads_follow_evidence_limits_and_type_checks(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = await _create(client, world)
    version = doc["versions"][0]["id"]
    before = stored_files()

    r = await _upload(client, world, doc["id"], version, "page.html", b"<html><script></script>")
    assert r.status_code == 415
    assert r.json()["code"] == "unsupported_file_type"
    r = await _upload(client, world, doc["id"], version, "manual.docx", PDF)
    assert r.status_code == 415
    assert r.json()["code"] == "file_type_mismatch"
    r = await _upload(client, world, doc["id"], version, "tool.exe", b"MZ\x90\x00\x03\x00")
    assert r.status_code == 415
    monkeypatch.setenv("MARKETPLACE_EVIDENCE_MAX_BYTES", "1024")
    r = await _upload(client, world, doc["id"], version, "big.pdf", PDF + b"0" * 2048)
    assert r.status_code == 413
    assert r.json()["code"] == "file_too_large"
    monkeypatch.delenv("MARKETPLACE_EVIDENCE_MAX_BYTES")
    # Nothing refused left a file or a recorded name behind.
    assert stored_files() == before
    row = await DocumentVersion.select().where(DocumentVersion.id == version).first().run()
    assert row is not None
    assert row["stored_name"] is None

    r = await _upload(client, world, doc["id"], version, "../../etc/Manual v1.docx", docx())
    assert r.status_code == 201, r.text
    assert r.json()["filename"] == "Manual v1.docx"
    first = stored_files() - before
    assert len(first) == 1
    # Replacing a draft's file removes the old one from storage.
    r = await _upload(client, world, doc["id"], version, "Manual v1.pdf", PDF)
    assert r.status_code == 201
    assert len(stored_files() - before) == 1
    assert (stored_files() - before) != first
    r = await client.get(
        f"{_docs(world)}/{doc['id']}/versions/{version}/file",
        headers=world.actor("a", "org:member").headers,
    )
    assert r.status_code == 200
    assert r.content == PDF
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-disposition"].startswith('attachment; filename="Manual v1.pdf"')
    r = await client.post(
        f"{_docs(world)}/{doc['id']}/versions/{version}/file",
        data={"nofile": "x"},
        headers=world.actor("a", "org:quality_manager").headers,
    )
    assert r.status_code in (400, 422)


async def test_register_lists_documents_with_their_live_shares(
    client: httpx.AsyncClient, world: World
) -> None:
    # The register of an organisation that has shared a document (the demo client's first read).
    made = await shared_document(world.a.org_id, world.a.body_id)
    r = await client.get(_docs(world), headers=world.actor("a", "org:member").headers)
    assert r.status_code == 200, r.text
    (doc,) = r.json()["items"]
    assert doc["id"] == str(made["doc"])
    (share,) = doc["shares"]
    assert share["body_id"] == str(world.a.body_id)
    assert share["body_name"] == "Body A Certification"
    assert share["shared_at"]
    assert share["withdrawn_at"] is None

    # A withdrawn share leaves the register.
    r = await client.delete(
        f"/api/v1/organisations/{world.a.org_id}/document-shares/{made['share']}",
        headers=world.actor("a", "org:owner").headers,
    )
    assert r.status_code == 204, r.text
    r = await client.get(_docs(world), headers=world.actor("a", "org:member").headers)
    assert r.status_code == 200, r.text
    assert r.json()["items"][0]["shares"] == []
