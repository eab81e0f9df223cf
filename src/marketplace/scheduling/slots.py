"""The slot finder and client self-service: the body's free qualified leads in an audit's window,
the earliest slots they leave, and a client's request for one of them."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from dataclasses import dataclass
from typing import Any

from marketplace.accounts.guards import Principal
from marketplace.core import clock
from marketplace.core.db import as_uuid, get_engine, is_postgres, lock_row, write_transaction
from marketplace.core.errors import Conflict, Invalid
from marketplace.rules.audit_status import AuditAction
from marketplace.rules.cycle import consultancy_blocks
from marketplace.scheduling.auditors import MAX_TIME_OFF_DAYS, get_settings
from marketplace.scheduling.booking import (
    TeamMember,
    assign_team,
    check_window,
    is_exclusion_violation,
    record_event,
    release_team,
    update_audit,
)
from marketplace.scheduling.context import (
    ACTORS,
    SLOT_SEEKERS,
    AuditContext,
    audit_access,
    audit_context,
    lock_for,
    require_move,
)
from marketplace.scheduling.schemas import BookingRequestIn, ReasonIn, SlotOut
from marketplace.scheduling.spans import (
    MAX_AUDIT_DAYS,
    BusyCalendar,
    checked_span,
    local_dates,
    slot_span,
    working_days,
    zone,
)
from marketplace.scheduling.tables import Audit, Auditor, ConsultancyDeclaration

MAX_SLOT_DAYS = 20
SLOT_HORIZON_DAYS = 21


@dataclass
class LeadCalendar:
    """The body's qualified leads for one audit and their busy time around the window."""

    leads: list[uuid.UUID]
    # Busy time in POSIX seconds: a large body's weeks of bookings load as numbers, not datetimes.
    busy: dict[uuid.UUID, BusyCalendar[float]]
    consulted_until: dict[uuid.UUID, list[dt.date]]

    def free_leads(
        self, start: dt.datetime, end: dt.datetime, first_day: dt.date
    ) -> list[uuid.UUID]:
        lo, hi = start.timestamp(), end.timestamp()
        free = []
        for auditor in self.leads:
            if auditor in self.consulted_until and any(
                consultancy_blocks(d, first_day) for d in self.consulted_until[auditor]
            ):
                continue
            cal = self.busy.get(auditor)
            if cal is None or cal.is_free(lo, hi):
                free.append(auditor)
        return free


# The body's active leads qualified for the audit's standard and sector (ISO/IEC 17021-1 7.2).
_LEADS_SQL = (
    "SELECT q.auditor AS auditor FROM qualification q JOIN auditor a ON a.id = q.auditor"
    " WHERE a.body = {} AND a.lead = {} AND a.active = {} AND q.standard = {}"
    " AND q.iaf_sector = {}"
)


def _busy_sql(pg: bool) -> str:
    """Live assignments and time off of those leads overlapping [lo, hi), one row per lead.

    Both bounds on starts_at keep each lookup a short range scan of the (auditor, starts_at)
    index: nothing that started before `lo - longest span` can still be running at `lo`.
    """
    if pg:
        epoch = "date_part('epoch', {})"  # double precision; EXTRACT answers numeric
        agg = "array_agg({})"
    else:
        epoch = "((julianday({}) - 2440587.5) * 86400.0)"
        agg = "group_concat({})"
    starts, ends = agg.format(epoch.format("x.starts_at")), agg.format(epoch.format("x.ends_at"))
    # Fixed fragments only; every value is a bound {} argument.
    return (
        f"SELECT x.auditor AS auditor, {starts} AS starts, {ends} AS ends FROM ("  # noqa: S608
        "SELECT auditor, starts_at, ends_at FROM audit_assignment"
        f" WHERE auditor IN ({_LEADS_SQL}) AND starts_at >= {{}} AND starts_at < {{}}"
        " AND ends_at > {} AND live = {} AND audit <> {}"
        " UNION ALL SELECT auditor, starts_at, ends_at FROM unavailability"
        f" WHERE auditor IN ({_LEADS_SQL}) AND starts_at >= {{}} AND starts_at < {{}}"
        " AND ends_at > {}"
        ") x GROUP BY x.auditor"
    )


def _seconds(value: Any) -> list[float]:
    # PostgreSQL answers an array, SQLite a comma-separated text.
    if isinstance(value, str):
        return [float(v) for v in value.split(",")]
    return [float(v) for v in value]


async def _lead_calendar(ctx: AuditContext, lo: dt.datetime, hi: dt.datetime) -> LeadCalendar:
    """Three queries whatever the body's size: leads, consultancy, busy time grouped per lead."""
    leads_args = [ctx.body_id, True, True, ctx.standard, ctx.iaf_sector]
    leads = sorted(
        {as_uuid(r["auditor"]) for r in await Auditor.raw(_LEADS_SQL, *leads_args).run()},
        key=str,
    )
    if not leads:
        return LeadCalendar([], {}, {})
    consulted: dict[uuid.UUID, list[dt.date]] = {}
    for r in (
        await ConsultancyDeclaration.select(
            ConsultancyDeclaration.auditor, ConsultancyDeclaration.ended_on
        )
        .where(
            (ConsultancyDeclaration.organisation == ctx.organisation_id)
            & (ConsultancyDeclaration.auditor._.body == ctx.body_id)
        )
        .run()
    ):
        consulted.setdefault(r["auditor"], []).append(r["ended_on"])
    rows = await Auditor.raw(
        _busy_sql(is_postgres()),
        *leads_args,
        lo - dt.timedelta(days=MAX_AUDIT_DAYS),
        hi,
        lo,
        True,
        ctx.id,
        *leads_args,
        lo - dt.timedelta(days=MAX_TIME_OFF_DAYS),
        hi,
        lo,
    ).run()
    busy = {
        as_uuid(r["auditor"]): BusyCalendar.of(
            zip(_seconds(r["starts"]), _seconds(r["ends"]), strict=True)
        )
        for r in rows
    }
    return LeadCalendar(leads, busy, consulted)


async def find_slots(ctx: AuditContext, days: int, limit: int = 10) -> list[SlotOut]:
    """The earliest starts inside the window where a qualified, impartial lead is free.

    A slot is `days` consecutive working days (Monday to Friday, 09:00 to 17:00 in the site's
    time zone) wholly inside the audit's due window (ISO/IEC 17021-1 9.1.3), for which some lead
    auditor qualified for the standard and the client's IAF sector (7.2), free of consultancy
    with the client for two years (5.2), has no time off and no other live assignment.
    """
    if not 1 <= days <= MAX_SLOT_DAYS:
        raise Invalid.field("days", f"Choose between 1 and {MAX_SLOT_DAYS} working days.")
    if ctx.window is None:
        return []
    tz = zone(ctx.site_time_zone)
    first = max(ctx.window.opens, clock.today() + dt.timedelta(days=1))
    last = ctx.window.due
    if first > last:
        return []
    # One connection for every round's reads (on SQLite each query would otherwise open its own).
    async with get_engine().transaction():
        return await _slots_in_window(ctx, days, limit, tz, first, last)


async def _slots_in_window(
    ctx: AuditContext, days: int, limit: int, tz: zoneinfo.ZoneInfo, first: dt.date, last: dt.date
) -> list[SlotOut]:
    slots: list[SlotOut] = []
    # Busy time is loaded for a growing horizon rather than the whole window: the earliest
    # slots usually lie in the first weeks, and a large body's year of bookings need not be read
    # to find them. The horizon doubles, so a window costs at most a handful of rounds.
    cursor, span = first, max(SLOT_HORIZON_DAYS, 3 * days)
    while cursor <= last and len(slots) < limit:
        horizon = min(last, cursor + dt.timedelta(days=span))
        # A slot starting on the horizon's last day may run `days` working days beyond it.
        reach = min(last, horizon + dt.timedelta(days=2 * days + 4))
        lo = dt.datetime.combine(cursor, dt.time(0), tzinfo=tz).astimezone(dt.UTC)
        hi = dt.datetime.combine(reach + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
        calendar = await _lead_calendar(ctx, lo, hi.astimezone(dt.UTC))
        if not calendar.leads:
            return []
        for day in working_days(cursor):
            if day > horizon or len(slots) >= limit:
                break
            start, end, last_day = slot_span(day, days, tz)
            if last_day > last:
                return slots
            free = calendar.free_leads(start, end, day)
            if free:
                slots.append(SlotOut(start, end, free))
        cursor, span = horizon + dt.timedelta(days=1), span * 2
    return slots


async def request_booking(
    audit_id: uuid.UUID, actor_id: uuid.UUID | None, starts_at: dt.datetime, ends_at: dt.datetime
) -> None:
    """The client requests one offered slot; a free qualified lead is held for it.

    Only where the body allows self-service. The hold is a live assignment, so the same
    guarantees that stop double booking (exclusion constraint on PostgreSQL, an immediate
    transaction on SQLite) stop two clients from taking one slot (`slot_taken`). The window
    rule of ISO/IEC 17021-1 9.1.3 applies (`outside_window`).
    """
    try:
        async with write_transaction():
            # Not lock_for: a body without self-service says so whatever the audit's status.
            await lock_row(Audit, audit_id)
            ctx = await audit_context(audit_id)
            await _require_self_service(ctx.body_id)
            status = require_move(ctx, AuditAction.request)
            tz = zone(ctx.site_time_zone)
            start, end = checked_span(starts_at, ends_at, tz)
            check_window(ctx, start, end, tz)
            first_day, _ = local_dates(start, end, tz)
            calendar = await _lead_calendar(ctx, start, end)
            free = calendar.free_leads(start, end, first_day)
            if not free:
                raise Conflict(
                    "That slot is no longer available; choose another offered slot.",
                    code="slot_taken",
                )
            await release_team(audit_id)
            await assign_team(audit_id, [TeamMember(free[0], "lead")], start, end, status="held")
            await update_audit(
                audit_id,
                {
                    Audit.status: status,
                    Audit.requested_starts_at: start,
                    Audit.requested_ends_at: end,
                    Audit.time_zone: ctx.site_time_zone,
                },
            )
            await record_event(ctx, actor_id, "requested", status, ctx.sequence, start, end)
    except Exception as exc:
        if is_exclusion_violation(exc):
            raise Conflict(
                "That slot was taken a moment ago; choose another offered slot.",
                code="slot_taken",
            ) from None
        raise


async def decline_request(audit_id: uuid.UUID, actor_id: uuid.UUID | None, reason: str) -> None:
    """The body declines a client's booking request with a reason; the held lead is released.

    Choosing the team stays the body's decision (ISO/IEC 17021-1 9.2.2).
    """
    if not reason.strip():
        raise Invalid.field("reason", "Give the client a reason.")
    async with write_transaction():
        ctx, status = await lock_for(audit_id, AuditAction.decline)
        await release_team(audit_id)
        await update_audit(
            audit_id,
            {
                Audit.status: status,
                Audit.requested_starts_at: None,
                Audit.requested_ends_at: None,
            },
        )
        await record_event(ctx, actor_id, "declined", status, ctx.sequence, reason=reason)


async def _require_self_service(body_id: uuid.UUID) -> None:
    if not (await get_settings(body_id)).self_service_booking:
        raise Conflict(
            "This body books audits itself; ask it to propose dates.",
            code="self_service_disabled",
        )


# --- the API's and the pages' way in: who may, then the step ---------------------------------


async def offered_slots(principal: Principal, audit_id: uuid.UUID, days: int) -> list[SlotOut]:
    """The earliest slots, for the body's planners and, where the body allows self-service,
    the client's bookers. Clients see when, never who: the auditors' calendars stay private."""
    ctx, side = await audit_access(principal, audit_id, SLOT_SEEKERS)
    if side == "client":
        await _require_self_service(ctx.body_id)
    return [
        SlotOut(s.starts_at, s.ends_at, [] if side == "client" else s.auditor_ids)
        for s in await find_slots(ctx, days)
    ]


async def request_slot(principal: Principal, audit_id: uuid.UUID, data: BookingRequestIn) -> None:
    """The client's bookers request an offered slot (see request_booking)."""
    await audit_access(principal, audit_id, ACTORS[AuditAction.request])
    await request_booking(audit_id, principal.user_id, data.starts_at, data.ends_at)


async def decline(principal: Principal, audit_id: uuid.UUID, data: ReasonIn) -> None:
    """A body's planner declines a client's request (see decline_request)."""
    await audit_access(principal, audit_id, ACTORS[AuditAction.decline])
    await decline_request(audit_id, principal.user_id, data.reason)
