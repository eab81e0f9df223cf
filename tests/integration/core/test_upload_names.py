"""A very long upload file name gets a 422 that says so on every upload endpoint; a too-large body stays 413."""

from __future__ import annotations

import httpx

from marketplace.readiness.documents import get_document
from marketplace.settings import Settings
from tests.factories import World, csrf_from, sign_in
from tests.factories.files import PDF
from tests.factories.findings import issued_report

LONG_NAME = "a" * 9_996 + ".pdf"  # 10,000 characters


def _says_name_too_long(r: httpx.Response, *, json: bool) -> None:
    assert r.status_code == 422, r.text[:300]
    assert "Request Entity Too Large" not in r.text
    if json:
        (error,) = r.json()["errors"]
        assert error["field"] == "file"
        assert "file name is too long" in error["message"]
    else:
        assert "file name is too long" in r.text


async def _draft_version(client: httpx.AsyncClient, world: World) -> tuple[str, str]:
    r = await client.post(
        f"/api/v1/organisations/{world.a.org_id}/documents",
        json={"code": "QP-07", "title": "Control of documents", "doc_type": "procedure"},
        headers=world.actor("a", "org:quality_manager").headers,
    )
    assert r.status_code == 201, r.text
    return r.json()["id"], r.json()["versions"][0]["id"]


async def test_evidence_upload_with_a_long_name(client: httpx.AsyncClient, world: World) -> None:
    _made, _report, actions = await issued_report(world.a.org_id, world.a.body_id, ("major",))
    ca = actions["major"]
    owner = world.actor("a", "org:owner")
    api = await client.post(
        f"/api/v1/corrective-actions/{ca}/evidence",
        files={"file": (LONG_NAME, PDF, "application/pdf")},
        headers=owner.headers,
    )
    _says_name_too_long(api, json=True)
    await sign_in(client, owner.user_id)
    token = csrf_from((await client.get(f"/corrective-actions/{ca}")).text)
    page = await client.post(
        f"/corrective-actions/{ca}/evidence",
        data={"_csrf_token": token},
        files={"file": (LONG_NAME, PDF, "application/pdf")},
    )
    _says_name_too_long(page, json=False)
    # A name that fits the part header is accepted (and shortened for display).
    ok = await client.post(
        f"/api/v1/corrective-actions/{ca}/evidence",
        files={"file": ("b" * 500 + ".pdf", PDF, "application/pdf")},
        headers=owner.headers,
    )
    assert ok.status_code == 201, ok.text


async def test_document_upload_with_a_long_name(client: httpx.AsyncClient, world: World) -> None:
    doc, version = await _draft_version(client, world)
    qm = world.actor("a", "org:quality_manager")
    base = f"/organisations/{world.a.org_id}/documents/{doc}"
    api = await client.post(
        f"/api/v1{base}/versions/{version}/file",
        files={"file": (LONG_NAME, PDF, "application/pdf")},
        headers=qm.headers,
    )
    _says_name_too_long(api, json=True)
    await sign_in(client, qm.user_id)
    token = csrf_from((await client.get(base)).text)
    page = await client.post(
        f"{base}/versions/{version}/file",
        data={"_csrf_token": token},
        files={"file": (LONG_NAME, PDF, "application/pdf")},
    )
    _says_name_too_long(page, json=False)
    assert (await get_document(doc))["versions"][0]["filename"] == ""


async def test_a_body_over_the_limit_is_still_413(
    client: httpx.AsyncClient, world: World, settings: Settings
) -> None:
    doc, version = await _draft_version(client, world)
    r = await client.post(
        f"/api/v1/organisations/{world.a.org_id}/documents/{doc}/versions/{version}/file",
        files={"file": ("big.pdf", PDF + b"0" * settings.app.max_body_bytes, "application/pdf")},
        headers=world.actor("a", "org:quality_manager").headers,
    )
    assert r.status_code == 413


async def test_too_many_parts_is_a_clear_400(client: httpx.AsyncClient, world: World) -> None:
    doc, version = await _draft_version(client, world)
    r = await client.post(
        f"/api/v1/organisations/{world.a.org_id}/documents/{doc}/versions/{version}/file",
        data={f"f{i}": "x" for i in range(1_001)},  # Litestar's multipart_form_part_limit
        files={"file": ("a.pdf", PDF, "application/pdf")},
        headers=world.actor("a", "org:quality_manager").headers,
    )
    assert r.status_code == 400
    assert r.json()["detail"] == "The form has too many parts."
