"""Sharing the document room with the certification body, what the body sees, its comments."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from marketplace.accounts.guards import Principal
from marketplace.core import clock
from marketplace.core.activity import Tenant, log_action
from marketplace.core.db import write_transaction
from marketplace.core.errors import Conflict, Invalid, NotFound
from marketplace.readiness.context import as_struct, body, client, organisation_name
from marketplace.readiness.documents import (
    NO_DOCUMENT,
    NO_VERSION,
    VersionFile,
    current_of,
    get_document,
    list_documents,
    record_access,
    served_file,
    version_out,
    version_row,
    versions_of,
)
from marketplace.readiness.schemas import (
    BodyRef,
    CommentIn,
    CommentOut,
    SharedDocumentOut,
    SharedOut,
    ShareIn,
    ShareOut,
    ShareRecord,
)
from marketplace.readiness.tables import ControlledDocument, DocumentComment, DocumentShare
from marketplace.scheduling.tables import Engagement


async def engaged_bodies(organisation_id: uuid.UUID) -> list[BodyRef]:
    """Bodies with a running or completed engagement with the organisation: who may be shared with."""
    rows = (
        await Engagement.select(
            Engagement.body.as_alias("id"), Engagement.body._.name.as_alias("name")
        )
        .where((Engagement.organisation == organisation_id) & (Engagement.status != "ended"))
        .run()
    )
    unique = {r["id"]: r for r in rows}
    return sorted(msgspec.convert(list(unique.values()), list[BodyRef]), key=lambda r: r.name)


async def check_engaged(organisation_id: uuid.UUID, body_id: uuid.UUID) -> None:
    if body_id not in {b.id for b in await engaged_bodies(organisation_id)}:
        raise Invalid.field(
            "body_id", "Share only with a certification body you have an engagement with."
        )


async def share_documents(
    actor_id: uuid.UUID | None,
    organisation_id: uuid.UUID,
    body_id: uuid.UUID,
    document_ids: list[uuid.UUID],
) -> list[uuid.UUID]:
    """Share approved documents with the organisation's certification body for stage 1.

    ISO/IEC 17021-1:2015 9.3.1.2: stage 1 reviews the client's documented information. Only
    documents with an approved version can be shared (drafts stay internal); sharing again what
    is already shared changes nothing.
    """
    await check_engaged(organisation_id, body_id)
    wanted = list(dict.fromkeys(document_ids))
    if not wanted:
        raise Invalid.field("document_ids", "Choose at least one document to share.")
    async with write_transaction():
        docs = await list_documents(organisation_id)
        by_id = {d["id"]: d for d in docs}
        for doc_id in wanted:
            if doc_id not in by_id:
                raise Invalid.field("document_ids", "Share only this organisation's documents.")
            if by_id[doc_id]["current"] is None:
                raise Conflict(
                    f"{by_id[doc_id]['code']} has no approved version to share.",
                    code="not_approved",
                )
        live = {
            r["document"]
            for r in await DocumentShare.select(DocumentShare.document)
            .where(
                DocumentShare.document.is_in(wanted)
                & (DocumentShare.body == body_id)
                & DocumentShare.withdrawn_at.is_null()
            )
            .run()
        }
        new = [d for d in wanted if d not in live]
        if new:
            await DocumentShare.insert(
                *[
                    DocumentShare(
                        document=d, organisation=organisation_id, body=body_id, shared_by=actor_id
                    )
                    for d in new
                ]
            ).run()
            for i, d in enumerate(new):
                data: dict[str, Any] = {"body_id": str(body_id)}
                if i == 0:
                    # One e-mail per share, not per document: the first entry names them all.
                    data["batch"] = [str(x) for x in new]
                await log_action(
                    "marketplace.document.shared",
                    actor_id=actor_id,
                    entity_type="document",
                    entity_id=d,
                    tenant=Tenant("organisation", organisation_id),
                    data=data,
                )
    return new


async def withdraw_share(
    actor_id: uuid.UUID | None, organisation_id: uuid.UUID, share_id: uuid.UUID
) -> None:
    """Withdraw a share: the body loses access at once; the share stays on record."""
    async with write_transaction():
        row = (
            await DocumentShare.select()
            .where((DocumentShare.id == share_id) & (DocumentShare.organisation == organisation_id))
            .first()
            .run()
        )
        if row is None:
            raise NotFound("No such share.")
        if row["withdrawn_at"] is not None:
            raise Conflict("This share is already withdrawn.", code="already_withdrawn")
        await (
            DocumentShare.update(
                {DocumentShare.withdrawn_at: clock.now(), DocumentShare.withdrawn_by: actor_id}
            )
            .where(DocumentShare.id == share_id)
            .run()
        )
        await log_action(
            "marketplace.document.share_withdrawn",
            actor_id=actor_id,
            entity_type="document",
            entity_id=row["document"],
            tenant=Tenant("organisation", organisation_id),
            data={"body_id": str(row["body"])},
        )


async def list_shares(organisation_id: uuid.UUID, live_only: bool = True) -> list[ShareRecord]:
    query = DocumentShare.select(
        *DocumentShare.all_columns(),
        DocumentShare.body._.name.as_alias("body_name"),
        DocumentShare.document._.code.as_alias("code"),
        DocumentShare.document._.title.as_alias("title"),
    ).where(DocumentShare.organisation == organisation_id)
    if live_only:
        query = query.where(DocumentShare.withdrawn_at.is_null())
    rows: list[dict[str, Any]] = await query.order_by(DocumentShare.shared_at).run()
    return msgspec.convert(rows, list[ShareRecord])


def share_answer(s: ShareRecord) -> ShareOut:
    return ShareOut(
        id=s.id,
        document_id=s.document,
        body_id=s.body,
        body_name=s.body_name,
        shared_at=s.shared_at,
        withdrawn_at=s.withdrawn_at,
    )


async def shared_documents(body_id: uuid.UUID) -> list[dict[str, Any]]:
    """What organisations currently share with the body, with each document's current version."""
    shares = (
        await DocumentShare.select(
            DocumentShare.document,
            DocumentShare.organisation,
            DocumentShare.organisation._.name.as_alias("organisation_name"),
            DocumentShare.shared_at,
        )
        .where((DocumentShare.body == body_id) & DocumentShare.withdrawn_at.is_null())
        .run()
    )
    ids = [s["document"] for s in shares]
    if not ids:
        return []
    docs = {
        d["id"]: d
        for d in await ControlledDocument.select(
            ControlledDocument.id,
            ControlledDocument.code,
            ControlledDocument.title,
            ControlledDocument.doc_type,
            ControlledDocument.clause,
        )
        .where(ControlledDocument.id.is_in(ids))
        .run()
    }
    versions = await versions_of(ids)
    out = []
    for s in shares:
        d = docs[s["document"]]
        current = current_of([v for v in versions if v["document"] == d["id"]])
        out.append({**d, **s, "current": current})
    out.sort(key=lambda r: (r["organisation_name"], r["code"]))
    return out


async def body_document(body_id: uuid.UUID, document_id: uuid.UUID) -> dict[str, Any]:
    """The document as the body may see it: only while shared with it, 404 otherwise."""
    if (
        not await DocumentShare.exists()
        .where(
            (DocumentShare.document == document_id)
            & (DocumentShare.body == body_id)
            & DocumentShare.withdrawn_at.is_null()
        )
        .run()
    ):
        raise NotFound(NO_DOCUMENT)
    doc = await get_document(document_id, for_body=body_id)
    doc["organisation_name"] = await organisation_name(doc["organisation"])
    return doc


async def add_comment(
    actor_id: uuid.UUID | None,
    body_id: uuid.UUID,
    document_id: uuid.UUID,
    version_id: uuid.UUID,
    text: str,
) -> uuid.UUID:
    """A body auditor's comment on one approved version of a document shared with the body."""
    doc = await body_document(body_id, document_id)
    version = await version_row(document_id, version_id)
    if version.status == "draft":
        raise NotFound(NO_VERSION)
    if not text.strip():
        raise Invalid.field("text", "Write the comment.")
    async with write_transaction():
        comment = DocumentComment(
            document=document_id, version=version_id, body=body_id, author=actor_id, text=text
        )
        await comment.save().run()
        await log_action(
            "marketplace.document.commented",
            actor_id=actor_id,
            entity_type="document",
            entity_id=document_id,
            tenant=Tenant("body", body_id),
            data={
                "version": version.number,
                "organisation_id": str(doc["organisation"]),
                "comment_id": str(comment.id),
            },
        )
    return comment.id


# --- answers -----------------------------------------------------------------------------------


def shared_document_out(row: dict[str, Any]) -> SharedDocumentOut:
    current = row["current"]
    return as_struct(
        {**row, "current_version": current and msgspec.to_builtins(version_out(current))},
        SharedDocumentOut,
        organisation_id="organisation",
    )


# --- what the client's editors and the body's people do (API and pages alike) ------------------


async def share_as(principal: Principal, organisation_id: uuid.UUID, data: ShareIn) -> SharedOut:
    client(principal, organisation_id, write=True)
    new = await share_documents(principal.user_id, organisation_id, data.body_id, data.document_ids)
    wanted = set(data.document_ids)
    shares = [
        share_answer(s)
        for s in await list_shares(organisation_id)
        if s.body == data.body_id and s.document in wanted
    ]
    return SharedOut(shared=new, shares=shares)


async def withdraw_as(
    principal: Principal, organisation_id: uuid.UUID, share_id: uuid.UUID
) -> None:
    client(principal, organisation_id, write=True)
    await withdraw_share(principal.user_id, organisation_id, share_id)


async def open_shared_as(
    principal: Principal, body_id: uuid.UUID, document_id: uuid.UUID
) -> dict[str, Any]:
    """A shared document for the body's readers; the view goes into the client's access log."""
    body(principal, body_id)
    doc = await body_document(body_id, document_id)
    current = doc["current"]
    await record_access(
        document_id, current["id"] if current else None, principal.user_id, "body", "view", body_id
    )
    return doc


async def shared_download_as(
    principal: Principal, body_id: uuid.UUID, document_id: uuid.UUID, version_id: uuid.UUID
) -> VersionFile:
    """An approved version's file for the body's readers while shared (drafts: 404); logged."""
    body(principal, body_id)
    await body_document(body_id, document_id)
    version = await version_row(document_id, version_id)
    if version.status == "draft":
        raise NotFound(NO_VERSION)
    served = served_file(version)
    await record_access(document_id, version_id, principal.user_id, "body", "download", body_id)
    return served


async def comment_as(
    principal: Principal, body_id: uuid.UUID, document_id: uuid.UUID, data: CommentIn
) -> CommentOut:
    body(principal, body_id, comment=True)
    cid = await add_comment(principal.user_id, body_id, document_id, data.version_id, data.text)
    doc = await body_document(body_id, document_id)
    row = next(c for c in doc["comments"] if c["id"] == cid)
    return as_struct(row, CommentOut, version_id="version", body_id="body")
