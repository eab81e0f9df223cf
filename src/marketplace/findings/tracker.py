"""The corrective action tracker: each tenant's filtered lists, the client's board and CSV export."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import msgspec

from marketplace.accounts.guards import Principal
from marketplace.accounts.names import organisation_members
from marketplace.accounts.schemas import MemberRef
from marketplace.core import clock
from marketplace.core.errors import Invalid
from marketplace.core.pagination import Page, PageParams
from marketplace.core.spreadsheets import csv_text
from marketplace.findings.access import Actor, body_member, organisation_member
from marketplace.findings.corrective_actions import (
    LIST_COLUMNS,
    action_out,
    overdue,
)
from marketplace.findings.schemas import CorrectiveActionOut, TrackerRow
from marketplace.findings.tables import CorrectiveAction
from marketplace.rules import corrective_actions as workflow

# The tracker's status filter, in the order of the workflow.
STATUSES = workflow.STATUSES
TRACKER_PAGE_SIZE = 50


@dataclass(frozen=True)
class Filters:
    """What a tracker list is narrowed to; None means any."""

    status: str | None = None
    grade: str | None = None
    overdue_only: bool | None = None
    owner_id: uuid.UUID | None = None
    clause: str | None = None


def overdue_where(today: dt.date) -> Any:
    major_open = (CorrectiveAction.grade == "major") & (CorrectiveAction.status != "closed")
    minor_open = (CorrectiveAction.grade == "minor") & CorrectiveAction.status.not_in(
        sorted(workflow.RESOLVED["minor"])
    )
    return (CorrectiveAction.due_on < today) & (major_open | minor_open)


def _where(organisation_id: uuid.UUID | None, body_id: uuid.UUID | None, filters: Filters) -> Any:
    where: Any = CorrectiveAction.id.is_not_null()
    if filters.clause:
        where &= CorrectiveAction.finding._.clause == filters.clause
    if organisation_id is not None:
        where &= CorrectiveAction.organisation == organisation_id
    if body_id is not None:
        where &= CorrectiveAction.body == body_id
    if filters.status:
        if filters.status not in STATUSES:
            raise Invalid.field("status", f"Choose one of {', '.join(STATUSES)}.")
        where &= CorrectiveAction.status == filters.status
    if filters.grade:
        if filters.grade not in ("major", "minor"):
            raise Invalid.field("grade", "Choose major or minor.")
        where &= CorrectiveAction.grade == filters.grade
    if filters.owner_id is not None:
        where &= CorrectiveAction.owner == filters.owner_id
    if filters.overdue_only is True:
        where &= overdue_where(clock.today())
    return where


async def list_corrective_actions(
    *,
    organisation_id: uuid.UUID | None = None,
    body_id: uuid.UUID | None = None,
    status: str | None = None,
    grade: str | None = None,
    overdue_only: bool | None = None,
    owner_id: uuid.UUID | None = None,
    clause: str | None = None,
    limit: int | None = 20,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """A tenant's corrective actions, filtered, due soonest first, with the total count."""
    if offset > 10**9:
        # Beyond any real tracker, and past what the databases accept as an offset.
        raise Invalid.field("page", "That page is out of range.")
    where = _where(organisation_id, body_id, Filters(status, grade, overdue_only, owner_id, clause))
    query = (
        CorrectiveAction.select(*CorrectiveAction.all_columns(), *LIST_COLUMNS)
        .where(where)
        .order_by(CorrectiveAction.due_on)
        .order_by(CorrectiveAction.created_at)
    )
    if limit is not None:
        query = query.limit(limit).offset(offset)
    rows: list[dict[str, Any]] = await query.run()
    total = await CorrectiveAction.count().where(where).run()
    today = clock.today()
    for r in rows:
        r["overdue"] = overdue(r, today)
    return rows, total


async def _page_of(
    params: PageParams,
    *,
    organisation_id: uuid.UUID | None = None,
    body_id: uuid.UUID | None = None,
    filters: Filters,
) -> Page[CorrectiveActionOut]:
    rows, total = await list_corrective_actions(
        organisation_id=organisation_id,
        body_id=body_id,
        **_as_kwargs(filters),
        limit=params.per_page,
        offset=params.offset,
    )
    return Page(
        items=[action_out(r) for r in rows], total=total, page=params.page, per_page=params.per_page
    )


def _as_kwargs(filters: Filters) -> dict[str, Any]:
    return {
        "status": filters.status,
        "grade": filters.grade,
        "overdue_only": filters.overdue_only,
        "owner_id": filters.owner_id,
        "clause": filters.clause,
    }


async def organisation_actions(
    actor: Actor, organisation_id: uuid.UUID, filters: Filters, params: PageParams
) -> Page[CorrectiveActionOut]:
    """The client's tracker, for its members (the body's members use the body's own list)."""
    organisation_member(actor, organisation_id)
    return await _page_of(params, organisation_id=organisation_id, filters=filters)


async def body_actions(
    actor: Actor, body_id: uuid.UUID, filters: Filters, params: PageParams
) -> Page[CorrectiveActionOut]:
    """Corrective actions on the body's findings, for the body's members."""
    body_member(actor, body_id)
    return await _page_of(params, body_id=body_id, filters=filters)


# --- the client's board ------------------------------------------------------------------------


@dataclass(frozen=True)
class Board:
    """Open items by grade, overdue count, mean days to close and a monthly opened/closed trend."""

    open_by_grade: dict[str, int]
    overdue: int
    mean_days_to_close: float | None
    closed: int
    total: int
    trend: list[dict[str, Any]]


def _months(today: dt.date, months: int) -> list[dt.date]:
    """The first days of the last `months` months, ending with the current one."""
    first = today.year * 12 + today.month - 1
    return [dt.date((first - i) // 12, (first - i) % 12 + 1, 1) for i in range(months - 1, -1, -1)]


def _trend(rows: list[dict[str, Any]], today: dt.date, months: int) -> list[dict[str, Any]]:
    trend = []
    for start in _months(today, months):
        key = (start.year, start.month)
        opened = sum(1 for r in rows if (r["issued_on"].year, r["issued_on"].month) == key)
        closed = sum(
            1
            for r in rows
            if r["closed_at"] is not None and (r["closed_at"].year, r["closed_at"].month) == key
        )
        trend.append({"month": start.strftime("%Y-%m"), "opened": opened, "closed": closed})
    return trend


async def dashboard(organisation_id: uuid.UUID, months: int = 12) -> Board:
    """Open items by grade, overdue count, mean days to close and a monthly opened/closed trend."""
    rows = (
        await CorrectiveAction.select(
            CorrectiveAction.grade,
            CorrectiveAction.status,
            CorrectiveAction.due_on,
            CorrectiveAction.issued_on,
            CorrectiveAction.created_at,
            CorrectiveAction.closed_at,
        )
        .where(CorrectiveAction.organisation == organisation_id)
        .run()
    )
    today = clock.today()
    open_by_grade = {"major": 0, "minor": 0}
    durations: list[int] = []
    for r in rows:
        if r["status"] != "closed":
            open_by_grade[r["grade"]] = open_by_grade.get(r["grade"], 0) + 1
        if r["status"] == "closed" and r["closed_at"] is not None:
            durations.append(max(0, (r["closed_at"].date() - r["issued_on"]).days))
    return Board(
        open_by_grade=open_by_grade,
        overdue=sum(1 for r in rows if overdue(r, today)),
        mean_days_to_close=round(sum(durations) / len(durations), 1) if durations else None,
        closed=len(durations),
        total=len(rows),
        trend=_trend(rows, today, months),
    )


@dataclass(frozen=True)
class Tracker:
    """The client's tracker page: one page of rows, the board, the owners to filter by."""

    rows: list[TrackerRow]
    total: int
    page: int
    pages: int
    board: Board
    members: list[MemberRef]


async def tracker(
    principal: Principal, organisation_id: uuid.UUID, filters: Filters, page: int
) -> Tracker:
    organisation_member(principal, organisation_id)
    params = PageParams.of(page, TRACKER_PAGE_SIZE)
    rows, total = await list_corrective_actions(
        organisation_id=organisation_id,
        limit=TRACKER_PAGE_SIZE,
        offset=params.offset,
        **_as_kwargs(filters),
    )
    board = await dashboard(organisation_id)
    return Tracker(
        rows=[msgspec.convert(r, TrackerRow, strict=False) for r in rows],
        total=total,
        page=page,
        pages=max(1, (total + TRACKER_PAGE_SIZE - 1) // TRACKER_PAGE_SIZE),
        board=board,
        members=await organisation_members(organisation_id),
    )


# --- CSV export --------------------------------------------------------------------------------

CSV_COLUMNS = (
    "id",
    "grade",
    "status",
    "clause",
    "requirement",
    "body",
    "owner",
    "issued_on",
    "due_on",
    "overdue",
    "target_date",
    "escalated",
)


def _csv_values(r: TrackerRow) -> tuple[Any, ...]:
    return (
        r.id,
        r.grade,
        r.status,
        r.clause,
        r.requirement,
        r.body_name,
        r.owner_name,
        r.issued_on,
        r.due_on,
        "yes" if r.overdue else "no",
        r.target_date,
        "yes" if r.escalated else "no",
    )


async def export_csv(principal: Principal, organisation_id: uuid.UUID, filters: Filters) -> str:
    """Every row the filters match, as CSV text for a spreadsheet (the client's members)."""
    organisation_member(principal, organisation_id)
    rows, _total = await list_corrective_actions(
        organisation_id=organisation_id, limit=None, **_as_kwargs(filters)
    )
    return csv_text(
        CSV_COLUMNS, (_csv_values(msgspec.convert(r, TrackerRow, strict=False)) for r in rows)
    )
