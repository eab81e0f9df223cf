"""Document-room e-mails: a client shares documents or an internal audit with its body; a body comments."""

from __future__ import annotations

import uuid
from typing import Any

from marketplace.accounts.names import body_name
from marketplace.accounts.roles import TenantKind
from marketplace.core.activity import ActionEntry, on_action
from marketplace.notifications.services import members_with_roles, notify
from marketplace.readiness.context import organisation_name
from marketplace.readiness.tables import ControlledDocument, DocumentComment, InternalAudit
from marketplace.scheduling.tables import AuditAssignment

CLIENT_RECIPIENTS = ("owner", "quality_manager")
# Stage 1 is planned and prepared by the body's schedulers; its owner answers for the client.
BODY_RECIPIENTS = ("owner", "scheduler")
# The stage 1 lead auditor reviews the client's documented system (stage 1 is a readiness
# review of documents, ISO/IEC 17021-1 9.3.1.2; shared/reference/README.md), so the lead booked
# for the client's coming stage 1 is told too: as a user where the auditor has an account, else
# at the auditor's address, as audit e-mails reach the team.
BOOKED = ("proposed", "confirmed")


async def stage1_leads(
    organisation_id: uuid.UUID, body_id: uuid.UUID
) -> tuple[list[uuid.UUID], list[str]]:
    """(user ids, addresses) of the leads on the client's proposed or confirmed stage 1 with this body."""
    rows = (
        await AuditAssignment.select(
            AuditAssignment.auditor.user.as_alias("user"),
            AuditAssignment.auditor.email.as_alias("email"),
        )
        .where(
            (AuditAssignment.role == "lead")
            & (AuditAssignment.status == "active")
            & (AuditAssignment.audit.kind == "stage1")
            & AuditAssignment.audit.status.is_in(list(BOOKED))
            & (AuditAssignment.audit._.cycle._.engagement._.organisation == organisation_id)
            & (AuditAssignment.audit._.cycle._.engagement._.body == body_id)
        )
        .run()
    )
    users = [r["user"] for r in rows if r["user"]]
    return list(dict.fromkeys(users)), [r["email"] for r in rows if not r["user"] and r["email"]]


async def _tell_body_planners(
    organisation_id: uuid.UUID, entry: ActionEntry, template: str, data: dict[str, Any]
) -> None:
    """A client's share, e-mailed to the owner and schedulers of the body it was shared with and
    to the lead auditor of the client's booked stage 1."""
    body_id = uuid.UUID(entry.data["body_id"])
    planners = await members_with_roles(TenantKind.body, body_id, BODY_RECIPIENTS)
    lead_users, lead_emails = await stage1_leads(organisation_id, body_id)
    await notify(
        "document_room",
        template=template,
        user_ids=[*planners, *lead_users],
        emails=lead_emails,
        data={"organisation": await organisation_name(organisation_id), **data},
    )


async def _documents_shared(entry: ActionEntry) -> None:
    batch = entry.data.get("batch")
    if not batch or entry.tenant is None:
        return
    docs = (
        await ControlledDocument.select(ControlledDocument.code, ControlledDocument.title)
        .where(ControlledDocument.id.is_in([uuid.UUID(d) for d in batch]))
        .order_by(ControlledDocument.code)
        .run()
    )
    await _tell_body_planners(
        entry.tenant.id,
        entry,
        "documents_shared",
        {
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
    await _tell_body_planners(
        entry.tenant.id,
        entry,
        "internal_audit_shared",
        {
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
        .where(DocumentComment.id == uuid.UUID(entry.data["comment_id"]))
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
            "body_name": await body_name(entry.tenant.id),
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
