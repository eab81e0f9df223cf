"""Evidence files: the upload allow-list by magic bytes, safe names, private storage, and the
services that attach them to corrective actions and hand them back to the two tenants."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import secrets
import unicodedata
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from marketplace.accounts.guards import Principal
from marketplace.core import storage
from marketplace.core.activity import Tenant, log_action
from marketplace.core.db import write_transaction
from marketplace.core.errors import NotFound, PayloadTooLarge, UnsupportedMediaType
from marketplace.findings.access import Actor, action_actor, actor_id
from marketplace.findings.corrective_actions import advance, ca_row
from marketplace.findings.schemas import EvidenceFileRecord
from marketplace.findings.tables import EvidenceFile
from marketplace.rules.corrective_actions import Step
from marketplace.scheduling.context import BODY_ALL, CLIENT_ALL, check_access

# MARKETPLACE_EVIDENCE_MAX_BYTES: largest evidence file accepted (below the request body limit)
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
MAX_NAME_LENGTH = 120

OOXML = {
    "word/": ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "xl/": ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "ppt/": ("pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
}
# Which sniffed kind each known extension must carry: a mismatch is a disguise and refused.
EXTENSIONS = {
    "pdf": "pdf",
    "png": "png",
    "jpg": "jpeg",
    "jpeg": "jpeg",
    "gif": "gif",
    "webp": "webp",
    "docx": "docx",
    "xlsx": "xlsx",
    "pptx": "pptx",
    "txt": "text",
    "csv": "text",
    "md": "text",
    "log": "text",
}
ALLOWED_DESCRIPTION = (
    "PDF, PNG, JPEG, GIF, WebP, Word/Excel/PowerPoint (.docx/.xlsx/.pptx) or plain UTF-8 text"
)


def max_bytes() -> int:
    return int(os.environ.get("MARKETPLACE_EVIDENCE_MAX_BYTES", str(DEFAULT_MAX_BYTES)))


def storage_dir() -> Path:
    """var/evidence under the same MARKETPLACE_VAR_DIR the settings use: never under static files."""
    return storage.evidence_dir()


@dataclass(frozen=True)
class Sniffed:
    kind: str
    content_type: str


def _ooxml(data: bytes) -> Sniffed | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    for prefix, (kind, content_type) in OOXML.items():
        if any(n.startswith(prefix) for n in names):
            return Sniffed(kind, content_type)
    return None


def _text(data: bytes) -> Sniffed | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\x00" in text or any(unicodedata.category(c) == "Cc" and c not in "\t\n\r\f" for c in text):
        return None
    # Markup is not plain text: a browser that ignored our headers could run it as HTML or SVG.
    if text.lstrip("\ufeff \t\r\n").startswith("<"):
        return None
    return Sniffed("text", "text/plain; charset=utf-8")


def sniff(data: bytes) -> Sniffed | None:
    """The allowed type the bytes really are, from their signature; None when not allowed."""
    if data.startswith(b"%PDF-"):
        return Sniffed("pdf", "application/pdf")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed("png", "image/png")
    if data.startswith(b"\xff\xd8\xff"):
        return Sniffed("jpeg", "image/jpeg")
    if data.startswith((b"GIF87a", b"GIF89a")):
        return Sniffed("gif", "image/gif")
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return Sniffed("webp", "image/webp")
    if data.startswith(b"PK\x03\x04"):
        return _ooxml(data)
    if data:
        return _text(data)
    return None


_UNSAFE = re.compile(r"[^\w.\- ()]+", re.UNICODE)


def safe_filename(name: str | None) -> str:
    """A display name with no directories, control or shell-special characters, never hidden."""
    base = unicodedata.normalize("NFKC", name or "")
    base = re.split(r"[\\/]", base)[-1]
    base = _UNSAFE.sub("_", base).strip(" ._")
    base = re.sub(r"_+", "_", base)
    if len(base) > MAX_NAME_LENGTH:
        stem, dot, ext = base.rpartition(".")
        base = (
            (stem[: MAX_NAME_LENGTH - len(ext) - 1] + "." + ext) if dot else base[:MAX_NAME_LENGTH]
        )
    return base or "evidence"


def extension(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def check_upload(data: bytes, filename: str) -> Sniffed:
    """Refuse (413/415) what is too large, not on the allow-list, or disguised by its extension."""
    limit = max_bytes()
    if len(data) > limit:
        raise PayloadTooLarge(
            f"Evidence files may be at most {limit // 1024} KiB.", code="file_too_large"
        )
    sniffed = sniff(data)
    if sniffed is None:
        raise UnsupportedMediaType(
            f"This file type is not accepted; upload {ALLOWED_DESCRIPTION}.",
            code="unsupported_file_type",
        )
    ext = extension(filename)
    if ext and EXTENSIONS.get(ext) != sniffed.kind:
        raise UnsupportedMediaType(
            f"The file's content ({sniffed.kind}) does not match its name (.{ext}).",
            code="file_type_mismatch",
        )
    return sniffed


def new_stored_name() -> str:
    return secrets.token_hex(24)


def write_file(stored_name: str, data: bytes) -> Path:
    """Write under a server-made name; the directory is created private to the process owner.

    A store that is full or read-only answers 507 / 503 (core.storage) and leaves no partial
    file: the `.part` is removed, and the final name only ever appears complete.
    """
    directory = storage_dir()
    path = directory / stored_name
    tmp = directory / (stored_name + ".part")
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            # A full disk may only say so when the buffered bytes reach it: flush and sync here,
            # inside the try, so the failure is caught and the file is complete once renamed.
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise storage.storage_error(exc) from exc
    return path


def remove_file(stored_name: str) -> None:
    (storage_dir() / stored_name).unlink(missing_ok=True)


def read_file(stored_name: str) -> bytes | None:
    path = storage_dir() / stored_name
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


# --- attaching and reading evidence ------------------------------------------------------------


class EvidenceRecord(TypedDict):
    """What add_evidence recorded (the API answers it as schemas.EvidenceOut)."""

    id: uuid.UUID
    filename: str
    size: int
    sha256: str
    content_type: str


async def add_evidence(
    actor: Actor, ca_id: uuid.UUID, data: bytes, filename: str | None
) -> EvidenceRecord:
    """Attach a checked file: size limit (413), allowed type by magic bytes (415), sha256 kept.

    Only while the answer may change (open or rejected). Nothing is written when the file is
    refused; the file is removed again when the row cannot be recorded, so storage and database
    never disagree.
    """
    row = await ca_row(ca_id)
    action_actor(actor, row, act="answer")
    advance(row, Step.give_evidence)
    display = safe_filename(filename)
    sniffed = check_upload(data, display)
    digest = hashlib.sha256(data).hexdigest()
    stored = new_stored_name()
    write_file(stored, data)
    try:
        async with write_transaction():
            # Re-read inside the write lock: the action may have been submitted meanwhile.
            advance(await ca_row(ca_id), Step.give_evidence)
            record = EvidenceFile(
                corrective_action=ca_id,
                stored_name=stored,
                filename=display,
                content_type=sniffed.content_type,
                size=len(data),
                sha256=digest,
                uploaded_by=actor_id(actor),
            )
            await record.save().run()
            await log_action(
                "marketplace.evidence.uploaded",
                actor_id=actor_id(actor),
                entity_type="corrective_action",
                entity_id=ca_id,
                tenant=Tenant("organisation", row["organisation"]),
                data={"evidence_id": str(record.id), "filename": display, "sha256": digest},
            )
    except BaseException:
        remove_file(stored)
        raise
    return EvidenceRecord(
        id=record.id,
        filename=display,
        size=len(data),
        sha256=digest,
        content_type=sniffed.content_type,
    )


async def evidence_row(evidence_id: uuid.UUID) -> EvidenceFileRecord:
    row = (
        await EvidenceFile.select(
            *EvidenceFile.all_columns(),
            EvidenceFile.corrective_action._.organisation.as_alias("organisation_id"),
            EvidenceFile.corrective_action._.body.as_alias("body_id"),
        )
        .where(EvidenceFile.id == evidence_id)
        .first()
        .run()
    )
    if row is None:
        raise NotFound("No such evidence file.")
    return EvidenceFileRecord(
        id=row["id"],
        corrective_action_id=row["corrective_action"],
        organisation_id=row["organisation_id"],
        body_id=row["body_id"],
        stored_name=row["stored_name"],
        filename=row["filename"],
        content_type=row["content_type"],
        size=row["size"],
        sha256=row["sha256"],
        uploaded_by=row["uploaded_by"],
        created_at=row["created_at"],
    )


def evidence_bytes(row: EvidenceFileRecord) -> bytes:
    data = read_file(row.stored_name)
    if data is None:
        raise NotFound("The evidence file is missing from storage.")
    return data


@dataclass(frozen=True)
class EvidenceDownload:
    filename: str
    content_type: str
    content: bytes


async def download_evidence(actor: Actor, evidence_id: uuid.UUID) -> EvidenceDownload:
    """The file, for members of the client or the body it belongs to (404 for anyone else)."""
    row = await evidence_row(evidence_id)
    if isinstance(actor, Principal):
        check_access(
            actor,
            row.organisation_id,
            row.body_id,
            client=CLIENT_ALL,
            body=BODY_ALL,
            what="No such evidence file.",
        )
    return EvidenceDownload(row.filename, row.content_type, evidence_bytes(row))
