"""A full or read-only file store: every upload answers 507 / 503 with a clear message, leaves no
file (not even a `.part`) and no row, and /readyz reports the store as not writable.

The store is a real small tmpfs mounted over MARKETPLACE_VAR_DIR (filled to the brim, or
remounted read-only), so the errors come from the kernel, not from a stub. Mounting needs root
(CAP_SYS_ADMIN); where it is not permitted these tests skip.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from marketplace.findings.tables import EvidenceFile
from marketplace.readiness.documents import create_document, get_document
from marketplace.readiness.tables import DocumentVersion
from tests.factories import World, csrf_from, sign_in
from tests.factories.findings import issued_report

UPLOAD = ("notes.txt", b"inspection notes\n" * 2400, "text/plain")  # ~40 KiB of plain text
EXPECTED = {
    "full": (507, "storage_full", "The file store is full"),
    "read-only": (503, "storage_unavailable", "The file store cannot take files"),
}


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, timeout=10)


def _fill(directory: Path, leave: int) -> None:
    """Write a filler file until fewer than `leave` bytes are free (ENOSPC ends it)."""
    with open(directory / "filler", "wb", buffering=0) as f:
        while True:
            try:
                f.write(b"\0" * 4096)
            except OSError:
                break
    if leave:
        size = (directory / "filler").stat().st_size
        with open(directory / "filler", "r+b") as f:
            f.truncate(max(0, size - leave))


@contextlib.contextmanager
def faulty_store(base: Path, mode: str, *, leave: int) -> Iterator[Path]:
    """A 64 KiB tmpfs as MARKETPLACE_VAR_DIR: nearly full (`leave` bytes free) or read-only."""
    base.mkdir()
    try:
        _mount("-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(base))
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot mount a tmpfs here ({exc})")
    try:
        evidence = base / "evidence"
        evidence.mkdir(mode=0o700)
        if mode == "full":
            _fill(base, leave)
        else:
            _mount("-o", "remount,ro", str(base))
        yield evidence
    finally:
        subprocess.run(["umount", "-l", str(base)], check=False, timeout=10)


@pytest.fixture(params=["full", "read-only"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, Path]]:
    mode: str = request.param
    # 8 KiB free: the upload's first blocks are written before the disk refuses the rest, so a
    # partial `.part` really exists until the code removes it.
    with faulty_store(tmp_path / "var", mode, leave=8192) as evidence:
        monkeypatch.setenv("MARKETPLACE_VAR_DIR", str(evidence.parent))
        yield mode, evidence


def _left(evidence: Path) -> list[str]:
    return sorted(p.name for p in evidence.iterdir())


def _json_refusal(r: httpx.Response, mode: str) -> None:
    status, code, message = EXPECTED[mode]
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["code"] == code
    assert r.json()["detail"].startswith(message)


def _html_refusal(r: httpx.Response, mode: str) -> None:
    status, _code, message = EXPECTED[mode]
    assert r.status_code == status, r.text[:500]
    assert r.headers["content-type"].startswith("text/html")
    assert message in r.text
    assert "Something went wrong" not in r.text


async def _action(world: World) -> str:
    _made, _report, actions = await issued_report(world.a.org_id, world.a.body_id, ("major",))
    return str(actions["major"])


async def _draft(world: World) -> tuple[str, str]:
    doc_id = await create_document(
        None,
        world.a.org_id,
        {"code": "QP-07", "title": "Control of records", "doc_type": "procedure"},
    )
    version = (await get_document(doc_id))["versions"][0]["id"]
    return str(doc_id), str(version)


async def _no_document_file(version: str) -> None:
    row = await DocumentVersion.select().where(DocumentVersion.id == version).first().run()
    assert row is not None
    assert not row["stored_name"]


async def test_evidence_api(
    client: httpx.AsyncClient, world: World, store: tuple[str, Path]
) -> None:
    mode, evidence = store
    ca = await _action(world)
    r = await client.post(
        f"/api/v1/corrective-actions/{ca}/evidence",
        files={"file": UPLOAD},
        headers=world.actor("a", "org:quality_manager").headers,
    )
    _json_refusal(r, mode)
    assert _left(evidence) == []
    assert await EvidenceFile.count().run() == 0


async def test_evidence_page(
    client: httpx.AsyncClient, world: World, store: tuple[str, Path]
) -> None:
    mode, evidence = store
    ca = await _action(world)
    await sign_in(client, world.actor("a", "org:quality_manager").user_id)
    page = await client.get(f"/corrective-actions/{ca}")
    r = await client.post(
        f"/corrective-actions/{ca}/evidence",
        data={"_csrf_token": csrf_from(page.text)},
        files={"file": UPLOAD},
    )
    _html_refusal(r, mode)
    assert _left(evidence) == []
    assert await EvidenceFile.count().run() == 0


async def test_document_api(
    client: httpx.AsyncClient, world: World, store: tuple[str, Path]
) -> None:
    mode, evidence = store
    doc, version = await _draft(world)
    r = await client.post(
        f"/api/v1/organisations/{world.a.org_id}/documents/{doc}/versions/{version}/file",
        files={"file": UPLOAD},
        headers=world.actor("a", "org:quality_manager").headers,
    )
    _json_refusal(r, mode)
    assert _left(evidence) == []
    await _no_document_file(version)


async def test_document_page(
    client: httpx.AsyncClient, world: World, store: tuple[str, Path]
) -> None:
    mode, evidence = store
    doc, version = await _draft(world)
    await sign_in(client, world.actor("a", "org:quality_manager").user_id)
    path = f"/organisations/{world.a.org_id}/documents/{doc}"
    page = await client.get(path)
    r = await client.post(
        f"{path}/versions/{version}/file",
        data={"_csrf_token": csrf_from(page.text)},
        files={"file": UPLOAD},
    )
    _html_refusal(r, mode)
    assert _left(evidence) == []
    await _no_document_file(version)


@pytest.mark.parametrize("mode", ["full", "read-only"])
async def test_readyz_fails_while_the_store_cannot_take_a_file(
    client: httpx.AsyncClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    assert (await client.get("/readyz")).json() == {"status": "ok"}
    with faulty_store(tmp_path / "var", mode, leave=0) as evidence:
        monkeypatch.setenv("MARKETPLACE_VAR_DIR", str(evidence.parent))
        r = await client.get("/readyz")
        assert r.status_code == 503
        reason = "No space left on device" if mode == "full" else "Read-only file system"
        assert r.json() == {"status": "unavailable", "detail": f"file store not writable: {reason}"}
        assert _left(evidence) == []  # the probe leaves nothing either
