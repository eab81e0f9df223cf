"""The corrective action workflow: the client's answer, submit, review, verify, escalate, policy."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec
from piccolo.columns import Column

from marketplace.accounts.guards import Principal
from marketplace.accounts.names import organisation_members
from marketplace.accounts.schemas import MemberRef
from marketplace.accounts.tables import Membership
from marketplace.core import clock
from marketplace.core.activity import Tenant, entries_for_entity, log_action
from marketplace.core.changes import apply_changes
from marketplace.core.db import write_transaction
from marketplace.core.errors import Conflict, Invalid, NotFound
from marketplace.findings.access import (
    NO_ACTION,
    Actor,
    action_actor,
    action_side,
    actor_id,
    body_member,
    can_answer,
    can_review,
)
from marketplace.findings.schemas import CorrectiveActionOut, CorrectiveActionView
from marketplace.findings.tables import BodyFindingPolicy, CorrectiveAction, EvidenceFile, Finding
from marketplace.rules import corrective_actions as workflow
from marketplace.rules.corrective_actions import Step
from marketplace.rules.deadlines import DEFAULT_POLICY, DeadlinePolicy, Grade, due_date, is_overdue

REQUIRED_ANSWER = ("correction", "root_cause_method", "root_cause", "action_plan", "target_date")
ANSWER_TEXTS = ("correction", "root_cause_method", "root_cause", "action_plan")
OWNERS = frozenset({"owner"})
_Out = TypeVar("_Out", bound=CorrectiveActionOut)


# --- policy ------------------------------------------------------------------------------------


async def policy_for(body_id: uuid.UUID) -> DeadlinePolicy:
    """The body's response times, else the platform defaults (90 days major, 30 days minor plan)."""
    row = await BodyFindingPolicy.select().where(BodyFindingPolicy.body == body_id).first().run()
    if row is None:
        return DEFAULT_POLICY
    return DeadlinePolicy(row["major_response_days"], row["minor_plan_days"])


async def read_policy(actor: Actor, body_id: uuid.UUID) -> DeadlinePolicy:
    """The body's response times, for any member of the body."""
    body_member(actor, body_id)
    return await policy_for(body_id)


async def set_policy(
    actor: Actor, body_id: uuid.UUID, major_days: int, minor_days: int
) -> DeadlinePolicy:
    """ISO/IEC 17021-1 9.4.9 leaves the response time to the body: each body's owner sets its own."""
    body_member(actor, body_id, OWNERS)
    policy = DeadlinePolicy(major_days, minor_days)
    values: dict[Column | str, Any] = {
        BodyFindingPolicy.major_response_days: major_days,
        BodyFindingPolicy.minor_plan_days: minor_days,
    }
    async with write_transaction():
        existing = (
            await BodyFindingPolicy.select(BodyFindingPolicy.id)
            .where(BodyFindingPolicy.body == body_id)
            .first()
            .run()
        )
        if existing:
            await (
                BodyFindingPolicy.update(values).where(BodyFindingPolicy.id == existing["id"]).run()
            )
        else:
            await BodyFindingPolicy.insert(
                BodyFindingPolicy(
                    body=body_id, major_response_days=major_days, minor_plan_days=minor_days
                )
            ).run()
        await log_action(
            "marketplace.finding_policy.updated",
            actor_id=actor_id(actor),
            entity_type="body",
            entity_id=body_id,
            tenant=Tenant("body", body_id),
            data={"major_response_days": major_days, "minor_plan_days": minor_days},
        )
    return policy


# --- reading -----------------------------------------------------------------------------------


def overdue(row: dict[str, Any], today: dt.date | None = None) -> bool:
    """Past its due date without the response its grade needs (ISO/IEC 17021-1 9.4.9)."""
    return is_overdue(
        row["due_on"], today or clock.today(), workflow.resolved(row["grade"], row["status"])
    )


async def ca_row(ca_id: uuid.UUID) -> dict[str, Any]:
    row: dict[str, Any] | None = (
        await CorrectiveAction.select().where(CorrectiveAction.id == ca_id).first().run()
    )
    if row is None:
        raise NotFound(NO_ACTION)
    return row


LIST_COLUMNS = (
    CorrectiveAction.finding._.clause.as_alias("clause"),
    CorrectiveAction.finding._.requirement.as_alias("requirement"),
    CorrectiveAction.finding._.number.as_alias("finding_number"),
    CorrectiveAction.owner._.name.as_alias("owner_name"),
    CorrectiveAction.body._.name.as_alias("body_name"),
    CorrectiveAction.audit._.kind.as_alias("audit_kind"),
)


def _converted(row: dict[str, Any], kind: type[_Out]) -> _Out:
    return msgspec.convert(
        {
            **row,
            "finding_id": row["finding"],
            "audit_id": row["audit"],
            "organisation_id": row["organisation"],
            "body_id": row["body"],
            "owner_id": row["owner"],
            "finding": row.get("finding_detail"),
        },
        kind,
        strict=False,
    )


# What every view of a finding shows (the report's table, the action's page).
FINDING_COLUMNS = (
    Finding.id,
    Finding.number,
    Finding.grade,
    Finding.clause,
    Finding.requirement,
    Finding.evidence,
)


def action_out(row: dict[str, Any]) -> CorrectiveActionOut:
    """The API's shape of an action row (list rows carry no finding, evidence or history)."""
    return _converted(row, CorrectiveActionOut)


async def _detail(ca_id: uuid.UUID) -> dict[str, Any]:
    """The action row with its finding, evidence list and history (the activity log)."""
    rows = (
        await CorrectiveAction.select(*CorrectiveAction.all_columns(), *LIST_COLUMNS)
        .where(CorrectiveAction.id == ca_id)
        .run()
    )
    if not rows:
        raise NotFound(NO_ACTION)
    row: dict[str, Any] = rows[0]
    row["finding_detail"] = (
        await Finding.select(
            *FINDING_COLUMNS,
            Finding.report.as_alias("report_id"),
            Finding.site._.name.as_alias("site_name"),
        )
        .where(Finding.id == row["finding"])
        .first()
        .run()
    )
    row["evidence"] = (
        await EvidenceFile.select(
            EvidenceFile.id,
            EvidenceFile.filename,
            EvidenceFile.size,
            EvidenceFile.sha256,
            EvidenceFile.content_type,
            EvidenceFile.created_at,
        )
        .where(EvidenceFile.corrective_action == ca_id)
        .order_by(EvidenceFile.created_at)
        .run()
    )
    row["history"] = await entries_for_entity("corrective_action", ca_id)
    row["overdue"] = overdue(row)
    return row


async def get_corrective_action(ca_id: uuid.UUID) -> CorrectiveActionOut:
    """The action with its finding, evidence list and history (the activity log)."""
    return action_out(await _detail(ca_id))


async def read_corrective_action(actor: Actor, ca_id: uuid.UUID) -> CorrectiveActionOut:
    """An action, for the members of the client and of the body (404 for everyone else)."""
    action_actor(actor, await ca_row(ca_id))
    return await get_corrective_action(ca_id)


@dataclass(frozen=True)
class ActionView:
    """What the corrective action page shows, and which of its forms the caller may use."""

    ca: CorrectiveActionView
    side: str
    can_answer: bool
    can_review: bool
    members: list[MemberRef]


async def action_view(principal: Principal, ca_id: uuid.UUID) -> ActionView:
    row = await ca_row(ca_id)
    side = action_side(principal, row)
    detail = await _detail(ca_id)
    return ActionView(
        ca=_converted(detail, CorrectiveActionView),
        side=side,
        can_answer=can_answer(principal, row) and row["status"] in workflow.EDITABLE,
        can_review=can_review(principal, row),
        members=await organisation_members(row["organisation"]),
    )


# --- the workflow ------------------------------------------------------------------------------


@asynccontextmanager
async def _acting(actor: Actor, ca_id: uuid.UUID, act: str) -> AsyncIterator[dict[str, Any]]:
    """A write transaction over the action, once the actor may `act` on it ("answer", "review")."""
    async with write_transaction():
        row = await ca_row(ca_id)
        action_actor(actor, row, act=act)
        yield row


async def _record(
    actor: Actor,
    row: dict[str, Any],
    values: dict[Any, Any],
    action: str,
    data: dict[str, Any] | None = None,
    *,
    side: str = "body",
) -> None:
    """Write one step to the action and log it for the tenant whose step it is (`side`)."""
    await (
        CorrectiveAction.update({**values, CorrectiveAction.updated_at: clock.now()})
        .where(CorrectiveAction.id == row["id"])
        .run()
    )
    await log_action(
        action,
        actor_id=actor_id(actor),
        entity_type="corrective_action",
        entity_id=row["id"],
        tenant=Tenant("organisation", row["organisation"])
        if side == "client"
        else Tenant("body", row["body"]),
        data=data,
    )


def advance(row: dict[str, Any], step: Step) -> str:
    """The status `step` leads to, or the 409 the transition table gives for refusing it."""
    after = workflow.next_status(row["status"], step)
    if after is None:
        refused = workflow.refusal(row["status"], step)
        raise Conflict(refused.message, code=refused.code)
    return after


async def _answer_updates(row: dict[str, Any], changes: dict[str, Any]) -> dict[Any, Any]:
    updates: dict[Any, Any] = {}
    if "owner_id" in changes:
        owner_id = changes["owner_id"]
        if (
            owner_id is not None
            and not await Membership.exists()
            .where((Membership.user == owner_id) & (Membership.organisation == row["organisation"]))
            .run()
        ):
            raise Invalid.field("owner_id", "The owner must be a member of the organisation.")
        updates[CorrectiveAction.owner] = owner_id
    for name in ANSWER_TEXTS:
        if changes.get(name) is not None:
            updates[getattr(CorrectiveAction, name)] = changes[name]
    if changes.get("target_date") is not None:
        if changes["target_date"] < row["issued_on"]:
            raise Invalid.field(
                "target_date", "The target date cannot be before the finding was issued."
            )
        updates[CorrectiveAction.target_date] = changes["target_date"]
    return updates


async def update_corrective_action(actor: Actor, ca_id: uuid.UUID, changes: dict[str, Any]) -> None:
    """The client's answer: owner, correction, root cause and method, plan and target date.

    ISO/IEC 17021-1 9.4.9: the client analyses the cause and describes the correction and the
    corrective action. Editable while open or after a rejection, never once submitted. Only the
    keys given in `changes` count (an explicit owner_id None unassigns the owner).
    """
    async with _acting(actor, ca_id, "answer") as row:
        advance(row, Step.answer)
        await apply_changes(
            CorrectiveAction,
            ca_id,
            await _answer_updates(row, changes),
            action="marketplace.corrective_action.updated",
            actor_id=actor_id(actor),
            entity_type="corrective_action",
            tenant=Tenant("organisation", row["organisation"]),
        )


async def submit_corrective_action(actor: Actor, ca_id: uuid.UUID) -> None:
    """Send the answer to the body: correction, root cause with method, plan and target date.

    ISO/IEC 17021-1 9.4.9 asks for all of them before the body can review; a rejected answer
    can be completed and submitted again.
    """
    async with _acting(actor, ca_id, "answer") as row:
        status = advance(row, Step.submit)
        missing = [name for name in REQUIRED_ANSWER if not row[name]]
        if missing:
            raise Conflict(
                f"Complete {', '.join(missing)} before submitting.",
                code="incomplete_answer",
                errors=[{"field": m, "message": "Required before submitting."} for m in missing],
            )
        values = {CorrectiveAction.status: status, CorrectiveAction.submitted_at: clock.now()}
        await _record(actor, row, values, "marketplace.corrective_action.submitted", side="client")


async def review_corrective_action(
    actor: Actor, ca_id: uuid.UUID, decision: str, comment: str
) -> str:
    """The body accepts or rejects the submitted answer (ISO/IEC 17021-1 9.4.10).

    A rejection must say why, so the client knows what to change.
    """
    async with _acting(actor, ca_id, "review") as row:
        status = advance(row, Step.accept if decision == "accept" else Step.reject)
        if decision == "reject" and not comment.strip():
            raise Invalid.field("comment", "Say why the answer is rejected.")
        values = {
            CorrectiveAction.status: status,
            CorrectiveAction.review_comment: comment,
            CorrectiveAction.reviewed_by: actor_id(actor),
            CorrectiveAction.reviewed_at: clock.now(),
        }
        action = f"marketplace.corrective_action.{status}"
        await _record(actor, row, values, action, {"comment": comment})
    return status


async def verify_corrective_action(
    actor: Actor, ca_id: uuid.UUID, effective: bool, comment: str
) -> str:
    """The body verifies the accepted action's effectiveness: closed, or back to rejected.

    ISO/IEC 17021-1 9.4.10 and 9.5.3: a major's correction and corrective action are verified
    before the certification decision; an ineffective action goes back to the client.
    """
    async with _acting(actor, ca_id, "review") as row:
        status = advance(row, Step.verify if effective else Step.not_effective)
        if not effective and not comment.strip():
            raise Invalid.field("comment", "Say why the action was not effective.")
        values = {
            CorrectiveAction.status: status,
            CorrectiveAction.verification_comment: comment,
            CorrectiveAction.verified_by: actor_id(actor),
            CorrectiveAction.closed_at: clock.now() if effective else None,
        }
        action = "verified" if effective else "verification_failed"
        data = {"effective": effective, "comment": comment}
        await _record(actor, row, values, f"marketplace.corrective_action.{action}", data)
    return status


async def escalate_corrective_action(actor: Actor, ca_id: uuid.UUID, reason: str = "") -> None:
    """Escalate an overdue minor to a major (reference README: an overdue minor may be escalated).

    The major's response time (the body's policy) runs from the day of escalation, and from then
    on the action must be verified before the certification decision (ISO/IEC 17021-1 9.5.3).
    """
    async with _acting(actor, ca_id, "review") as row:
        refused = workflow.escalation_refusal(row["grade"], overdue(row))
        if refused is not None:
            raise Conflict(refused.message, code=refused.code)
        due = due_date(Grade.major, clock.today(), await policy_for(row["body"]))
        values = {
            CorrectiveAction.grade: Grade.major.value,
            CorrectiveAction.escalated: True,
            CorrectiveAction.due_on: due,
        }
        data = {"from": "minor", "to": "major", "due_on": str(due), "reason": reason}
        await _record(actor, row, values, "marketplace.corrective_action.escalated", data)
