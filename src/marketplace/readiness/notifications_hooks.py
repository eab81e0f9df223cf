"""Document-room e-mails: a client shares documents or an internal audit with its body; a body comments."""

from __future__ import annotations

import uuid
from typing import Any

from marketplace.accounts.roles import TenantKind
from marketplace.accounts.tables import CertificationBody, Organisation
from marketplace.core.activity import ActionEntry, on_action
from marketplace.notifications.services import members_with_roles, notify
from marketplace.readiness.tables import ControlledDocument, DocumentComment, InternalAudit

CLIENT_RECIPIENTS = ("owner", "quality_manager")
# Stage 1 is planned and prepared by the body's schedulers; its owner answers for the client.
BODY_RECIPIENTS = ("owner", "scheduler")


async def _name(table: Any, row_id: Any) -> str:
    row = await table.select(table.name).where(table.id == row_id).first().run()
    return str(row["name"]) if row else ""


async def _documents_shared(entry: ActionEntry) -> None:
    batch = entry.data.get("batch")
    if not batch or entry.tenant is None:
        return
    body_id = uuid.UUID(entry.data["body_id"])
    docs = (
        await ControlledDocument.select(ControlledDocument.code, ControlledDocument.title)
        .where(ControlledDocument.id.is_in([uuid.UUID(d) for d in batch]))
        .order_by(ControlledDocument.code)
        .run()
    )
    await notify(
        "document_room",
        template="documents_shared",
        user_ids=await members_with_roles(TenantKind.body, body_id, BODY_RECIPIENTS),
        data={
            "organisation": await _name(Organisation, entry.tenant.id),
            "count": len(docs),
            "documents": [f"{d['code']} {d['title']}" for d in docs],
            "path": "/shared-documents",
        },
    )


async def _internal_audit_shared(entry: ActionEntry) -> None:
    if entry.tenant is None:
        return
    audit = (
        await InternalAudit.select(
            InternalAudit.scope, InternalAudit.planned_on, InternalAudit.completed_on
        )
        .where(InternalAudit.id == uuid.UUID(entry.entity_id))
        .first()
        .run()
    )
    if audit is None:
        return
    body_id = uuid.UUID(entry.data["body_id"])
    await notify(
        "document_room",
        template="internal_audit_shared",
        user_ids=await members_with_roles(TenantKind.body, body_id, BODY_RECIPIENTS),
        data={
            "organisation": await _name(Organisation, entry.tenant.id),
            "scope": " ".join(str(audit["scope"]).split())[:200],
            "held_on": audit["completed_on"] or audit["planned_on"],
            "path": f"/shared-internal-audits/{entry.entity_id}",
        },
    )


async def _commented(entry: ActionEntry) -> None:
    if entry.tenant is None:
        return
    doc = (
        await ControlledDocument.select(
            ControlledDocument.code, ControlledDocument.title, ControlledDocument.owner
        )
        .where(ControlledDocument.id == uuid.UUID(entry.entity_id))
        .first()
        .run()
    )
    comment = (
        await DocumentComment.select(DocumentComment.text)
        .where(DocumentComment.id == uuid.UUID(entry.data.get("comment_id", str(uuid.UUID(int=0)))))
        .first()
        .run()
    )
    if doc is None:
        return
    organisation_id = uuid.UUID(entry.data["organisation_id"])
    managers = await members_with_roles(TenantKind.organisation, organisation_id, CLIENT_RECIPIENTS)
    text = " ".join(str(comment["text"]).split()) if comment else ""
    await notify(
        "document_room",
        template="document_commented",
        # The document's owner answers for it, whatever their role.
        user_ids=[*managers, *([doc["owner"]] if doc["owner"] else [])],
        data={
            "body_name": await _name(CertificationBody, entry.tenant.id),
            "document": f"{doc['code']} {doc['title']}",
            "version": entry.data.get("version", ""),
            "excerpt": text if len(text) <= 300 else text[:297] + "...",
            "path": f"/documents/{entry.entity_id}",
        },
    )


def install() -> None:
    on_action("marketplace.document.shared", _documents_shared)
    on_action("marketplace.internal_audit.shared", _internal_audit_shared)
    on_action("marketplace.document.commented", _commented)
