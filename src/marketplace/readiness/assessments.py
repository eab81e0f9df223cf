"""Gap self-assessment: the clause checklist, ratings, scores and history, and gap actions."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import uuid
from collections.abc import Iterable
from typing import Any

import msgspec

from marketplace.accounts.guards import Principal
from marketplace.core import clock
from marketplace.core.activity import Tenant, log_action
from marketplace.core.db import write_transaction
from marketplace.core.errors import Conflict, Invalid, NotFound
from marketplace.readiness.context import as_struct, changes_of, check_member, client
from marketplace.readiness.schemas import (
    ActionIn,
    ActionOut,
    AssessmentIn,
    AssessmentOut,
    AssessmentRecord,
    GapItemPatch,
    GapItemRecord,
)
from marketplace.readiness.tables import (
    ControlledDocument,
    GapAssessment,
    GapItem,
    GapItemDocument,
    InternalAction,
    ReadinessSnapshot,
)
from marketplace.reference.tables import Standard
from marketplace.rules import readiness as rules
from marketplace.settings import PROJECT_ROOT

CLAUSES_CSV = PROJECT_ROOT / "seed" / "iso9001_clauses.csv"
NO_ASSESSMENT = "No such self-assessment."
NO_ITEM = "No such clause in this self-assessment."
# A clause's owner and target date may be cleared; the other fields only change.
CLEARABLE_ITEM = ("owner_id", "target_date")


# --- clause catalogue --------------------------------------------------------------------------


@functools.cache
def base_clauses() -> tuple[tuple[str, str], ...]:
    """ISO 9001:2015 clause titles 4 to 10 from seed/iso9001_clauses.csv (see seed/SOURCES.md)."""
    with CLAUSES_CSV.open(encoding="utf-8", newline="") as f:
        return tuple((r["clause"].strip(), r["title"].strip()) for r in csv.DictReader(f))


def checklist_for(standard: str) -> list[rules.Clause]:
    return rules.checklist(standard, base_clauses())


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


async def assessment_row(organisation_id: uuid.UUID, assessment_id: uuid.UUID) -> AssessmentRecord:
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
    return msgspec.convert(row, AssessmentRecord)


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


async def list_assessments(organisation_id: uuid.UUID) -> list[AssessmentOut]:
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
        return []
    items = (
        await GapItem.select(GapItem.assessment, GapItem.clause, GapItem.rating)
        .where(GapItem.assessment.is_in([r["id"] for r in rows]))
        .run()
    )
    for r in rows:
        mine = [i for i in items if i["assessment"] == r["id"]]
        r.update(scores_of(mine))
        r["gap_count"] = len(rules.gaps((i["clause"], i["rating"]) for i in mine))
    return msgspec.convert(rows, list[AssessmentOut])


async def get_assessment(organisation_id: uuid.UUID, assessment_id: uuid.UUID) -> dict[str, Any]:
    """Items in clause order with owners and linked documents, scores, the gap list and history."""
    # The answer grows from the assessment's row: scores, items, gaps and history are added.
    row = msgspec.structs.asdict(await assessment_row(organisation_id, assessment_id))
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


async def item_row(organisation_id: uuid.UUID, item_id: uuid.UUID) -> GapItemRecord:
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
    return msgspec.convert(row, GapItemRecord)


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
        if "." not in item.clause:
            raise Conflict(
                "A clause heading is scored from its sub-clauses.", code="group_not_rated"
            )
        updates: dict[Any, Any] = {}
        if changes.get("rating") is not None:
            updates[GapItem.rating] = rules.Rating(changes["rating"]).value
        if changes.get("note") is not None:
            updates[GapItem.note] = changes["note"]
        if "owner_id" in changes:
            await check_member("owner_id", organisation_id, changes["owner_id"])
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
            .where(GapAssessment.id == item.assessment)
            .run()
        )
        await _snapshot(item.assessment)
        await log_action(
            "marketplace.gap_item.updated",
            actor_id=actor_id,
            entity_type="gap_assessment",
            entity_id=item.assessment,
            tenant=Tenant("organisation", organisation_id),
            data={
                "clause": item.clause,
                "rating": changes.get("rating") or item.rating,
                "from": item.rating,
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
        if item.rating not in (rules.Rating.missing, rules.Rating.partly):
            raise Conflict("Only a missing or partly met clause is a gap.", code="not_a_gap")
        await check_member("owner_id", organisation_id, data.get("owner_id"))
        title = (data.get("title") or "").strip() or f"Close the gap in {item.clause} {item.title}"
        action = InternalAction(
            organisation=organisation_id,
            gap_item=item_id,
            clause=item.clause,
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
            data={"clause": item.clause, "due_on": str(data.get("due_on") or "")},
        )
    return action.id


async def list_actions(organisation_id: uuid.UUID) -> list[ActionOut]:
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
    return [action_out(r) for r in rows]


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


# --- answers -----------------------------------------------------------------------------------


def _item_out(item: dict[str, Any]) -> dict[str, Any]:
    return {**item, "owner_id": item["owner"]}


def assessment_out(row: dict[str, Any]) -> AssessmentOut:
    return msgspec.convert(
        {
            **row,
            "items": [_item_out(i) for i in row.get("items", [])],
            "gaps": [_item_out(i) for i in row.get("gaps", [])],
        },
        AssessmentOut,
        strict=False,
    )


def action_out(row: dict[str, Any]) -> ActionOut:
    return as_struct(
        {**row, "owner_name": row.get("owner_name")},
        ActionOut,
        owner_id="owner",
        gap_item_id="gap_item",
    )


# --- what the client's editors do (API and pages alike) ----------------------------------------


async def start_assessment_as(
    principal: Principal, organisation_id: uuid.UUID, data: AssessmentIn
) -> AssessmentOut:
    client(principal, organisation_id, write=True)
    aid = await create_assessment(principal.user_id, organisation_id, data.standard)
    return assessment_out(await get_assessment(organisation_id, aid))


async def rate_item_as(
    principal: Principal,
    organisation_id: uuid.UUID,
    item_id: uuid.UUID,
    data: GapItemPatch,
    given: Iterable[str],
) -> AssessmentOut:
    """Rate a clause; `given` names the fields sent, so owner and target date clear with a null."""
    client(principal, organisation_id, write=True)
    changes = changes_of(data, given, CLEARABLE_ITEM)
    await update_item(principal.user_id, organisation_id, item_id, changes)
    item = await item_row(organisation_id, item_id)
    return assessment_out(await get_assessment(organisation_id, item.assessment))


async def open_action_as(
    principal: Principal, organisation_id: uuid.UUID, item_id: uuid.UUID, data: ActionIn
) -> ActionOut:
    client(principal, organisation_id, write=True)
    aid = await create_action_from_gap(
        principal.user_id, organisation_id, item_id, msgspec.structs.asdict(data)
    )
    return next(a for a in await list_actions(organisation_id) if a.id == aid)


async def complete_action_as(
    principal: Principal, organisation_id: uuid.UUID, action_id: uuid.UUID
) -> ActionOut:
    client(principal, organisation_id, write=True)
    return action_out(await complete_action(principal.user_id, organisation_id, action_id))
