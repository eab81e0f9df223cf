"""Evidence uploads: accepted types, and every refusal leaves nothing behind (no row, no file)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest

from marketplace.findings import evidence as files
from marketplace.findings.tables import EvidenceFile
from tests.factories import World
from tests.factories.files import PDF, PNG, docx, stored_files
from tests.factories.findings import answered, issued_report


async def _action(world: World) -> str:
    _made, _report, actions = await issued_report(world.a.org_id, world.a.body_id, ("major",))
    return str(actions["major"])


async def _upload(
    client: httpx.AsyncClient,
    ca: str,
    name: str,
    data: bytes,
    headers: dict[str, str],
    ctype: str = "application/octet-stream",
) -> httpx.Response:
    return await client.post(
        f"/api/v1/corrective-actions/{ca}/evidence",
        files={"file": (name, data, ctype)},
        headers=headers,
    )


async def test_upload_and_download_by_both_parties(client: httpx.AsyncClient, world: World) -> None:
    ca = await _action(world)
    qm = world.actor("a", "org:quality_manager").headers
    r = await _upload(client, ca, "Inspection record.pdf", PDF, qm)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["filename"] == "Inspection record.pdf"
    assert out["size"] == len(PDF)
    assert out["sha256"] == hashlib.sha256(PDF).hexdigest()
    row = (await EvidenceFile.select().run())[0]
    # Stored under a random server-made name, outside the web root.
    assert row["stored_name"] != "Inspection record.pdf"
    path = files.storage_dir() / row["stored_name"]
    assert path.read_bytes() == PDF
    assert "static" not in Path(path).parts

    for key in ("org:member", "body:auditor"):
        r = await client.get(f"/api/v1/evidence/{out['id']}", headers=world.actor("a", key).headers)
        assert r.status_code == 200
        assert r.content == PDF
        assert r.headers["content-type"].startswith("application/pdf")
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["content-disposition"] == (
            "attachment; filename=\"Inspection record.pdf\"; filename*=UTF-8''Inspection%20record.pdf"
        )
    listed = (await client.get(f"/api/v1/corrective-actions/{ca}", headers=qm)).json()
    assert [e["id"] for e in listed["evidence"]] == [out["id"]]


@pytest.mark.parametrize(
    ("name", "data", "ctype"),
    [
        (
            "plan.docx",
            docx(),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        ("photo.png", PNG, "image/png"),
        ("notes.txt", "Größe geprüft\n".encode(), "text/plain; charset=utf-8"),
        ("scan.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 20, "image/jpeg"),
        ("chart.gif", b"GIF89a" + b"\x00" * 20, "image/gif"),
        ("chart.webp", b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 8, "image/webp"),
    ],
)
async def test_allowed_types(
    client: httpx.AsyncClient, world: World, name: str, data: bytes, ctype: str
) -> None:
    ca = await _action(world)
    r = await _upload(client, ca, name, data, world.actor("a", "org:owner").headers)
    assert r.status_code == 201, r.text
    assert (await EvidenceFile.select(EvidenceFile.content_type).first().run())[
        "content_type"
    ] == ctype


@pytest.mark.parametrize(
    ("name", "data", "status", "code"),
    [
        ("report.pdf", b"MZ\x90\x00\x03" + b"\x00" * 64, 415, "unsupported_file_type"),  # an .exe
        ("photo.png", b"<!doctype html><script>alert(1)</script>", 415, "unsupported_file_type"),
        ("photo.png", PDF, 415, "file_type_mismatch"),
        ("vector.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", 415, "unsupported_file_type"),
        ("archive.zip", b"PK\x03\x04" + b"\x00" * 30, 415, "unsupported_file_type"),
        ("tool.exe", b"plain words", 415, "file_type_mismatch"),
        ("empty.txt", b"", 415, "unsupported_file_type"),
    ],
)
async def test_refused_types_store_nothing(
    client: httpx.AsyncClient, world: World, name: str, data: bytes, status: int, code: str
) -> None:
    ca = await _action(world)
    before = stored_files()
    r = await _upload(
        client, ca, name, data, world.actor("a", "org:owner").headers, "application/pdf"
    )
    assert r.status_code == status, r.text
    assert r.json()["code"] == code
    assert await EvidenceFile.count().run() == 0
    assert stored_files() == before


async def test_too_large_is_413_and_stores_nothing(
    client: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MARKETPLACE_EVIDENCE_MAX_BYTES", "1024")
    ca = await _action(world)
    before = stored_files()
    r = await _upload(
        client, ca, "big.pdf", PDF + b"0" * 2000, world.actor("a", "org:owner").headers
    )
    assert r.status_code == 413
    assert r.json()["code"] == "file_too_large"
    assert await EvidenceFile.count().run() == 0
    assert stored_files() == before
    # Exactly at the limit is fine.
    r = await _upload(
        client, ca, "ok.pdf", PDF + b"0" * (1024 - len(PDF)), world.actor("a", "org:owner").headers
    )
    assert r.status_code == 201


async def test_path_traversal_names_are_stored_safely(
    client: httpx.AsyncClient, world: World
) -> None:
    ca = await _action(world)
    headers = world.actor("a", "org:owner").headers
    r = await _upload(client, ca, "../../etc/passwd", b"root:x:0:0\n", headers)
    assert r.status_code == 201, r.text
    assert r.json()["filename"] == "passwd"
    r = await _upload(client, ca, "..\\..\\boot.ini", b"[boot]\n", headers)
    assert r.status_code == 415  # .ini is not on the list
    r = await _upload(client, ca, 'a"b\r\nX-Evil: 1;ü.txt', b"hello\n", headers)
    assert r.status_code == 201, r.text
    shown = r.json()["filename"]
    assert "\r" not in shown
    assert "\n" not in shown
    assert '"' not in shown
    assert "/" not in shown
    download = await client.get(f"/api/v1/evidence/{r.json()['id']}", headers=headers)
    disposition = download.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="')
    assert "X-Evil" not in download.headers
    assert "filename*=UTF-8''" in disposition
    for row in await EvidenceFile.select().run():
        assert "/" not in row["stored_name"]
        assert ".." not in row["stored_name"]
        assert (files.storage_dir() / row["stored_name"]).exists()


async def test_other_tenants_cannot_upload_or_download(
    client: httpx.AsyncClient, world: World
) -> None:
    ca = await _action(world)
    r = await _upload(client, ca, "a.pdf", PDF, world.actor("a", "org:owner").headers)
    evidence_id = r.json()["id"]
    before = stored_files()
    for key in ("org:owner", "body:owner"):
        headers = world.actor("b", key).headers
        assert (
            await client.get(f"/api/v1/evidence/{evidence_id}", headers=headers)
        ).status_code == 404
        assert (await _upload(client, ca, "b.pdf", PDF, headers)).status_code == 404
    assert (
        await client.get(f"/api/v1/evidence/{evidence_id}", headers=world.outsider.headers)
    ).status_code == 404
    assert (await client.get(f"/api/v1/evidence/{evidence_id}")).status_code == 401
    assert await EvidenceFile.count().run() == 1
    assert stored_files() == before


async def test_no_evidence_once_submitted(client: httpx.AsyncClient, world: World) -> None:
    ca = await _action(world)
    await answered(ca, "submitted")  # type: ignore[arg-type]
    before = stored_files()
    r = await _upload(client, ca, "late.pdf", PDF, world.actor("a", "org:owner").headers)
    assert r.status_code == 409
    assert r.json()["code"] == "not_editable"
    assert stored_files() == before
    r = await client.post(
        f"/api/v1/corrective-actions/{ca}/evidence",
        data={"other": "x"},
        headers=world.actor("a", "org:owner").headers,
    )
    assert r.status_code in (400, 422)
