"""Readiness services: self-assessment and its scores, the document room, internal audits, stage 1."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
import re
import uuid
from collections.abc import Iterable
from typing import Any

from marketplace.accounts.tables import CertificationBody, Membership, Organisation, User
from marketplace.core import clock
from marketplace.core.activity import Tenant, log_action
from marketplace.core.db import write_transaction
from marketplace.core.errors import Conflict, Invalid, NotFound
from marketplace.findings import evidence as files
from marketplace.findings.tables import AuditReport, CorrectiveAction
from marketplace.readiness.tables import (
    ControlledDocument,
    DocumentAccess,
    DocumentComment,
    DocumentShare,
    DocumentVersion,
    GapAssessment,
    GapItem,
    GapItemDocument,
    InternalAction,
    InternalAudit,
    InternalFinding,
    ManagementReview,
    ReadinessSnapshot,
    Stage1Reference,
)
from marketplace.reference.tables import Standard
from marketplace.rules import readiness as rules
from marketplace.rules.deadlines import Grade, due_date, is_nonconformity
from marketplace.scheduling.tables import Audit, Engagement
from marketplace.settings import PROJECT_ROOT

CLAUSES_CSV = PROJECT_ROOT / "seed" / "iso9001_clauses.csv"
CLAUSE_PATTERN = re.compile(r"^\d{1,2}(\.\d{1,2}){0,3}$")
NO_ASSESSMENT = "No such self-assessment."
NO_ITEM = "No such clause in this self-assessment."
NO_DOCUMENT = "No such document."
NO_VERSION = "No such document version."
NO_AUDIT = "No such internal audit."
NO_FINDING = "No such internal finding."
EDITABLE = frozenset({"open", "rejected"})
REQUIRED_ANSWER = ("correction", "root_cause_method", "root_cause", "action_plan", "target_date")
# ISO 9001:2015 9.3.2 a) to f): what a management review takes into consideration.
REVIEW_INPUTS = {
    "previous_actions": "Status of actions from previous management reviews",
    "context_changes": "Changes in external and internal issues",
    "performance": "Performance and effectiveness (customers, objectives, processes, "
    "nonconformities, monitoring, audit results, external providers)",
    "resources": "Adequacy of resources",
    "risks_opportunities": "Effectiveness of actions taken to address risks and opportunities",
    "improvement": "Opportunities for improvement",
}


# --- clause catalogue --------------------------------------------------------------------------


@functools.cache
def base_clauses() -> tuple[tuple[str, str], ...]:
    """ISO 9001:2015 clause titles 4 to 10 from seed/iso9001_clauses.csv (see seed/SOURCES.md)."""
    with CLAUSES_CSV.open(encoding="utf-8", newline="") as f:
        return tuple((r["clause"].strip(), r["title"].strip()) for r in csv.DictReader(f))


def checklist_for(standard: str) -> list[rules.Clause]:
    return rules.checklist(standard, base_clauses())


def check_clause(field: str, value: str) -> str:
    value = value.strip()
    if value and not CLAUSE_PATTERN.match(value):
        raise Invalid.field(field, "A clause number such as 7.5 or 8.5.1.")
    return value


async def _check_member(field: str, organisation_id: uuid.UUID, user_id: Any) -> None:
    if user_id is None:
        return
    if (
        not await Membership.exists()
        .where((Membership.user == user_id) & (Membership.organisation == organisation_id))
        .run()
    ):
        raise Invalid.field(field, "Choose a member of the organisation.")


async def organisation_members(organisation_id: uuid.UUID) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (
        await Membership.select(
            Membership.user.as_alias("id"), Membership.user._.name.as_alias("name")
        )
        .where(Membership.organisation == organisation_id)
        .order_by(Membership.user._.name)
        .run()
    )
    return rows


async def organisation_name(organisation_id: uuid.UUID) -> str:
    row = (
        await Organisation.select(Organisation.name)
        .where(Organisation.id == organisation_id)
        .first()
        .run()
    )
    if row is None:
        raise NotFound("No such organisation.")
    return str(row["name"])


async def standards() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (
        await Standard.select(Standard.code, Standard.title).order_by(Standard.code).run()
    )
    return rows


# --- gap self-assessment -----------------------------------------------------------------------


async def create_assessment(
    actor_id: uuid.UUID | None, organisation_id: uuid.UUID, standard: str
) -> uuid.UUID:
    """Start a self-assessment: every clause 4 to 10 of the standard, rated missing until assessed."""
    if not await Standard.exists().where(Standard.code == standard).run():
        raise Invalid.field("standard", f"Unknown standard {standard!r}.")
    async with write_transaction():
        if (
            await GapAssessment.exists()
            .where(
                (GapAssessment.organisation == organisation_id)
                & (GapAssessment.standard == standard)
            )
            .run()
        ):
            raise Conflict(
                f"There is already a self-assessment for {standard}.", code="assessment_exists"
            )
        assessment = GapAssessment(
            organisation=organisation_id, standard=standard, created_by=actor_id
        )
        await assessment.save().run()
        await GapItem.insert(
            *[
                GapItem(assessment=assessment.id, clause=c.clause, title=c.title)
                for c in checklist_for(standard)
            ]
        ).run()
        await _snapshot(assessment.id)
        await log_action(
            "marketplace.gap_assessment.created",
            actor_id=actor_id,
            entity_type="gap_assessment",
            entity_id=assessment.id,
            tenant=Tenant("organisation", organisation_id),
            data={"standard": standard},
        )
    return assessment.id


async def assessment_row(organisation_id: uuid.UUID, assessment_id: uuid.UUID) -> dict[str, Any]:
    row: dict[str, Any] | None = (
        await GapAssessment.select()
        .where(
            (GapAssessment.id == assessment_id) & (GapAssessment.organisation == organisation_id)
        )
        .first()
        .run()
    )
    if row is None:
        raise NotFound(NO_ASSESSMENT)
    return row


def _score_out(s: rules.Score) -> dict[str, Any]:
    return {"percent": s.percent, "counts": s.counts}


def scores_of(items: Iterable[dict[str, Any]]) -> dict[str, Any]:
    result = rules.readiness((i["clause"], i["rating"]) for i in items)
    return {
        "overall": _score_out(result.overall),
        "groups": {g: _score_out(s) for g, s in result.groups.items()},
        "level": rules.level(result.overall.percent),
    }


async def _snapshot(assessment_id: uuid.UUID) -> None:
    """Keep today's scores: one row per assessment and day, overwritten by later changes that day."""
    items = (
        await GapItem.select(GapItem.clause, GapItem.rating)
        .where(GapItem.assessment == assessment_id)
        .run()
    )
    result = rules.readiness((i["clause"], i["rating"]) for i in items)
    groups = {g: s.percent for g, s in result.groups.items()}
    today = clock.today()
    existing = (
        await ReadinessSnapshot.select(ReadinessSnapshot.id)
        .where(
            (ReadinessSnapshot.assessment == assessment_id) & (ReadinessSnapshot.taken_on == today)
        )
        .first()
        .run()
    )
    if existing:
        await (
            ReadinessSnapshot.update(
                {
                    ReadinessSnapshot.overall: result.overall.percent,
                    ReadinessSnapshot.groups: groups,
                }
            )
            .where(ReadinessSnapshot.id == existing["id"])
            .run()
        )
    else:
        await ReadinessSnapshot.insert(
            ReadinessSnapshot(
                assessment=assessment_id,
                taken_on=today,
                overall=result.overall.percent,
                groups=groups,
            )
        ).run()


async def list_assessments(organisation_id: uuid.UUID) -> list[dict[str, Any]]:
    """The organisation's assessments with their scores (two queries whatever their number)."""
    rows: list[dict[str, Any]] = (
        await GapAssessment.select(
            GapAssessment.id,
            GapAssessment.standard,
            GapAssessment.created_at,
            GapAssessment.updated_at,
        )
        .where(GapAssessment.organisation == organisation_id)
        .order_by(GapAssessment.standard)
        .run()
    )
    if not rows:
        return rows
    items = (
        await GapItem.select(GapItem.assessment, GapItem.clause, GapItem.rating)
        .where(GapItem.assessment.is_in([r["id"] for r in rows]))
        .run()
    )
    for r in rows:
        mine = [i for i in items if i["assessment"] == r["id"]]
        r.update(scores_of(mine))
        r["gap_count"] = len(rules.gaps((i["clause"], i["rating"]) for i in mine))
    return rows


async def get_assessment(organisation_id: uuid.UUID, assessment_id: uuid.UUID) -> dict[str, Any]:
    """Items in clause order with owners and linked documents, scores, the gap list and history."""
    row = await assessment_row(organisation_id, assessment_id)
    items: list[dict[str, Any]] = (
        await GapItem.select(*GapItem.all_columns(), GapItem.owner._.name.as_alias("owner_name"))
        .where(GapItem.assessment == assessment_id)
        .run()
    )
    items.sort(key=lambda i: rules.clause_key(i["clause"]))
    links = (
        await GapItemDocument.select(
            GapItemDocument.gap_item,
            GapItemDocument.document.as_alias("id"),
            GapItemDocument.document._.code.as_alias("code"),
            GapItemDocument.document._.title.as_alias("title"),
        )
        .where(GapItemDocument.gap_item._.assessment == assessment_id)
        .run()
    )
    for item in items:
        item["documents"] = [
            {"id": link["id"], "code": link["code"], "title": link["title"]}
            for link in links
            if link["gap_item"] == item["id"]
        ]
        item["is_group"] = "." not in item["clause"]
    order = {c: n for n, c in enumerate(rules.gaps((i["clause"], i["rating"]) for i in items))}
    row.update(scores_of(items))
    row["items"] = items
    row["gap_count"] = len(order)
    row["gaps"] = sorted(
        (i for i in items if i["clause"] in order), key=lambda i: order[i["clause"]]
    )
    row["history"] = (
        await ReadinessSnapshot.select(
            ReadinessSnapshot.taken_on, ReadinessSnapshot.overall, ReadinessSnapshot.groups
        )
        .where(ReadinessSnapshot.assessment == assessment_id)
        .order_by(ReadinessSnapshot.taken_on)
        .output(load_json=True)
        .run()
    )
    return row


async def item_row(organisation_id: uuid.UUID, item_id: uuid.UUID) -> dict[str, Any]:
    row: dict[str, Any] | None = (
        await GapItem.select(
            *GapItem.all_columns(),
            GapItem.assessment._.organisation.as_alias("organisation_id"),
        )
        .where(GapItem.id == item_id)
        .first()
        .run()
    )
    if row is None or row["organisation_id"] != organisation_id:
        raise NotFound(NO_ITEM)
    return row


async def _check_documents(organisation_id: uuid.UUID, ids: list[uuid.UUID]) -> None:
    if not ids:
        return
    known = {
        r["id"]
        for r in await ControlledDocument.select(ControlledDocument.id)
        .where(
            (ControlledDocument.organisation == organisation_id)
            & ControlledDocument.id.is_in(list(set(ids)))
        )
        .run()
    }
    if set(ids) - known:
        raise Invalid.field("document_ids", "Link only this organisation's documents.")


async def update_item(
    actor_id: uuid.UUID | None,
    organisation_id: uuid.UUID,
    item_id: uuid.UUID,
    changes: dict[str, Any],
) -> None:
    """Rate a clause and record note, owner, target date and linked documents; scores follow."""
    async with write_transaction():
        item = await item_row(organisation_id, item_id)
        if "." not in item["clause"]:
            raise Conflict(
                "A clause heading is scored from its sub-clauses.", code="group_not_rated"
            )
        updates: dict[Any, Any] = {}
        if changes.get("rating") is not None:
            updates[GapItem.rating] = rules.Rating(changes["rating"]).value
        if changes.get("note") is not None:
            updates[GapItem.note] = changes["note"]
        if "owner_id" in changes:
            await _check_member("owner_id", organisation_id, changes["owner_id"])
            updates[GapItem.owner] = changes["owner_id"]
        if "target_date" in changes:
            updates[GapItem.target_date] = changes["target_date"]
        documents = changes.get("document_ids")
        if documents is not None:
            await _check_documents(organisation_id, documents)
            await GapItemDocument.delete().where(GapItemDocument.gap_item == item_id).run()
            if documents:
                await GapItemDocument.insert(
                    *[
                        GapItemDocument(gap_item=item_id, document=d)
                        for d in dict.fromkeys(documents)
                    ]
                ).run()
        updates[GapItem.updated_at] = clock.now()
        await GapItem.update(updates).where(GapItem.id == item_id).run()
        await (
            GapAssessment.update({GapAssessment.updated_at: clock.now()})
            .where(GapAssessment.id == item["assessment"])
            .run()
        )
        await _snapshot(item["assessment"])
        await log_action(
            "marketplace.gap_item.updated",
            actor_id=actor_id,
            entity_type="gap_assessment",
            entity_id=item["assessment"],
            tenant=Tenant("organisation", organisation_id),
            data={
                "clause": item["clause"],
                "rating": changes.get("rating") or item["rating"],
                "from": item["rating"],
            },
        )


# --- internal actions --------------------------------------------------------------------------


async def create_action_from_gap(
    actor_id: uuid.UUID | None,
    organisation_id: uuid.UUID,
    item_id: uuid.UUID,
    data: dict[str, Any],
) -> uuid.UUID:
    """Turn a gap (a clause missing or partly in place) into an internal action with owner and due date."""
    async with write_transaction():
        item = await item_row(organisation_id, item_id)
        if item["rating"] not in (rules.Rating.missing, rules.Rating.partly):
            raise Conflict("Only a missing or partly met clause is a gap.", code="not_a_gap")
        await _check_member("owner_id", organisation_id, data.get("owner_id"))
        title = (
            data.get("title") or ""
        ).strip() or f"Close the gap in {item['clause']} {item['title']}"
        action = InternalAction(
            organisation=organisation_id,
            gap_item=item_id,
            clause=item["clause"],
            title=title[:200],
            owner=data.get("owner_id"),
            due_on=data.get("due_on"),
            created_by=actor_id,
        )
        await action.save().run()
        await log_action(
            "marketplace.internal_action.created",
            actor_id=actor_id,
            entity_type="internal_action",
            entity_id=action.id,
            tenant=Tenant("organisation", organisation_id),
            data={"clause": item["clause"], "due_on": str(data.get("due_on") or "")},
        )
    return action.id


async def list_actions(organisation_id: uuid.UUID) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (
        await InternalAction.select(
            *InternalAction.all_columns(), InternalAction.owner._.name.as_alias("owner_name")
        )
        .where(InternalAction.organisation == organisation_id)
        .order_by(InternalAction.created_at)
        .run()
    )
    today = clock.today()
    for r in rows:
        r["overdue"] = r["status"] == "open" and r["due_on"] is not None and today > r["due_on"]
    rows.sort(key=lambda r: (r["status"] != "open", r["due_on"] or dt.date.max))
    return rows


async def complete_action(
    actor_id: uuid.UUID | None, organisation_id: uuid.UUID, action_id: uuid.UUID
) -> dict[str, Any]:
    async with write_transaction():
        row = (
            await InternalAction.select()
            .where(
                (InternalAction.id == action_id) & (InternalAction.organisation == organisation_id)
            )
            .first()
            .run()
        )
        if row is None:
            raise NotFound("No such internal action.")
        if row["status"] == "done":
            raise Conflict("This action is already done.", code="already_done")
        await (
            InternalAction.update(
                {InternalAction.status: "done", InternalAction.done_at: clock.now()}
            )
            .where(InternalAction.id == action_id)
            .run()
        )
        await log_action(
            "marketplace.internal_action.done",
            actor_id=actor_id,
            entity_type="internal_action",
            entity_id=action_id,
            tenant=Tenant("organisation", organisation_id),
        )
    row.update(status="done", overdue=False)
    return row


# --- document room -----------------------------------------------------------------------------


async def create_document(
    actor_id: uuid.UUID | None, organisation_id: uuid.UUID, data: dict[str, Any]
) -> uuid.UUID:
    """Register a controlled document with its first version as a draft (ISO 9001:2015 7.5.2)."""
    code = data["code"].strip()
    if not code:
        raise Invalid.field("code", "Give the document a reference code such as QP-01.")
    clause = check_clause("clause", data.get("clause") or "")
    await _check_member("owner_id", organisation_id, data.get("owner_id"))
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


async def document_row(document_id: uuid.UUID) -> dict[str, Any]:
    row: dict[str, Any] | None = (
        await ControlledDocument.select().where(ControlledDocument.id == document_id).first().run()
    )
    if row is None:
        raise NotFound(NO_DOCUMENT)
    return row


async def org_document(organisation_id: uuid.UUID, document_id: uuid.UUID) -> dict[str, Any]:
    row = await document_row(document_id)
    if row["organisation"] != organisation_id:
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


async def _versions(document_ids: list[uuid.UUID]) -> list[dict[str, Any]]:
    if not document_ids:
        return []
    rows: list[dict[str, Any]] = (
        await DocumentVersion.select(*VERSION_COLUMNS)
        .where(DocumentVersion.document.is_in(document_ids))
        .order_by(DocumentVersion.number)
        .run()
    )
    return rows


def _current(versions: list[dict[str, Any]]) -> dict[str, Any] | None:
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
    versions = await _versions(ids)
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
        d["current"] = _current(mine)
        d["draft"] = next((v for v in mine if v["status"] == "draft"), None)
        d["shares"] = [s for s in shares if s["document"] == d["id"]]
        _flags(d, d["current"], today)
    return docs


async def get_document(
    document_id: uuid.UUID, *, for_body: uuid.UUID | None = None
) -> dict[str, Any]:
    """A document with versions, flags, shares and comments; a body sees approved versions only."""
    doc = await document_row(document_id)
    owner = (
        await User.select(User.name).where(User.id == doc["owner"]).first().run()
        if doc["owner"]
        else None
    )
    doc["owner_name"] = owner["name"] if owner else None
    versions = await _versions([document_id])
    doc["current"] = _current(versions)
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
        updates: dict[Any, Any] = {}
        if changes.get("title") is not None:
            updates[ControlledDocument.title] = changes["title"].strip()
        if changes.get("clause") is not None:
            updates[ControlledDocument.clause] = check_clause("clause", changes["clause"])
        for name in ("next_review_on", "retention_months"):
            if name in changes:
                updates[getattr(ControlledDocument, name)] = changes[name]
        if "owner_id" in changes:
            await _check_member("owner_id", doc["organisation"], changes["owner_id"])
            updates[ControlledDocument.owner] = changes["owner_id"]
        if not updates:
            return
        updates[ControlledDocument.updated_at] = clock.now()
        await ControlledDocument.update(updates).where(ControlledDocument.id == document_id).run()
        await log_action(
            "marketplace.document.updated",
            actor_id=actor_id,
            entity_type="document",
            entity_id=document_id,
            tenant=Tenant("organisation", doc["organisation"]),
            data={"fields": sorted(c._meta.name for c in updates if c._meta.name != "updated_at")},
        )


async def version_row(document_id: uuid.UUID, version_id: uuid.UUID) -> dict[str, Any]:
    row: dict[str, Any] | None = (
        await DocumentVersion.select()
        .where((DocumentVersion.id == version_id) & (DocumentVersion.document == document_id))
        .first()
        .run()
    )
    if row is None:
        raise NotFound(NO_VERSION)
    return row


def _require_draft(version: dict[str, Any]) -> None:
    if version["status"] != "draft":
        raise Conflict(
            f"Version {version['number']} is {version['status']} and frozen; start a new version.",
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
            tenant=Tenant("organisation", doc["organisation"]),
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
            await _check_member("author_id", doc["organisation"], changes["author_id"])
            updates[DocumentVersion.author] = changes["author_id"]
        if not updates:
            return
        updates[DocumentVersion.updated_at] = clock.now()
        await DocumentVersion.update(updates).where(DocumentVersion.id == version_id).run()
        await log_action(
            "marketplace.document_version.edited",
            actor_id=actor_id,
            entity_type="document",
            entity_id=document_id,
            tenant=Tenant("organisation", doc["organisation"]),
            data={"version": version["number"]},
        )


async def upload_version_file(
    actor_id: uuid.UUID | None,
    document_id: uuid.UUID,
    version_id: uuid.UUID,
    data: bytes,
    filename: str | None,
) -> dict[str, Any]:
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
                tenant=Tenant("organisation", doc["organisation"]),
                data={"version": version["number"], "filename": display, "sha256": digest},
            )
    except BaseException:
        files.remove_file(stored)
        raise
    if version["stored_name"]:
        # The draft's earlier file was replaced: nothing refers to it any more.
        files.remove_file(version["stored_name"])
    return {
        "version_id": version_id,
        "filename": display,
        "size": len(data),
        "sha256": digest,
        "content_type": sniffed.content_type,
    }


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
        if not version["stored_name"]:
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
            tenant=Tenant("organisation", doc["organisation"]),
            data={"version": version["number"], "effective_on": str(effective)},
        )


def version_bytes(version: dict[str, Any]) -> bytes:
    data = files.read_file(version["stored_name"]) if version["stored_name"] else None
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


async def access_log(document_id: uuid.UUID, limit: int = 200) -> list[dict[str, Any]]:
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
    return rows


# --- sharing with the certification body ------------------------------------------------------


async def engaged_bodies(organisation_id: uuid.UUID) -> list[dict[str, Any]]:
    """Bodies with a running or completed engagement with the organisation: who may be shared with."""
    rows = (
        await Engagement.select(
            Engagement.body.as_alias("id"), Engagement.body._.name.as_alias("name")
        )
        .where((Engagement.organisation == organisation_id) & (Engagement.status != "ended"))
        .run()
    )
    unique = {r["id"]: r for r in rows}
    return sorted(unique.values(), key=lambda r: r["name"])


async def _check_engaged(organisation_id: uuid.UUID, body_id: uuid.UUID) -> None:
    if body_id not in {b["id"] for b in await engaged_bodies(organisation_id)}:
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
    await _check_engaged(organisation_id, body_id)
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


async def list_shares(organisation_id: uuid.UUID, live_only: bool = True) -> list[dict[str, Any]]:
    query = DocumentShare.select(
        *DocumentShare.all_columns(),
        DocumentShare.body._.name.as_alias("body_name"),
        DocumentShare.document._.code.as_alias("code"),
        DocumentShare.document._.title.as_alias("title"),
    ).where(DocumentShare.organisation == organisation_id)
    if live_only:
        query = query.where(DocumentShare.withdrawn_at.is_null())
    rows: list[dict[str, Any]] = await query.order_by(DocumentShare.shared_at).run()
    return rows


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
    versions = await _versions(ids)
    out = []
    for s in shares:
        d = docs[s["document"]]
        current = _current([v for v in versions if v["document"] == d["id"]])
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
    if version["status"] == "draft":
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
                "version": version["number"],
                "organisation_id": str(doc["organisation"]),
                "comment_id": str(comment.id),
            },
        )
    return comment.id


# --- internal audits ---------------------------------------------------------------------------


def _clauses(values: Iterable[str]) -> list[str]:
    out = [check_clause("clauses", v) for v in values]
    out = [c for c in dict.fromkeys(out) if c]
    if not out:
        raise Invalid.field("clauses", "Name at least one clause the audit covers.")
    return sorted(out, key=rules.clause_key)


async def create_internal_audit(
    actor_id: uuid.UUID | None, organisation_id: uuid.UUID, data: dict[str, Any]
) -> uuid.UUID:
    """Plan an internal audit (ISO 9001:2015 9.2.2: scope, criteria, auditors, date)."""
    clauses = _clauses(data["clauses"])
    async with write_transaction():
        audit = InternalAudit(
            organisation=organisation_id,
            scope=data["scope"].strip(),
            clauses=clauses,
            auditor_name=data["auditor_name"].strip(),
            planned_on=data["planned_on"],
            created_by=actor_id,
        )
        await audit.save().run()
        await log_action(
            "marketplace.internal_audit.planned",
            actor_id=actor_id,
            entity_type="internal_audit",
            entity_id=audit.id,
            tenant=Tenant("organisation", organisation_id),
            data={"clauses": clauses, "planned_on": str(data["planned_on"])},
        )
    return audit.id


async def internal_audit_row(audit_id: uuid.UUID) -> dict[str, Any]:
    row: dict[str, Any] | None = (
        await InternalAudit.select(
            *InternalAudit.all_columns(),
            InternalAudit.shared_body._.name.as_alias("shared_body_name"),
        )
        .where(InternalAudit.id == audit_id)
        .first()
        .output(load_json=True)
        .run()
    )
    if row is None:
        raise NotFound(NO_AUDIT)
    return row


async def org_internal_audit(organisation_id: uuid.UUID, audit_id: uuid.UUID) -> dict[str, Any]:
    row = await internal_audit_row(audit_id)
    if row["organisation"] != organisation_id:
        raise NotFound(NO_AUDIT)
    return row


async def get_internal_audit(audit_id: uuid.UUID) -> dict[str, Any]:
    row = await internal_audit_row(audit_id)
    row["findings"] = (
        await InternalFinding.select(
            *InternalFinding.all_columns(), InternalFinding.owner._.name.as_alias("owner_name")
        )
        .where(InternalFinding.internal_audit == audit_id)
        .order_by(InternalFinding.number)
        .run()
    )
    today = clock.today()
    for f in row["findings"]:
        f["overdue"] = (
            f["status"] not in ("closed", "none")
            and f["due_on"] is not None
            and today > f["due_on"]
        )
    return row


async def list_internal_audits(
    organisation_id: uuid.UUID | None = None, shared_with: uuid.UUID | None = None
) -> list[dict[str, Any]]:
    query = InternalAudit.select(
        *InternalAudit.all_columns(),
        InternalAudit.organisation._.name.as_alias("organisation_name"),
        InternalAudit.shared_body._.name.as_alias("shared_body_name"),
    )
    if organisation_id is not None:
        query = query.where(InternalAudit.organisation == organisation_id)
    if shared_with is not None:
        query = query.where(InternalAudit.shared_body == shared_with)
    rows: list[dict[str, Any]] = (
        await query.order_by(InternalAudit.planned_on, ascending=False).output(load_json=True).run()
    )
    ids = [r["id"] for r in rows]
    counts = (
        await InternalFinding.select(InternalFinding.internal_audit, InternalFinding.grade)
        .where(InternalFinding.internal_audit.is_in(ids))
        .run()
        if ids
        else []
    )
    for r in rows:
        r["finding_count"] = sum(1 for c in counts if c["internal_audit"] == r["id"])
    return rows


async def complete_internal_audit(
    actor_id: uuid.UUID | None, audit_id: uuid.UUID, completed_on: dt.date | None, summary: str
) -> None:
    """Record the audit as held; only completed audits count towards the stage 1 audit cycle."""
    async with write_transaction():
        row = await internal_audit_row(audit_id)
        if row["status"] == "completed":
            raise Conflict("This internal audit is already completed.", code="already_completed")
        day = completed_on or clock.today()
        if day > clock.today():
            raise Invalid.field("completed_on", "An audit cannot be completed in the future.")
        await (
            InternalAudit.update(
                {
                    InternalAudit.status: "completed",
                    InternalAudit.completed_on: day,
                    InternalAudit.summary: summary,
                }
            )
            .where(InternalAudit.id == audit_id)
            .run()
        )
        await log_action(
            "marketplace.internal_audit.completed",
            actor_id=actor_id,
            entity_type="internal_audit",
            entity_id=audit_id,
            tenant=Tenant("organisation", row["organisation"]),
            data={"completed_on": str(day)},
        )


async def share_internal_audit(
    actor_id: uuid.UUID | None, audit_id: uuid.UUID, body_id: uuid.UUID | None
) -> None:
    """Show the audit and its findings to the certification body (None withdraws the share)."""
    async with write_transaction():
        row = await internal_audit_row(audit_id)
        if body_id is not None:
            await _check_engaged(row["organisation"], body_id)
        elif row["shared_body"] is None:
            raise Conflict("This internal audit is not shared.", code="not_shared")
        await (
            InternalAudit.update({InternalAudit.shared_body: body_id})
            .where(InternalAudit.id == audit_id)
            .run()
        )
        await log_action(
            "marketplace.internal_audit.shared"
            if body_id
            else "marketplace.internal_audit.share_withdrawn",
            actor_id=actor_id,
            entity_type="internal_audit",
            entity_id=audit_id,
            tenant=Tenant("organisation", row["organisation"]),
            data={"body_id": str(body_id or row["shared_body"])},
        )


async def add_internal_finding(
    actor_id: uuid.UUID | None, audit_id: uuid.UUID, data: dict[str, Any]
) -> uuid.UUID:
    """A finding graded like the body's; a major or minor opens its corrective action with a due date.

    Due dates follow the platform's default response times (rules.deadlines: 90 days for a major,
    30 days for a minor's plan), so the internal workflow rehearses the external one.
    """
    clause = check_clause("clause", data["clause"])
    if not clause:
        raise Invalid.field("clause", "Name the clause.")
    grade = Grade(data["grade"])
    async with write_transaction():
        row = await internal_audit_row(audit_id)
        last = (
            await InternalFinding.select(InternalFinding.number)
            .where(InternalFinding.internal_audit == audit_id)
            .order_by(InternalFinding.number, ascending=False)
            .first()
            .run()
        )
        nc = is_nonconformity(grade)
        finding = InternalFinding(
            internal_audit=audit_id,
            number=(last["number"] + 1) if last else 1,
            grade=grade.value,
            clause=clause,
            requirement=data.get("requirement", ""),
            evidence=data.get("evidence", ""),
            status="open" if nc else "none",
            due_on=due_date(grade, clock.today()) if nc else None,
        )
        await finding.save().run()
        await log_action(
            "marketplace.internal_finding.recorded",
            actor_id=actor_id,
            entity_type="internal_finding",
            entity_id=finding.id,
            tenant=Tenant("organisation", row["organisation"]),
            data={"grade": grade.value, "clause": clause, "audit_id": str(audit_id)},
        )
    return finding.id


async def internal_finding_row(finding_id: uuid.UUID) -> dict[str, Any]:
    row: dict[str, Any] | None = (
        await InternalFinding.select(
            *InternalFinding.all_columns(),
            InternalFinding.internal_audit._.organisation.as_alias("organisation_id"),
            InternalFinding.internal_audit._.shared_body.as_alias("shared_body"),
            InternalFinding.owner._.name.as_alias("owner_name"),
        )
        .where(InternalFinding.id == finding_id)
        .first()
        .run()
    )
    if row is None:
        raise NotFound(NO_FINDING)
    return row


def _require_finding_status(row: dict[str, Any], allowed: Iterable[str], doing: str) -> None:
    if row["status"] not in allowed:
        what = "an observation" if row["status"] == "none" else row["status"]
        raise Conflict(
            f"An internal finding that is {what} cannot be {doing}.", code="wrong_status"
        )


async def update_internal_finding(
    actor_id: uuid.UUID | None, finding_id: uuid.UUID, changes: dict[str, Any]
) -> None:
    """The answer: owner, correction, root cause and method, plan, target date (open or rejected)."""
    async with write_transaction():
        row = await internal_finding_row(finding_id)
        _require_finding_status(row, EDITABLE, "edited")
        updates: dict[Any, Any] = {}
        if "owner_id" in changes:
            await _check_member("owner_id", row["organisation_id"], changes["owner_id"])
            updates[InternalFinding.owner] = changes["owner_id"]
        for name in ("correction", "root_cause_method", "root_cause", "action_plan", "target_date"):
            if changes.get(name) is not None:
                updates[getattr(InternalFinding, name)] = changes[name]
        if not updates:
            return
        updates[InternalFinding.updated_at] = clock.now()
        await InternalFinding.update(updates).where(InternalFinding.id == finding_id).run()
        await log_action(
            "marketplace.internal_finding.updated",
            actor_id=actor_id,
            entity_type="internal_finding",
            entity_id=finding_id,
            tenant=Tenant("organisation", row["organisation_id"]),
            data={"fields": sorted(c._meta.name for c in updates if c._meta.name != "updated_at")},
        )


async def transition_internal_finding(
    actor_id: uuid.UUID | None, finding_id: uuid.UUID, step: str, comment: str = ""
) -> str:
    """submit -> accept|reject -> verify (closed) or not effective (rejected), as for the body's findings.

    The same workflow as findings' corrective actions (ISO/IEC 17021-1 9.4.9 and 9.4.10), here run
    by the client's quality manager: a complete answer before submitting, a reason for rejecting.
    """
    async with write_transaction():
        row = await internal_finding_row(finding_id)
        if step == "submit":
            _require_finding_status(row, EDITABLE, "submitted")
            missing = [n for n in REQUIRED_ANSWER if not row[n]]
            if missing:
                raise Conflict(
                    f"Complete {', '.join(missing)} before submitting.",
                    code="incomplete_answer",
                    errors=[
                        {"field": m, "message": "Required before submitting."} for m in missing
                    ],
                )
            status = "submitted"
        elif step in ("accept", "reject"):
            _require_finding_status(row, {"submitted"}, "reviewed")
            if step == "reject" and not comment.strip():
                raise Invalid.field("comment", "Say why the answer is rejected.")
            status = "accepted" if step == "accept" else "rejected"
        elif step in ("verify", "not_effective"):
            _require_finding_status(row, {"accepted"}, "verified")
            if step == "not_effective" and not comment.strip():
                raise Invalid.field("comment", "Say why the action was not effective.")
            status = "closed" if step == "verify" else "rejected"
        else:
            raise Invalid.field("step", "Unknown step.")
        values: dict[Any, Any] = {
            InternalFinding.status: status,
            InternalFinding.updated_at: clock.now(),
        }
        if step != "submit":
            values[InternalFinding.review_comment] = comment
        if status == "closed":
            values[InternalFinding.closed_at] = clock.now()
        await InternalFinding.update(values).where(InternalFinding.id == finding_id).run()
        await log_action(
            f"marketplace.internal_finding.{status}",
            actor_id=actor_id,
            entity_type="internal_finding",
            entity_id=finding_id,
            tenant=Tenant("organisation", row["organisation_id"]),
            data={"comment": comment},
        )
    return status


# --- management review -------------------------------------------------------------------------


async def create_management_review(
    actor_id: uuid.UUID | None, organisation_id: uuid.UUID, data: dict[str, Any]
) -> uuid.UUID:
    """Record a management review (ISO 9001:2015 9.3): date, attendees, inputs covered, decisions."""
    inputs = list(dict.fromkeys(data.get("inputs") or []))
    for code in inputs:
        if code not in REVIEW_INPUTS:
            raise Invalid.field("inputs", f"Unknown review input {code!r}.")
    if data["held_on"] > clock.today():
        raise Invalid.field("held_on", "Record a review once it has been held.")
    async with write_transaction():
        review = ManagementReview(
            organisation=organisation_id,
            held_on=data["held_on"],
            attendees=data["attendees"].strip(),
            inputs=inputs,
            decisions=data.get("decisions", ""),
            created_by=actor_id,
        )
        await review.save().run()
        await log_action(
            "marketplace.management_review.recorded",
            actor_id=actor_id,
            entity_type="management_review",
            entity_id=review.id,
            tenant=Tenant("organisation", organisation_id),
            data={"held_on": str(data["held_on"]), "inputs": inputs},
        )
    return review.id


async def list_management_reviews(organisation_id: uuid.UUID) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (
        await ManagementReview.select()
        .where(ManagementReview.organisation == organisation_id)
        .order_by(ManagementReview.held_on, ascending=False)
        .output(load_json=True)
        .run()
    )
    for r in rows:
        r["missing_inputs"] = [k for k in REVIEW_INPUTS if k not in r["inputs"]]
    return rows


# --- stage 1 -----------------------------------------------------------------------------------


async def stage1_panel(organisation_id: uuid.UUID) -> dict[str, Any]:
    """Stage 1 readiness: a full internal audit cycle and a management review within 12 months."""
    audits = (
        await InternalAudit.select(InternalAudit.completed_on, InternalAudit.clauses)
        .where(
            (InternalAudit.organisation == organisation_id) & (InternalAudit.status == "completed")
        )
        .output(load_json=True)
        .run()
    )
    reviews = (
        await ManagementReview.select(ManagementReview.held_on)
        .where(ManagementReview.organisation == organisation_id)
        .run()
    )
    result = rules.stage1_readiness(
        [(a["completed_on"], a["clauses"]) for a in audits if a["completed_on"]],
        [r["held_on"] for r in reviews],
        clock.today(),
    )
    return {
        "ready": result.ready,
        "internal_audit_cycle": result.internal_audit_cycle,
        "clauses_not_audited": result.clauses_not_audited,
        "management_review": result.management_review,
        "last_management_review": result.last_management_review,
        "completed_internal_audits": len(audits),
        "management_reviews": len(reviews),
    }


async def report_for_reference(report_id: uuid.UUID) -> dict[str, Any]:
    row: dict[str, Any] | None = (
        await AuditReport.select(
            AuditReport.id,
            AuditReport.status,
            AuditReport.organisation,
            AuditReport.body,
            AuditReport.audit,
            AuditReport.audit._.kind.as_alias("audit_kind"),
        )
        .where(AuditReport.id == report_id)
        .first()
        .run()
    )
    if row is None:
        raise NotFound("No such report.")
    return row


async def add_reference(
    actor_id: uuid.UUID | None, report_id: uuid.UUID, data: dict[str, Any]
) -> uuid.UUID:
    """The body's stage 1 report points at a shared document (and version) and/or a clause.

    Only a draft stage 1 report takes references (an issued report is frozen, ISO/IEC 17021-1
    9.4.8), and only documents the client shares with this body can be cited.
    """
    report = await report_for_reference(report_id)
    if report["audit_kind"] != "stage1":
        raise Conflict("Documents are referenced from stage 1 reports.", code="not_stage1")
    if report["status"] != "draft":
        raise Conflict("An issued report is frozen; amend it to change it.", code="report_frozen")
    clause = check_clause("clause", data.get("clause") or "")
    document_id = data.get("document_id")
    version_id = data.get("version_id")
    if document_id is None and not clause:
        raise Invalid.field("document_id", "Reference a shared document, a clause or both.")
    if document_id is not None:
        try:
            doc = await body_document(report["body"], document_id)
        except NotFound:
            raise Invalid.field(
                "document_id", "Reference only documents the client shares with you."
            ) from None
        if doc["organisation"] != report["organisation"]:
            raise Invalid.field("document_id", "This document belongs to another client.")
        if version_id is not None:
            if version_id not in {v["id"] for v in doc["versions"]}:
                raise Invalid.field("version_id", "Choose an approved version of the document.")
        elif doc["current"] is not None:
            version_id = doc["current"]["id"]
    elif version_id is not None:
        raise Invalid.field("version_id", "A version needs its document.")
    async with write_transaction():
        ref = Stage1Reference(
            report=report_id,
            document=document_id,
            version=version_id,
            clause=clause,
            note=data.get("note", ""),
            created_by=actor_id,
        )
        await ref.save().run()
        await log_action(
            "marketplace.stage_one_reference.added",
            actor_id=actor_id,
            entity_type="report",
            entity_id=report_id,
            tenant=Tenant("body", report["body"]),
            data={"document_id": str(document_id or ""), "clause": clause},
        )
    return ref.id


async def list_references(report_id: uuid.UUID) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (
        await Stage1Reference.select(
            Stage1Reference.id,
            Stage1Reference.report.as_alias("report_id"),
            Stage1Reference.document.as_alias("document_id"),
            Stage1Reference.document._.code.as_alias("document_code"),
            Stage1Reference.document._.title.as_alias("document_title"),
            Stage1Reference.version.as_alias("version_id"),
            Stage1Reference.version._.number.as_alias("version_number"),
            Stage1Reference.clause,
            Stage1Reference.note,
            Stage1Reference.created_at,
        )
        .where(Stage1Reference.report == report_id)
        .order_by(Stage1Reference.created_at)
        .run()
    )
    return rows


async def stage1_reports(body_id: uuid.UUID, organisation_id: uuid.UUID) -> list[dict[str, Any]]:
    """The body's stage 1 reports for this client (draft and issued), for referencing documents."""
    rows: list[dict[str, Any]] = (
        await AuditReport.select(AuditReport.id, AuditReport.status, AuditReport.revision)
        .where(
            (AuditReport.body == body_id)
            & (AuditReport.organisation == organisation_id)
            & (AuditReport.audit._.kind == "stage1")
        )
        .order_by(AuditReport.created_at)
        .run()
    )
    return rows


async def stage2_preparation(organisation_id: uuid.UUID) -> list[dict[str, Any]]:
    """Stage 1 areas of concern: the corrective actions opened by issued stage 1 reports.

    They sit in the corrective action tracker like any other finding (findings.issue_report opens
    them); here they are the list the client works through before stage 2 (ISO/IEC 17021-1 9.3.1.2).
    """
    rows: list[dict[str, Any]] = (
        await CorrectiveAction.select(
            CorrectiveAction.id,
            CorrectiveAction.grade,
            CorrectiveAction.status,
            CorrectiveAction.due_on,
            CorrectiveAction.finding._.clause.as_alias("clause"),
            CorrectiveAction.finding._.requirement.as_alias("requirement"),
            CorrectiveAction.body._.name.as_alias("body_name"),
        )
        .where(
            (CorrectiveAction.organisation == organisation_id)
            & (CorrectiveAction.audit._.kind == "stage1")
        )
        .order_by(CorrectiveAction.due_on)
        .run()
    )
    return rows


async def body_clients(body_id: uuid.UUID) -> list[dict[str, Any]]:
    """Organisations that currently share anything with the body (documents or internal audits)."""
    docs = (
        await DocumentShare.select(DocumentShare.organisation.as_alias("id"))
        .where((DocumentShare.body == body_id) & DocumentShare.withdrawn_at.is_null())
        .run()
    )
    audits = (
        await InternalAudit.select(InternalAudit.organisation.as_alias("id"))
        .where(InternalAudit.shared_body == body_id)
        .run()
    )
    ids = list({r["id"] for r in docs + audits})
    if not ids:
        return []
    rows: list[dict[str, Any]] = (
        await Organisation.select(Organisation.id, Organisation.name)
        .where(Organisation.id.is_in(ids))
        .order_by(Organisation.name)
        .run()
    )
    return rows


async def body_name(body_id: uuid.UUID) -> str:
    row = (
        await CertificationBody.select(CertificationBody.name)
        .where(CertificationBody.id == body_id)
        .first()
        .run()
    )
    return str(row["name"]) if row else ""


async def audit_kind(audit_id: uuid.UUID) -> str | None:
    row = await Audit.select(Audit.kind).where(Audit.id == audit_id).first().run()
    return row["kind"] if row else None
