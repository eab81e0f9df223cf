"""A body's corrective action list: the filter every body and auditor number about actions counts by."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from marketplace.accounts.guards import Principal
from marketplace.core import clock
from marketplace.core.errors import Invalid
from marketplace.core.pagination import Page, PageParams
from marketplace.dashboards import access
from marketplace.dashboards.schemas import BodyAction
from marketplace.findings.corrective_actions import overdue
from marketplace.findings.tables import CorrectiveAction
from marketplace.findings.tracker import STATUSES, overdue_where
from marketplace.scheduling.tables import AuditAssignment


def body_action_where(
    body_id: uuid.UUID,
    *,
    status: str | None = None,
    grade: str | None = None,
    overdue: bool | None = None,
    open_only: bool | None = None,
    clause: str | None = None,
    organisation_id: uuid.UUID | None = None,
    auditor_ids: list[uuid.UUID] | None = None,
    issued_from: dt.date | None = None,
) -> Any:
    """Filter of the body's corrective action list; `auditor_ids` are the audits an auditor is on."""
    where: Any = CorrectiveAction.body == body_id
    if status:
        if status not in STATUSES:
            raise Invalid.field("status", f"Choose one of {', '.join(STATUSES)}.")
        where &= CorrectiveAction.status == status
    if grade:
        if grade not in ("major", "minor"):
            raise Invalid.field("grade", "Choose major or minor.")
        where &= CorrectiveAction.grade == grade
    if open_only:
        where &= CorrectiveAction.status != "closed"
    if overdue:
        where &= overdue_where(clock.today())
    if clause:
        where &= CorrectiveAction.finding._.clause == clause
    if organisation_id is not None:
        where &= CorrectiveAction.organisation == organisation_id
    if auditor_ids is not None:
        where &= CorrectiveAction.audit.is_in(auditor_ids or [uuid.UUID(int=0)])
    if issued_from is not None:
        where &= CorrectiveAction.issued_on >= issued_from
    return where


async def auditor_audit_ids(auditor_id: uuid.UUID) -> list[uuid.UUID]:
    """Audits the auditor is on (a live assignment), as the planning board's auditor filter."""
    return [
        r["audit"]
        for r in await AuditAssignment.select(AuditAssignment.audit)
        .where((AuditAssignment.auditor == auditor_id) & AuditAssignment.live.eq(True))
        .run()
    ]


async def count_actions(body_id: uuid.UUID, **filters: Any) -> int:
    """How many of the body's corrective actions the list with these filters holds."""
    return int(await CorrectiveAction.count().where(body_action_where(body_id, **filters)).run())


async def body_actions(
    principal: Principal,
    body_id: uuid.UUID,
    params: PageParams,
    auditor_id: uuid.UUID | None = None,
    **filters: Any,
) -> Page[BodyAction]:
    """The body's corrective actions, soonest due first; every member of the body may list them."""
    access.require_body_member(principal, body_id)
    if auditor_id is not None:
        filters["auditor_ids"] = await auditor_audit_ids(auditor_id)
    where = body_action_where(body_id, **filters)
    rows: list[dict[str, Any]] = (
        await CorrectiveAction.select(
            CorrectiveAction.id,
            CorrectiveAction.grade,
            CorrectiveAction.status,
            CorrectiveAction.issued_on,
            CorrectiveAction.due_on,
            CorrectiveAction.organisation.as_alias("organisation_id"),
            CorrectiveAction.organisation._.name.as_alias("organisation_name"),
            CorrectiveAction.finding._.clause.as_alias("clause"),
            CorrectiveAction.audit.as_alias("audit_id"),
            CorrectiveAction.audit._.kind.as_alias("audit_kind"),
        )
        .where(where)
        .order_by(CorrectiveAction.due_on)
        .order_by(CorrectiveAction.created_at)
        .limit(params.per_page)
        .offset(params.offset)
        .run()
    )
    total = await CorrectiveAction.count().where(where).run()
    today = clock.today()
    items = [BodyAction(**r, overdue=overdue(r, today)) for r in rows]
    return Page(items=items, total=total, page=params.page, per_page=params.per_page)
