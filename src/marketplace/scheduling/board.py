"""What the pages and the board read: the planning board and its filter, the client's programme,
an auditor's agenda, and each page's view of them with what the caller may do there."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from dataclasses import dataclass, field
from typing import Any

from marketplace.accounts.guards import Principal, require_role
from marketplace.accounts.roles import TenantKind
from marketplace.core.errors import Invalid
from marketplace.reference import services as reference
from marketplace.reference.schemas import StandardOut
from marketplace.rules.audit_status import AuditAction, AuditStatus, allowed_actions
from marketplace.rules.cycle import AuditKind
from marketplace.scheduling.auditors import (
    NO_BODY,
    auditor_access,
    auditor_time_off,
    get_auditor,
    get_settings,
    list_auditors,
    zone_names,
)
from marketplace.scheduling.booking import get_audit, shows_team
from marketplace.scheduling.context import (
    ACTORS,
    BODY_ALL,
    BODY_PLANNERS,
    CLIENT_ALL,
    CLIENT_BOOKERS,
    READERS,
    audit_access,
    window_of,
    window_state_of,
)
from marketplace.scheduling.schemas import (
    AgendaItemOut,
    AuditorOut,
    AuditOut,
    BoardAuditOut,
    SettingsOut,
    SlotOut,
    UnavailabilityOut,
)
from marketplace.scheduling.slots import MAX_SLOT_DAYS, find_slots
from marketplace.scheduling.tables import Audit, AuditAssignment

AUDIT_STATUSES = tuple(s.value for s in AuditStatus)

_BOARD_COLUMNS = (
    Audit.id,
    Audit.kind,
    Audit.status,
    Audit.window_start,
    Audit.window_end,
    Audit.starts_at,
    Audit.ends_at,
    Audit.time_zone,
    Audit.completed_on,
    Audit.cycle.as_alias("cycle_id"),
    Audit.cycle._.engagement._.standard.as_alias("standard"),
    Audit.cycle._.engagement._.organisation._.name.as_alias("organisation_name"),
    Audit.cycle._.engagement._.organisation.as_alias("organisation_id"),
    Audit.cycle._.engagement._.body._.name.as_alias("body_name"),
)
BOARD_LIMIT = 500


async def _board_rows(rows: list[dict[str, Any]]) -> list[BoardAuditOut]:
    """The rows with their window states and lead auditors' names (one more query)."""
    lead_of: dict[uuid.UUID, str] = {}
    if rows:
        leads = (
            await AuditAssignment.select(
                AuditAssignment.audit, AuditAssignment.auditor._.name.as_alias("name")
            )
            .where(
                AuditAssignment.audit.is_in([r["id"] for r in rows])
                & AuditAssignment.live.eq(True)
                & (AuditAssignment.role == "lead")
            )
            .run()
        )
        lead_of = {r["audit"]: r["name"] for r in leads}
    return [
        BoardAuditOut(
            **r,
            window_state=window_state_of(
                window_of(r["window_start"], r["window_end"]), r["completed_on"], r["status"]
            ),
            lead_name=lead_of.get(r["id"], ""),
        )
        for r in rows
    ]


# `kind="surveillance"` names both surveillance audits (the dashboards count them together).
SURVEILLANCE_KINDS = ("surveillance1", "surveillance2")


def board_where(
    body_id: uuid.UUID,
    status: str | None = None,
    *,
    kind: str | None = None,
    opens_by: dt.date | None = None,
    due_by: dt.date | None = None,
    completed_from: dt.date | None = None,
    completed_to: dt.date | None = None,
) -> Any:
    """The planning board's filter, shared with the dashboards so a count equals its list."""
    where: Any = Audit.cycle._.engagement._.body == body_id
    if status == "open":
        where = where & Audit.status.not_in(["completed", "cancelled"])
    elif status:
        where = where & (Audit.status == status)
    if kind == "surveillance":
        where = where & Audit.kind.is_in(list(SURVEILLANCE_KINDS))
    elif kind:
        where = where & (Audit.kind == kind)
    if opens_by is not None:
        where = where & (Audit.window_start <= opens_by)
    if due_by is not None:
        where = where & (Audit.window_end <= due_by)
    if completed_from is not None:
        where = where & (Audit.completed_on >= completed_from)
    if completed_to is not None:
        where = where & (Audit.completed_on <= completed_to)
    return where


async def planning_board(
    body_id: uuid.UUID,
    auditor_id: uuid.UUID | None = None,
    status: str | None = None,
    **filters: Any,
) -> list[BoardAuditOut]:
    """The body's audits by due window (two queries), optionally one auditor's or one status.

    `status="open"` keeps what still needs planning (neither completed nor cancelled): the view a
    scheduler starts from, and the one that stays within the row limit as history grows.
    `filters` are board_where's keyword filters (kind, opens_by, due_by, completed_from/_to).
    """
    where: Any = board_where(body_id, status, **filters)
    if auditor_id is not None:
        audit_ids = [
            r["audit"]
            for r in await AuditAssignment.select(AuditAssignment.audit)
            .where((AuditAssignment.auditor == auditor_id) & AuditAssignment.live.eq(True))
            .run()
        ]
        if not audit_ids:
            return []
        where = where & Audit.id.is_in(audit_ids)
    rows = (
        await Audit.select(*_BOARD_COLUMNS)
        .where(where)
        .order_by(Audit.window_end)
        .limit(BOARD_LIMIT)
        .run()
    )
    rows.sort(key=lambda r: (r["window_end"] is None, r["window_end"] or dt.date.max))
    return await _board_rows(rows)


async def client_programme(organisation_id: uuid.UUID) -> list[BoardAuditOut]:
    """Every audit of the client's engagements, ordered as the programme runs."""
    rows = (
        await Audit.select(*_BOARD_COLUMNS)
        .where(Audit.cycle._.engagement._.organisation == organisation_id)
        .limit(BOARD_LIMIT)
        .run()
    )
    order = {k.value: i for i, k in enumerate(AuditKind)}
    rows.sort(key=lambda r: (r["standard"], str(r["cycle_id"]), order.get(r["kind"], 99)))
    return await _board_rows(rows)


async def auditor_agenda(auditor_id: uuid.UUID) -> list[AgendaItemOut]:
    """An auditor's live assignments, soonest first, with the audit they belong to (two queries)."""
    rows = (
        await AuditAssignment.select(
            AuditAssignment.audit.as_alias("audit_id"),
            AuditAssignment.role,
            AuditAssignment.status,
            AuditAssignment.starts_at,
            AuditAssignment.ends_at,
        )
        .where((AuditAssignment.auditor == auditor_id) & AuditAssignment.live.eq(True))
        .order_by(AuditAssignment.starts_at)
        .limit(BOARD_LIMIT)
        .run()
    )
    if not rows:
        return []
    audits = {
        a["id"]: a
        for a in await Audit.select(*_BOARD_COLUMNS)
        .where(Audit.id.is_in([r["audit_id"] for r in rows]))
        .run()
    }
    return [
        AgendaItemOut(
            **r,
            kind=audits[r["audit_id"]]["kind"],
            audit_status=audits[r["audit_id"]]["status"],
            time_zone=audits[r["audit_id"]]["time_zone"],
            organisation_name=audits[r["audit_id"]]["organisation_name"],
            standard=audits[r["audit_id"]]["standard"],
        )
        for r in rows
    ]


# --- each page's view: what it shows and what the caller may do there -------------------------


@dataclass(frozen=True)
class BoardFilters:
    """The planning board's filters beyond auditor and status (the dashboards link with them)."""

    kind: str | None = None
    opens_by: dt.date | None = None
    due_by: dt.date | None = None
    completed_from: dt.date | None = None
    completed_to: dt.date | None = None

    def given(self) -> dict[str, Any]:
        """The filters set, for the page's hidden fields and its "also filtered by" note."""
        return {k: v for k, v in vars(self).items() if v}


async def read_board(
    principal: Principal,
    body_id: uuid.UUID,
    auditor_id: uuid.UUID | None,
    status: str | None,
    filters: BoardFilters,
) -> list[BoardAuditOut]:
    """The planning board, for any member of the body."""
    require_role(principal, TenantKind.body, body_id, BODY_ALL, what=NO_BODY)
    return await planning_board(body_id, auditor_id, status, **vars(filters))


@dataclass(frozen=True)
class PlanningView:
    """The board page: the caller's role, the audits, and the auditors for the filter."""

    role: str
    audits: list[BoardAuditOut]
    auditors: list[AuditorOut]
    auditor_id: uuid.UUID | None


async def planning_view(
    principal: Principal,
    body_id: uuid.UUID,
    auditor: str | None,
    status: str,
    filters: BoardFilters,
) -> PlanningView:
    """The board page: ``status`` "open" is what still needs planning, "any" shows history too.

    ``auditor`` is the filter's raw value, read only once the caller is known to be a member.
    """
    role = require_role(principal, TenantKind.body, body_id, BODY_ALL, what=NO_BODY)
    auditor_id = None
    if auditor:
        try:
            auditor_id = uuid.UUID(auditor)
        except ValueError:
            raise Invalid.field("auditor", "Choose an auditor from the list.") from None
    audits = await planning_board(
        body_id, auditor_id, None if status == "any" else status, **vars(filters)
    )
    return PlanningView(role, audits, await list_auditors(body_id), auditor_id)


@dataclass(frozen=True)
class AuditorsView:
    """The auditors page, with what the caller may change there."""

    can_plan: bool
    can_manage: bool
    auditors: list[AuditorOut]
    standards: list[StandardOut]
    settings: SettingsOut
    zones: list[str]


async def auditors_view(principal: Principal, body_id: uuid.UUID) -> AuditorsView:
    """The auditors page: planners add and change auditors, the owner the settings."""
    role = require_role(principal, TenantKind.body, body_id, BODY_ALL, what=NO_BODY)
    return AuditorsView(
        can_plan=role in BODY_PLANNERS,
        can_manage=role == "owner",
        auditors=await list_auditors(body_id),
        standards=await reference.list_standards(),
        settings=await get_settings(body_id),
        zones=zone_names(),
    )


@dataclass(frozen=True)
class AgendaView:
    """One auditor's live assignments and time off."""

    auditor: AuditorOut
    assignments: list[AgendaItemOut]
    time_off: list[UnavailabilityOut]


async def agenda_view(
    principal: Principal, body_id: uuid.UUID, auditor_id: uuid.UUID
) -> AgendaView:
    """One auditor's agenda, for any member of the auditor's body."""
    await auditor_access(principal, auditor_id, BODY_ALL, body_id)
    return AgendaView(
        await get_auditor(auditor_id),
        await auditor_agenda(auditor_id),
        await auditor_time_off(auditor_id),
    )


async def programme_view(principal: Principal, org_id: uuid.UUID) -> list[BoardAuditOut]:
    """The client's audit programme, for any member of the organisation."""
    require_role(principal, TenantKind.organisation, org_id, CLIENT_ALL)
    return await client_programme(org_id)


@dataclass(frozen=True)
class AuditView:
    """One audit's page: the audit, the side the caller acts for and what they may do."""

    audit: AuditOut
    side: str
    can_plan: bool
    can_book: bool
    can_complete: bool
    self_service: bool
    slot_days: int
    site_zone: str
    next_steps: frozenset[AuditAction]
    slots: list[SlotOut] = field(default_factory=list)
    auditors: list[AuditorOut] = field(default_factory=list)
    zones: list[str] = field(default_factory=list)


async def audit_view(principal: Principal, audit_id: uuid.UUID) -> AuditView:
    """The audit page offers slots while the audit may still be proposed: to the body's
    planners, and to the client's bookers where the body allows self-service."""
    ctx, side = await audit_access(principal, audit_id, READERS)
    org_roles = principal.roles_in(TenantKind.organisation, ctx.organisation_id)
    body_roles = principal.roles_in(TenantKind.body, ctx.body_id)
    can_plan = bool(body_roles & BODY_PLANNERS)
    can_book = bool(org_roles & CLIENT_BOOKERS)
    self_service = (await get_settings(ctx.body_id)).self_service_booking
    planned = ctx.row.get("planned_days")
    auditor_days = planned.get("auditor_days") if isinstance(planned, dict) else None
    days = min(max(math.ceil(float(auditor_days or 1)), 1), MAX_SLOT_DAYS)
    next_steps = allowed_actions(ctx.status)
    slots = []
    if (can_plan or (can_book and self_service)) and AuditAction.propose in next_steps:
        slots = await find_slots(ctx, days)
    return AuditView(
        audit=await get_audit(ctx, show_team=shows_team(ctx, side)),
        side=side,
        can_plan=can_plan,
        can_book=can_book,
        can_complete=bool(body_roles & ACTORS[AuditAction.complete].body),
        self_service=self_service,
        slot_days=days,
        site_zone=ctx.site_time_zone,
        next_steps=next_steps,
        slots=slots,
        auditors=await list_auditors(ctx.body_id) if can_plan else [],
        zones=zone_names() if can_plan else [],
    )
