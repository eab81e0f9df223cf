"""Sharing with the certification body: share and withdraw, read-only for the body, comments, access log."""

from __future__ import annotations

import httpx

from marketplace.readiness.documents import create_document, new_version, upload_version_file
from tests.factories import World
from tests.factories.files import PDF, PDF2
from tests.factories.readiness import approved_document, shared_document
from tests.factories.scheduling import engagement


async def test_share_only_with_an_engaged_body_and_only_approved(
    client: httpx.AsyncClient, world: World
) -> None:
    qm = world.actor("a", "org:quality_manager").headers
    url = f"/api/v1/organisations/{world.a.org_id}/document-shares"
    doc, _version = await approved_document(world.a.org_id)
    body = {"body_id": str(world.a.body_id), "document_ids": [str(doc)]}
    # No engagement yet: this body is not the organisation's certification body.
    r = await client.post(url, json=body, headers=qm)
    assert r.status_code == 422
    await engagement(world.a.org_id, world.a.body_id)
    draft_only = await create_document(
        None, world.a.org_id, {"code": "WI-1", "title": "Draft", "doc_type": "work_instruction"}
    )
    r = await client.post(
        url, json={**body, "document_ids": [str(doc), str(draft_only)]}, headers=qm
    )
    assert r.status_code == 409
    assert r.json()["code"] == "not_approved"
    other_org_doc, _ = await approved_document(world.b.org_id, "B-1")
    r = await client.post(url, json={**body, "document_ids": [str(other_org_doc)]}, headers=qm)
    assert r.status_code == 422
    r = await client.post(url, json=body, headers=world.actor("a", "org:member").headers)
    assert r.status_code == 403

    r = await client.post(url, json=body, headers=qm)
    assert r.status_code == 201, r.text
    assert r.json()["shared"] == [str(doc)]
    # Sharing again changes nothing.
    r = await client.post(url, json=body, headers=qm)
    assert r.status_code == 201
    assert r.json()["shared"] == []
    assert len((await client.get(url, headers=qm)).json()) == 1


async def test_body_sees_what_is_shared_until_withdrawn(
    client: httpx.AsyncClient, world: World
) -> None:
    made = await shared_document(world.a.org_id, world.a.body_id)
    hidden, _ = await approved_document(world.a.org_id, "QP-99")
    auditor = world.actor("a", "body:auditor").headers
    base = f"/api/v1/bodies/{world.a.body_id}/shared-documents"

    listed = (await client.get(base, headers=auditor)).json()
    assert [d["code"] for d in listed["items"]] == ["QP-01"]
    assert listed["items"][0]["organisation_name"] == "Client A Ltd"
    assert listed["items"][0]["current_version"]["number"] == 1
    r = await client.get(f"{base}/{made['doc']}", headers=auditor)
    assert r.status_code == 200
    assert [v["number"] for v in r.json()["versions"]] == [1]
    r = await client.get(f"{base}/{made['doc']}/versions/{made['version']}/file", headers=auditor)
    assert r.status_code == 200
    assert r.content == PDF
    # What was not shared does not exist for the body.
    assert (await client.get(f"{base}/{hidden}", headers=auditor)).status_code == 404

    # A draft of a shared document stays internal.
    draft = await new_version(None, made["doc"], "Revision")
    await upload_version_file(None, made["doc"], draft, PDF2, "rev.pdf")
    out = (await client.get(f"{base}/{made['doc']}", headers=auditor)).json()
    assert [v["status"] for v in out["versions"]] == ["approved"]
    r = await client.get(f"{base}/{made['doc']}/versions/{draft}/file", headers=auditor)
    assert r.status_code == 404

    # Read-only for the body: the client's edit routes do not exist for it.
    org_doc = f"/api/v1/organisations/{world.a.org_id}/documents/{made['doc']}"
    for headers in (auditor, world.actor("a", "body:owner").headers):
        assert (
            await client.patch(org_doc, json={"title": "x"}, headers=headers)
        ).status_code == 404
        r = await client.post(f"{org_doc}/versions", json={"change_summary": "x"}, headers=headers)
        assert r.status_code == 404
    # Finance has no part in document review.
    finance = world.actor("a", "body:finance").headers
    assert (await client.get(base, headers=finance)).status_code == 403

    qm = world.actor("a", "org:quality_manager").headers
    r = await client.delete(
        f"/api/v1/organisations/{world.a.org_id}/document-shares/{made['share']}", headers=qm
    )
    assert r.status_code == 204
    assert (await client.get(base, headers=auditor)).json()["total"] == 0
    assert (await client.get(f"{base}/{made['doc']}", headers=auditor)).status_code == 404
    r = await client.get(f"{base}/{made['doc']}/versions/{made['version']}/file", headers=auditor)
    assert r.status_code == 404
    r = await client.delete(
        f"/api/v1/organisations/{world.a.org_id}/document-shares/{made['share']}", headers=qm
    )
    assert r.status_code == 409
    # The withdrawn share stays on the document's record.
    shares = (await client.get(org_doc, headers=qm)).json()["shares"]
    assert len(shares) == 1
    assert shares[0]["withdrawn_at"] is not None


async def test_another_body_sees_nothing(client: httpx.AsyncClient, world: World) -> None:
    made = await shared_document(world.a.org_id, world.a.body_id)
    await engagement(world.a.org_id, world.b.body_id)  # engaged, but nothing shared with it
    other = world.actor("b", "body:owner").headers
    own = f"/api/v1/bodies/{world.b.body_id}/shared-documents"
    assert (await client.get(own, headers=other)).json()["total"] == 0
    assert (await client.get(f"{own}/{made['doc']}", headers=other)).status_code == 404
    r = await client.get(f"{own}/{made['doc']}/versions/{made['version']}/file", headers=other)
    assert r.status_code == 404
    r = await client.post(
        f"{own}/{made['doc']}/comments",
        json={"version_id": str(made["version"]), "text": "Peek"},
        headers=other,
    )
    assert r.status_code == 404
    # And body a's own list is not reachable by body b's members.
    r = await client.get(f"/api/v1/bodies/{world.a.body_id}/shared-documents", headers=other)
    assert r.status_code == 404


async def test_comments_per_document_and_version(client: httpx.AsyncClient, world: World) -> None:
    made = await shared_document(world.a.org_id, world.a.body_id)
    base = f"/api/v1/bodies/{world.a.body_id}/shared-documents/{made['doc']}"
    auditor = world.actor("a", "body:auditor").headers
    r = await client.post(
        f"{base}/comments",
        json={"version_id": str(made["version"]), "text": "Clause 7.5.3 retention not stated."},
        headers=auditor,
    )
    assert r.status_code == 201, r.text
    assert r.json()["version_number"] == 1
    assert r.json()["author_name"] == "auditor of body a"
    r = await client.post(
        f"{base}/comments",
        json={"version_id": str(made["version"]), "text": "x"},
        headers=world.actor("a", "body:decision_maker").headers,
    )
    assert r.status_code == 403
    draft = await new_version(None, made["doc"], "Revision")
    r = await client.post(
        f"{base}/comments", json={"version_id": str(draft), "text": "x"}, headers=auditor
    )
    assert r.status_code == 404
    # The client sees the body's comment on its document.
    doc = (
        await client.get(
            f"/api/v1/organisations/{world.a.org_id}/documents/{made['doc']}",
            headers=world.actor("a", "org:member").headers,
        )
    ).json()
    assert [(c["text"], c["body_name"]) for c in doc["comments"]] == [
        ("Clause 7.5.3 retention not stated.", "Body A Certification")
    ]


async def test_access_log_records_views_and_downloads(
    client: httpx.AsyncClient, world: World
) -> None:
    made = await shared_document(world.a.org_id, world.a.body_id)
    auditor = world.actor("a", "body:auditor")
    member = world.actor("a", "org:member")
    body_base = f"/api/v1/bodies/{world.a.body_id}/shared-documents/{made['doc']}"
    org_base = f"/api/v1/organisations/{world.a.org_id}/documents/{made['doc']}"
    await client.get(body_base, headers=auditor.headers)
    await client.get(f"{body_base}/versions/{made['version']}/file", headers=auditor.headers)
    await client.get(f"{org_base}/versions/{made['version']}/file", headers=member.headers)
    # A refused download is not an access.
    await client.get(body_base, headers=world.actor("b", "body:auditor").headers)

    r = await client.get(f"{org_base}/access-log", headers=world.actor("a", "org:owner").headers)
    assert r.status_code == 200
    log = r.json()
    assert [
        (e["user_name"], e["side"], e["action"], e["version_number"]) for e in reversed(log)
    ] == [
        ("auditor of body a", "body", "view", 1),
        ("auditor of body a", "body", "download", 1),
        ("member of org a", "organisation", "download", 1),
    ]
    assert log[-1]["body_name"] == "Body A Certification"
    assert (await client.get(f"{org_base}/access-log", headers=member.headers)).status_code == 403
