"""The document room: controlled documents, their versions and files, approval and the access log."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import msgspec

from marketplace.accounts.guards import Principal
from marketplace.accounts.tables import User
from marketplace.core import clock
from marketplace.core.activity import Tenant, log_action
from marketplace.core.changes import apply_changes
from marketplace.core.db import write_transaction
from marketplace.core.errors import Conflict, Invalid, NotFound
from marketplace.findings import evidence as files
from marketplace.readiness.context import (
    as_struct,
    changes_of,
    check_clause,
    check_member,
    client,
    columns_of,
)
from marketplace.readiness.schemas import (
    AccessOut,
    ApproveIn,
    DocumentIn,
    DocumentOut,
    DocumentPatch,
    DocumentRecord,
    FileOut,
    ShareOut,
    VersionIn,
    VersionOut,
    VersionPatch,
    VersionRecord,
)
from marketplace.readiness.tables import (
    ControlledDocument,
    DocumentAccess,
    DocumentComment,
    DocumentShare,
    DocumentVersion,
)
from marketplace.rules import readiness as rules

NO_DOCUMENT = "No such document."
NO_VERSION = "No such document version."
# The register entry's owner, review date and retention may be cleared; title and clause only change.
CLEARABLE_DOCUMENT = ("owner_id", "next_review_on", "retention_months")


async def create_document(
    actor_id: uuid.UUID | None, organisation_id: uuid.UUID, data: dict[str, Any]
) -> uuid.UUID:
    """Register a controlled document with its first version as a draft (ISO 9001:2015 7.5.2)."""
    code = data["code"].strip()
    if not code:
        raise Invalid.field("code", "Give the document a reference code such as QP-01.")
    clause = check_clause("clause", data.get("clause") or "")
    await check_member("owner_id", organisation_id, data.get("owner_id"))
    async with write_transaction():
        if (
            await ControlledDocument.exists()
            .where(
                (ControlledDocument.organisation == organisation_id)
                & (ControlledDocument.code == code)
            )
            .run()
        ):
            raise Conflict(f"Another document already has the code {code}.", code="code_taken")
        document = ControlledDocument(
            organisation=organisation_id,
            code=code,
            title=data["title"].strip(),
            doc_type=data["doc_type"],
            clause=clause,
            owner=data.get("owner_id"),
            next_review_on=data.get("next_review_on"),
            retention_months=data.get("retention_months"),
            created_by=actor_id,
        )
        await document.save().run()
        version = DocumentVersion(
            document=document.id,
            number=1,
            author=actor_id,
            change_summary=data.get("change_summary") or "First issue",
        )
        await version.save().run()
        await log_action(
            "marketplace.document.created",
            actor_id=actor_id,
            entity_type="document",
            entity_id=document.id,
            tenant=Tenant("organisation", organisation_id),
            data={"code": code, "doc_type": data["doc_type"]},
        )
    return document.id


async def document_row(document_id: uuid.UUID) -> DocumentRecord:
    row: dict[str, Any] | None = (
        await ControlledDocument.select().where(ControlledDocument.id == document_id).first().run()
    )
    if row is None:
        raise NotFound(NO_DOCUMENT)
    return msgspec.convert(row, DocumentRecord)


async def org_document(organisation_id: uuid.UUID, document_id: uuid.UUID) -> DocumentRecord:
    row = await document_row(document_id)
    if row.organisation != organisation_id:
        raise NotFound(NO_DOCUMENT)
    return row


def _flags(doc: dict[str, Any], current: dict[str, Any] | None, today: dt.date) -> None:
    start = (current or {}).get("effective_on") or (current or {}).get("approved_on")
    doc["retention_ends_on"] = (
        rules.retention_ends(start, doc["retention_months"])
        if doc["doc_type"] == "record" and start and doc["retention_months"] is not None
        else None
    )
    doc["past_retention"] = rules.past_retention(
        doc["doc_type"], start, doc["retention_months"], today
    )
    doc["review_due"] = rules.review_due(doc["next_review_on"], today)


VERSION_COLUMNS = (
    DocumentVersion.id,
    DocumentVersion.document,
    DocumentVersion.number,
    DocumentVersion.status,
    DocumentVersion.author,
    DocumentVersion.author._.name.as_alias("author_name"),
    DocumentVersion.approver,
    DocumentVersion.approver._.name.as_alias("approver_name"),
    DocumentVersion.approved_on,
    DocumentVersion.effective_on,
    DocumentVersion.change_summary,
    DocumentVersion.filename,
    DocumentVersion.content_type,
    DocumentVersion.size,
    DocumentVersion.sha256,
    DocumentVersion.created_at,
)


async def versions_of(document_ids: list[uuid.UUID]) -> list[dict[str, Any]]:
    if not document_ids:
        return []
    rows: list[dict[str, Any]] = (
        await DocumentVersion.select(*VERSION_COLUMNS)
        .where(DocumentVersion.document.is_in(document_ids))
        .order_by(DocumentVersion.number)
        .run()
    )
    return rows


def current_of(versions: list[dict[str, Any]]) -> dict[str, Any] | None:
    approved = [v for v in versions if v["status"] == "approved"]
    return approved[-1] if approved else None


async def list_documents(
    organisation_id: uuid.UUID, doc_type: str | None = None
) -> list[dict[str, Any]]:
    """The register: each document with its current version, draft, flags and live shares."""
    query = ControlledDocument.select(
        *ControlledDocument.all_columns(), ControlledDocument.owner._.name.as_alias("owner_name")
    ).where(ControlledDocument.organisation == organisation_id)
    if doc_type:
        query = query.where(ControlledDocument.doc_type == doc_type)
    docs: list[dict[str, Any]] = await query.order_by(ControlledDocument.code).run()
    ids = [d["id"] for d in docs]
    versions = await versions_of(ids)
    shares = (
        await DocumentShare.select(
            DocumentShare.id,
            DocumentShare.document,
            DocumentShare.body,
            DocumentShare.body._.name.as_alias("body_name"),
            # The API's ShareOut carries both; without them every shared register was a 500.
            DocumentShare.shared_at,
            DocumentShare.withdrawn_at,
        )
        .where(DocumentShare.document.is_in(ids) & DocumentShare.withdrawn_at.is_null())
        .run()
        if ids
        else []
    )
    today = clock.today()
    for d in docs:
        mine = [v for v in versions if v["document"] == d["id"]]
        d["current"] = current_of(mine)
        d["draft"] = next((v for v in mine if v["status"] == "draft"), None)
        d["shares"] = [s for s in shares if s["document"] == d["id"]]
        _flags(d, d["current"], today)
    return docs


async def get_document(
    document_id: uuid.UUID, *, for_body: uuid.UUID | None = None
) -> dict[str, Any]:
    """A document with versions, flags, shares and comments; a body sees approved versions only."""
    # The answer grows from the register row: versions, flags, comments and shares are added.
    doc = msgspec.structs.asdict(await document_row(document_id))
    owner = (
        await User.select(User.name).where(User.id == doc["owner"]).first().run()
        if doc["owner"]
        else None
    )
    doc["owner_name"] = owner["name"] if owner else None
    versions = await versions_of([document_id])
    doc["current"] = current_of(versions)
    if for_body is not None:
        versions = [v for v in versions if v["status"] != "draft"]
    doc["versions"] = versions
    doc["draft"] = next((v for v in versions if v["status"] == "draft"), None)
    _flags(doc, doc["current"], clock.today())
    comments = DocumentComment.select(
        *DocumentComment.all_columns(),
        DocumentComment.author._.name.as_alias("author_name"),
        DocumentComment.body._.name.as_alias("body_name"),
        DocumentComment.version._.number.as_alias("version_number"),
    ).where(DocumentComment.document == document_id)
    if for_body is not None:
        comments = comments.where(DocumentComment.body == for_body)
    doc["comments"] = await comments.order_by(DocumentComment.created_at).run()
    if for_body is None:
        doc["shares"] = (
            await DocumentShare.select(
                *DocumentShare.all_columns(), DocumentShare.body._.name.as_alias("body_name")
            )
            .where(DocumentShare.document == document_id)
            .order_by(DocumentShare.shared_at)
            .run()
        )
    else:
        doc["shares"] = []
    return doc


async def update_document(
    actor_id: uuid.UUID | None, document_id: uuid.UUID, changes: dict[str, Any]
) -> None:
    """Edit the register entry (title, clause, owner, review date, retention); versions are separate."""
    async with write_transaction():
        doc = await document_row(document_id)
        updates = columns_of(ControlledDocument, changes, ("next_review_on", "retention_months"))
        if changes.get("title") is not None:
            updates[ControlledDocument.title] = changes["title"].strip()
        if changes.get("clause") is not None:
            updates[ControlledDocument.clause] = check_clause("clause", changes["clause"])
        if "owner_id" in changes:
            await check_member("owner_id", doc.organisation, changes["owner_id"])
            updates[ControlledDocument.owner] = changes["owner_id"]
        await apply_changes(
            ControlledDocument,
            document_id,
            updates,
            action="marketplace.document.updated",
            actor_id=actor_id,
            entity_type="document",
            entity_id=document_id,
            tenant=Tenant("organisation", doc.organisation),
        )


async def version_row(document_id: uuid.UUID, version_id: uuid.UUID) -> VersionRecord:
    row: dict[str, Any] | None = (
        await DocumentVersion.select()
        .where((DocumentVersion.id == version_id) & (DocumentVersion.document == document_id))
        .first()
        .run()
    )
    if row is None:
        raise NotFound(NO_VERSION)
    return msgspec.convert(row, VersionRecord)


def _require_draft(version: VersionRecord) -> None:
    if version.status != "draft":
        raise Conflict(
            f"Version {version.number} is {version.status} and frozen; start a new version.",
            code="version_frozen",
        )


async def new_version(
    actor_id: uuid.UUID | None, document_id: uuid.UUID, change_summary: str
) -> uuid.UUID:
    """Open the next version as a draft; the approved one stays in force until this is approved."""
    async with write_transaction():
        doc = await document_row(document_id)
        versions = (
            await DocumentVersion.select(DocumentVersion.number, DocumentVersion.status)
            .where(DocumentVersion.document == document_id)
            .run()
        )
        if any(v["status"] == "draft" for v in versions):
            raise Conflict("This document already has a draft version.", code="draft_exists")
        number = max((v["number"] for v in versions), default=0) + 1
        version = DocumentVersion(
            document=document_id, number=number, author=actor_id, change_summary=change_summary
        )
        await version.save().run()
        await log_action(
            "marketplace.document_version.created",
            actor_id=actor_id,
            entity_type="document",
            entity_id=document_id,
            tenant=Tenant("organisation", doc.organisation),
            data={"version": number},
        )
    return version.id


async def update_version(
    actor_id: uuid.UUID | None,
    document_id: uuid.UUID,
    version_id: uuid.UUID,
    changes: dict[str, Any],
) -> None:
    """Edit a draft's change summary or author; an approved version is frozen (409)."""
    async with write_transaction():
        doc = await document_row(document_id)
        version = await version_row(document_id, version_id)
        _require_draft(version)
        updates: dict[Any, Any] = {}
        if changes.get("change_summary") is not None:
            updates[DocumentVersion.change_summary] = changes["change_summary"]
        if changes.get("author_id") is not None:
            await check_member("author_id", doc.organisation, changes["author_id"])
            updates[DocumentVersion.author] = changes["author_id"]
        await apply_changes(
            DocumentVersion,
            version_id,
            updates,
            action="marketplace.document_version.edited",
            actor_id=actor_id,
            entity_type="document",
            entity_id=document_id,
            tenant=Tenant("organisation", doc.organisation),
            data={"version": version.number},
        )


async def upload_version_file(
    actor_id: uuid.UUID | None,
    document_id: uuid.UUID,
    version_id: uuid.UUID,
    data: bytes,
    filename: str | None,
) -> FileOut:
    """Attach the draft's file with evidence's limits and checks (413/415, sha256, private storage)."""
    doc = await document_row(document_id)
    _require_draft(await version_row(document_id, version_id))
    display = files.safe_filename(filename)
    sniffed = files.check_upload(data, display)
    digest = hashlib.sha256(data).hexdigest()
    stored = files.new_stored_name()
    files.write_file(stored, data)
    try:
        async with write_transaction():
            version = await version_row(document_id, version_id)
            _require_draft(version)
            await (
                DocumentVersion.update(
                    {
                        DocumentVersion.stored_name: stored,
                        DocumentVersion.filename: display,
                        DocumentVersion.content_type: sniffed.content_type,
                        DocumentVersion.size: len(data),
                        DocumentVersion.sha256: digest,
                        DocumentVersion.updated_at: clock.now(),
                    }
                )
                .where(DocumentVersion.id == version_id)
                .run()
            )
            await log_action(
                "marketplace.document_version.file_uploaded",
                actor_id=actor_id,
                entity_type="document",
                entity_id=document_id,
                tenant=Tenant("organisation", doc.organisation),
                data={"version": version.number, "filename": display, "sha256": digest},
            )
    except BaseException:
        files.remove_file(stored)
        raise
    if version.stored_name:
        # The draft's earlier file was replaced: nothing refers to it any more.
        files.remove_file(version.stored_name)
    return FileOut(
        version_id=version_id,
        filename=display,
        size=len(data),
        sha256=digest,
        content_type=sniffed.content_type,
    )


async def approve_version(
    actor_id: uuid.UUID | None,
    document_id: uuid.UUID,
    version_id: uuid.UUID,
    effective_on: dt.date | None,
) -> None:
    """Approve a draft (ISO 9001:2015 7.5.2 c): it is frozen and supersedes the approved one."""
    async with write_transaction():
        doc = await document_row(document_id)
        version = await version_row(document_id, version_id)
        _require_draft(version)
        if not version.stored_name:
            raise Conflict("Upload the version's file before approving it.", code="no_file")
        today = clock.today()
        effective = effective_on or today
        if effective < today:
            raise Invalid.field("effective_on", "A version cannot take effect before its approval.")
        await (
            DocumentVersion.update(
                {DocumentVersion.status: "superseded", DocumentVersion.updated_at: clock.now()}
            )
            .where(
                (DocumentVersion.document == document_id) & (DocumentVersion.status == "approved")
            )
            .run()
        )
        await (
            DocumentVersion.update(
                {
                    DocumentVersion.status: "approved",
                    DocumentVersion.approver: actor_id,
                    DocumentVersion.approved_on: today,
                    DocumentVersion.effective_on: effective,
                    DocumentVersion.updated_at: clock.now(),
                }
            )
            .where(DocumentVersion.id == version_id)
            .run()
        )
        await log_action(
            "marketplace.document_version.approved",
            actor_id=actor_id,
            entity_type="document",
            entity_id=document_id,
            tenant=Tenant("organisation", doc.organisation),
            data={"version": version.number, "effective_on": str(effective)},
        )


def version_bytes(version: VersionRecord) -> bytes:
    data = files.read_file(version.stored_name) if version.stored_name else None
    if data is None:
        raise NotFound("This version has no file.")
    return data


async def record_access(
    document_id: uuid.UUID,
    version_id: uuid.UUID | None,
    user_id: uuid.UUID,
    side: str,
    action: str,
    body_id: uuid.UUID | None = None,
) -> None:
    """Append to the access log: who viewed or downloaded which version, when, from which side."""
    await DocumentAccess.insert(
        DocumentAccess(
            document=document_id,
            version=version_id,
            user=user_id,
            side=side,
            body=body_id,
            action=action,
            at=clock.now(),
        )
    ).run()


async def access_log(document_id: uuid.UUID, limit: int = 200) -> list[AccessOut]:
    rows: list[dict[str, Any]] = (
        await DocumentAccess.select(
            DocumentAccess.id,
            DocumentAccess.action,
            DocumentAccess.side,
            DocumentAccess.at,
            DocumentAccess.user.as_alias("user_id"),
            DocumentAccess.user._.name.as_alias("user_name"),
            DocumentAccess.body.as_alias("body_id"),
            DocumentAccess.body._.name.as_alias("body_name"),
            DocumentAccess.version.as_alias("version_id"),
            DocumentAccess.version._.number.as_alias("version_number"),
        )
        .where(DocumentAccess.document == document_id)
        .order_by(DocumentAccess.at, ascending=False)
        .limit(limit)
        .run()
    )
    return msgspec.convert(rows, list[AccessOut])


# --- answers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionFile:
    """A version's stored file with the name and type it is served under."""

    content: bytes
    filename: str
    content_type: str


def version_out(v: dict[str, Any]) -> VersionOut:
    return as_struct(v, VersionOut, author_id="author", approver_id="approver")


def share_out(s: dict[str, Any]) -> ShareOut:
    return as_struct(s, ShareOut, document_id="document", body_id="body")


def document_out(doc: dict[str, Any]) -> DocumentOut:
    current = doc["current"]
    return msgspec.convert(
        {
            **doc,
            "organisation_id": doc["organisation"],
            "owner_id": doc["owner"],
            "current_version": current and msgspec.to_builtins(version_out(current)),
            "versions": [msgspec.to_builtins(version_out(v)) for v in doc.get("versions", [])],
            "comments": [
                {**c, "version_id": c["version"], "body_id": c["body"]}
                for c in doc.get("comments", [])
            ],
            "shares": [msgspec.to_builtins(share_out(s)) for s in doc.get("shares", [])],
        },
        DocumentOut,
        strict=False,
    )


async def _version_answer(document_id: uuid.UUID, version_id: uuid.UUID) -> VersionOut:
    return version_out(next(v for v in await versions_of([document_id]) if v["id"] == version_id))


@dataclass(frozen=True)
class VersionRef:
    """The version of an organisation's document that a request's path names."""

    organisation_id: uuid.UUID
    document_id: uuid.UUID
    version_id: uuid.UUID


def version_ref(
    organisation_id: uuid.UUID, document_id: uuid.UUID, version_id: uuid.UUID
) -> VersionRef:
    """The path's ids as one value (a controller dependency: `ref`)."""
    return VersionRef(organisation_id, document_id, version_id)


def served_file(version: VersionRecord) -> VersionFile:
    """The file of a version row, 404 when it has none (or the store lost it)."""
    return VersionFile(version_bytes(version), version.filename, version.content_type)


# --- what the client's people do (API and pages alike) -----------------------------------------


async def _editable(
    principal: Principal, organisation_id: uuid.UUID, document_id: uuid.UUID
) -> DocumentRecord:
    client(principal, organisation_id, write=True)
    return await org_document(organisation_id, document_id)


async def create_document_as(
    principal: Principal, organisation_id: uuid.UUID, data: DocumentIn
) -> DocumentOut:
    client(principal, organisation_id, write=True)
    doc_id = await create_document(principal.user_id, organisation_id, msgspec.structs.asdict(data))
    return document_out(await get_document(doc_id))


async def open_document_as(
    principal: Principal, organisation_id: uuid.UUID, document_id: uuid.UUID
) -> dict[str, Any]:
    """The document for a member of its organisation; the view goes into the access log."""
    client(principal, organisation_id)
    await org_document(organisation_id, document_id)
    doc = await get_document(document_id)
    current = doc["current"] or doc["draft"]
    await record_access(
        document_id, current["id"] if current else None, principal.user_id, "organisation", "view"
    )
    return doc


async def edit_document_as(
    principal: Principal,
    organisation_id: uuid.UUID,
    document_id: uuid.UUID,
    data: DocumentPatch,
    given: Iterable[str],
) -> DocumentOut:
    """Edit the register entry; `given` names the fields sent, so a null clears a clearable one."""
    await _editable(principal, organisation_id, document_id)
    changes = changes_of(data, given, CLEARABLE_DOCUMENT)
    await update_document(principal.user_id, document_id, changes)
    return document_out(await get_document(document_id))


async def access_log_as(
    principal: Principal, organisation_id: uuid.UUID, document_id: uuid.UUID
) -> list[AccessOut]:
    await _editable(principal, organisation_id, document_id)
    return await access_log(document_id)


async def new_version_as(
    principal: Principal, organisation_id: uuid.UUID, document_id: uuid.UUID, data: VersionIn
) -> VersionOut:
    await _editable(principal, organisation_id, document_id)
    vid = await new_version(principal.user_id, document_id, data.change_summary)
    return await _version_answer(document_id, vid)


async def edit_version_as(principal: Principal, ref: VersionRef, data: VersionPatch) -> VersionOut:
    await _editable(principal, ref.organisation_id, ref.document_id)
    changes = msgspec.structs.asdict(data)
    await update_version(principal.user_id, ref.document_id, ref.version_id, changes)
    return await _version_answer(ref.document_id, ref.version_id)


async def upload_file_as(
    principal: Principal, ref: VersionRef, read: Callable[[], Awaitable[tuple[bytes, str | None]]]
) -> FileOut:
    """Attach the draft's file; `read` is the controller's coroutine that reads the upload."""
    await _editable(principal, ref.organisation_id, ref.document_id)
    content, filename = await read()
    return await upload_version_file(
        principal.user_id, ref.document_id, ref.version_id, content, filename
    )


async def approve_version_as(
    principal: Principal, ref: VersionRef, data: ApproveIn | None
) -> VersionOut:
    await _editable(principal, ref.organisation_id, ref.document_id)
    effective = data.effective_on if data else None
    await approve_version(principal.user_id, ref.document_id, ref.version_id, effective)
    return await _version_answer(ref.document_id, ref.version_id)


async def download_as(principal: Principal, ref: VersionRef) -> VersionFile:
    """A version's file for a member of the organisation (drafts too); the download is logged."""
    client(principal, ref.organisation_id)
    await org_document(ref.organisation_id, ref.document_id)
    served = served_file(await version_row(ref.document_id, ref.version_id))
    await record_access(
        ref.document_id, ref.version_id, principal.user_id, "organisation", "download"
    )
    return served
