"""The booking flow of one audit: propose, reschedule, confirm, cancel, complete; the team checks
each booking passes; the audit's read with team, sites and history."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from marketplace.accounts.guards import Principal
from marketplace.accounts.tables import Site
from marketplace.core import clock
from marketplace.core.activity import Tenant, log_action
from marketplace.core.db import as_uuid, write_transaction
from marketplace.core.errors import Conflict, Invalid
from marketplace.rules.audit_status import AuditAction, AuditStatus
from marketplace.rules.cycle import AuditKind, consultancy_blocks, initial_windows
from marketplace.scheduling.context import (
    ACTORS,
    READERS,
    AuditContext,
    audit_access,
    lock_for,
    window_state_of,
)
from marketplace.scheduling.schemas import (
    AuditOut,
    EventOut,
    ProposalIn,
    ReasonIn,
    RescheduleIn,
    SiteOut,
    TeamMemberOut,
)
from marketplace.scheduling.spans import checked_span, local_dates, zone
from marketplace.scheduling.tables import (
    Audit,
    AuditAssignment,
    AuditEvent,
    Auditor,
    ConsultancyDeclaration,
    Qualification,
    Unavailability,
)


async def get_audit(ctx: AuditContext, *, show_team: bool = True) -> AuditOut:
    """The audit with its team, the client's sites, its sequence and its booking history."""
    team = (
        await AuditAssignment.select(
            AuditAssignment.auditor.as_alias("auditor_id"),
            AuditAssignment.auditor._.name.as_alias("name"),
            AuditAssignment.role,
            AuditAssignment.status,
        )
        .where((AuditAssignment.audit == ctx.id) & AuditAssignment.live.eq(True))
        .order_by(AuditAssignment.role)
        .run()
        if show_team
        else []
    )
    sites = (
        await Site.select(Site.id, Site.name, Site.time_zone, Site.central)
        .where(Site.organisation == ctx.organisation_id)
        .order_by(Site.name)
        .run()
    )
    history = (
        await AuditEvent.select(
            AuditEvent.sequence,
            AuditEvent.action,
            AuditEvent.status,
            AuditEvent.starts_at,
            AuditEvent.ends_at,
            AuditEvent.reason,
            AuditEvent.actor.as_alias("actor_id"),
            AuditEvent.created_at,
        )
        .where(AuditEvent.audit == ctx.id)
        .order_by(AuditEvent.created_at)
        .run()
    )
    row = ctx.row
    return AuditOut(
        id=ctx.id,
        cycle_id=ctx.cycle_id,
        engagement_id=ctx.engagement_id,
        organisation_id=ctx.organisation_id,
        body_id=ctx.body_id,
        standard=ctx.standard,
        iaf_sector=ctx.iaf_sector,
        kind=ctx.kind,
        status=ctx.status,
        window_start=row["window_start"],
        window_end=row["window_end"],
        window_state=window_state_of(ctx.window, row["completed_on"], ctx.status),
        starts_at=ctx.starts_at,
        ends_at=ctx.ends_at,
        time_zone=ctx.time_zone,
        mode=ctx.mode,
        sequence=ctx.sequence,
        requested_starts_at=row["requested_starts_at"],
        requested_ends_at=row["requested_ends_at"],
        completed_on=row["completed_on"],
        team=[TeamMemberOut(**t) for t in team],
        sites=[SiteOut(**x) for x in sites],
        history=[EventOut(**e) for e in history],
    )


def is_exclusion_violation(exc: BaseException) -> bool:
    """asyncpg's ExclusionViolationError (SQLSTATE 23P01), without importing the driver."""
    return (
        type(exc).__name__ == "ExclusionViolationError" or getattr(exc, "sqlstate", "") == "23P01"
    )


def check_window(ctx: AuditContext, start: dt.datetime, end: dt.datetime, tz: Any) -> None:
    """The whole audit, first to last local day, inside its due window (ISO/IEC 17021-1 9.1.3)."""
    if ctx.window is None:
        raise Conflict(
            f"The {ctx.kind} audit has no due window yet (it follows an earlier audit or the "
            "certification decision).",
            code="outside_window",
        )
    first, last = local_dates(start, end, tz)
    if not ctx.window.contains_range(first, last):
        raise Conflict(
            f"The {ctx.kind} audit must take place between {ctx.window.opens} and "
            f"{ctx.window.due}; {first} to {last} is outside that window.",
            code="outside_window",
        )


@dataclass(frozen=True)
class TeamMember:
    """One auditor of a team and their role on it (lead, member or technical expert)."""

    auditor_id: uuid.UUID
    role: str


def _overlaps(column_start: Any, column_end: Any, start: dt.datetime, end: dt.datetime) -> Any:
    return (column_start < end) & (column_end > start)


@dataclass(frozen=True)
class _Team:
    """A team whose members passed the first checks, and the span it is to be booked for."""

    ctx: AuditContext
    auditors: dict[uuid.UUID, dict[str, Any]]
    start: dt.datetime
    end: dt.datetime

    @property
    def ids(self) -> list[uuid.UUID]:
        return list(self.auditors)

    def name(self, auditor_id: uuid.UUID) -> str:
        name: str = self.auditors[auditor_id]["name"]
        return name


async def _check_team(
    ctx: AuditContext,
    team: Sequence[TeamMember],
    start: dt.datetime,
    end: dt.datetime,
    local_start: dt.date,
) -> None:
    """Every team rule, in the order a planner would fix them."""
    lead = _check_shape(team)
    auditors = await _team_auditors(ctx, team)
    if not auditors[lead.auditor_id]["lead"]:
        name = auditors[lead.auditor_id]["name"]
        raise Conflict(f"{name} is not qualified to lead audits.", code="not_qualified")
    await _check_competence(ctx, team)
    checked = _Team(ctx, auditors, start, end)
    await _check_impartiality(checked, local_start)
    await _check_time_off(checked)
    await _check_free(checked)


def _check_shape(team: Sequence[TeamMember]) -> TeamMember:
    """Exactly one lead, each auditor once; returns the lead."""
    leads = [m for m in team if m.role == "lead"]
    if not leads:
        raise Conflict("An audit team needs exactly one lead auditor.", code="no_lead")
    if len(leads) > 1:
        raise Invalid.field("team", "An audit team has exactly one lead auditor.")
    ids = [m.auditor_id for m in team]
    if len(set(ids)) != len(ids):
        raise Invalid.field("team", "Each auditor appears once in a team.")
    return leads[0]


async def _team_auditors(
    ctx: AuditContext, team: Sequence[TeamMember]
) -> dict[uuid.UUID, dict[str, Any]]:
    """The team's auditors by id: every one the body's own and still active."""
    rows = (
        await Auditor.select(Auditor.id, Auditor.name, Auditor.lead, Auditor.active)
        .where(Auditor.id.is_in([m.auditor_id for m in team]) & (Auditor.body == ctx.body_id))
        .run()
    )
    auditors = {r["id"]: r for r in rows}
    for m in team:
        if m.auditor_id not in auditors:
            raise Invalid.field(
                "team", f"Auditor {m.auditor_id} is not one of this body's auditors."
            )
        if not auditors[m.auditor_id]["active"]:
            raise Invalid.field("team", f"{auditors[m.auditor_id]['name']} is no longer active.")
    return auditors


async def _check_competence(ctx: AuditContext, team: Sequence[TeamMember]) -> None:
    # ISO/IEC 17021-1 7.2.5: the team as a whole is competent when its lead or a technical
    # expert covers the standard in the client's sector.
    covering = {
        r["auditor"]
        for r in await Qualification.select(Qualification.auditor)
        .where(
            Qualification.auditor.is_in([m.auditor_id for m in team])
            & (Qualification.standard == ctx.standard)
            & (Qualification.iaf_sector == ctx.iaf_sector)
        )
        .run()
    }
    if not any(m.auditor_id in covering for m in team if m.role in ("lead", "expert")):
        raise Conflict(
            f"Neither the lead nor a technical expert is qualified for {ctx.standard} in IAF "
            f"sector {ctx.iaf_sector}.",
            code="not_qualified",
        )


async def _check_impartiality(team: _Team, local_start: dt.date) -> None:
    declarations = (
        await ConsultancyDeclaration.select(
            ConsultancyDeclaration.auditor, ConsultancyDeclaration.ended_on
        )
        .where(
            ConsultancyDeclaration.auditor.is_in(team.ids)
            & (ConsultancyDeclaration.organisation == team.ctx.organisation_id)
        )
        .run()
    )
    for d in declarations:
        if consultancy_blocks(d["ended_on"], local_start):
            raise Conflict(
                f"{team.name(d['auditor'])} consulted this client until {d['ended_on']}: "
                "no audit within two years (ISO/IEC 17021-1 5.2).",
                code="impartiality",
            )


async def _check_time_off(team: _Team) -> None:
    off = await _first_overlap(team, Unavailability)
    if off:
        raise Conflict(f"{team.name(off)} is unavailable at that time.", code="auditor_unavailable")


async def _check_free(team: _Team) -> None:
    # Other audits' live assignments only: the audit's own are replaced by this booking.
    others = AuditAssignment.live.eq(True) & (AuditAssignment.audit != team.ctx.id)
    busy = await _first_overlap(team, AuditAssignment, others)
    if busy:
        raise Conflict(
            f"{team.name(busy)} is already booked at that time.", code="auditor_conflict"
        )


async def _first_overlap(
    team: _Team, table: type[Unavailability] | type[AuditAssignment], *where: Any
) -> uuid.UUID | None:
    """One of the team's auditors with a row of ``table`` overlapping the span, if any."""
    row = (
        await table.select(table.auditor)
        .where(
            table.auditor.is_in(team.ids),
            _overlaps(table.starts_at, table.ends_at, team.start, team.end),
            *where,
        )
        .first()
        .run()
    )
    return row["auditor"] if row else None


async def record_event(
    ctx: AuditContext,
    actor_id: uuid.UUID | None,
    action: str,
    status: str,
    sequence: int,
    starts_at: dt.datetime | None = None,
    ends_at: dt.datetime | None = None,
    reason: str = "",
    released: Sequence[uuid.UUID] = (),
) -> None:
    """The step in the audit's history, and in both tenants' activity logs (which notify)."""
    await (
        AuditEvent(
            audit=ctx.id,
            sequence=sequence,
            action=action,
            status=status,
            starts_at=starts_at,
            ends_at=ends_at,
            reason=reason,
            actor=actor_id,
        )
        .save()
        .run()
    )
    data = {"kind": ctx.kind, "sequence": sequence, "status": status}
    if starts_at and ends_at:
        data |= {"starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()}
    if reason:
        data["reason"] = reason
    if released:
        data["released_assignments"] = [str(i) for i in released]
    for tenant in (Tenant("organisation", ctx.organisation_id), Tenant("body", ctx.body_id)):
        await log_action(
            f"marketplace.audit.{action}",
            actor_id=actor_id,
            entity_type="audit",
            entity_id=ctx.id,
            tenant=tenant,
            data=data,
        )


async def update_audit(audit_id: uuid.UUID, changes: dict[Any, Any]) -> None:
    """Write ``changes`` to the audit; updated_at moves with every change (calendar feeds read it)."""
    await Audit.update({**changes, Audit.updated_at: clock.now()}).where(Audit.id == audit_id).run()


async def release_team(audit_id: uuid.UUID) -> list[uuid.UUID]:
    """Release the audit's live team; returns the released assignments' ids."""
    rows = await (
        AuditAssignment.update({AuditAssignment.live: False, AuditAssignment.status: "released"})
        .where((AuditAssignment.audit == audit_id) & AuditAssignment.live.eq(True))
        .returning(AuditAssignment.id)
        .run()
    )
    return [as_uuid(r["id"]) for r in rows]


async def assign_team(
    audit_id: uuid.UUID,
    team: Sequence[TeamMember],
    start: dt.datetime,
    end: dt.datetime,
    status: str = "active",
) -> None:
    """Book the team for the span: live assignments, which the exclusion constraint guards."""
    await AuditAssignment.insert(
        *[
            AuditAssignment(
                audit=audit_id,
                auditor=m.auditor_id,
                role=m.role,
                starts_at=start,
                ends_at=end,
                status=status,
                live=True,
            )
            for m in team
        ]
    ).run()


async def _current_team(audit_id: uuid.UUID) -> list[TeamMember]:
    rows = (
        await AuditAssignment.select(AuditAssignment.auditor, AuditAssignment.role)
        .where((AuditAssignment.audit == audit_id) & AuditAssignment.live.eq(True))
        .run()
    )
    return [TeamMember(r["auditor"], r["role"]) for r in rows]


@dataclass(frozen=True)
class _Booking:
    """What a proposal or a move asks for: the times, and for a proposal the team and mode."""

    starts_at: dt.datetime
    ends_at: dt.datetime
    time_zone: str | None
    team: Sequence[TeamMember] | None = None
    mode: str | None = None
    reason: str = ""


# The history's name for each step that books the team (and the activity log's verb).
_BOOKED = {AuditAction.propose: "proposed", AuditAction.reschedule: "rescheduled"}


async def _book(
    audit_id: uuid.UUID, actor_id: uuid.UUID | None, step: AuditAction, booking: _Booking
) -> None:
    """Check every rule and write the team's assignments in one write transaction."""
    try:
        async with write_transaction():
            # Concurrent moves of one audit queue here: each reads the team the previous one left.
            ctx, status = await lock_for(audit_id, step)
            tz_name = booking.time_zone or ctx.time_zone
            tz = zone(tz_name)
            start, end = checked_span(booking.starts_at, booking.ends_at, tz)
            members = await _members(audit_id, booking.team)
            first_day, _ = local_dates(start, end, tz)
            check_window(ctx, start, end, tz)
            await _check_team(ctx, members, start, end, first_day)
            await release_team(audit_id)
            await assign_team(audit_id, members, start, end)
            sequence = ctx.sequence + (1 if step == AuditAction.reschedule else 0)
            await update_audit(
                audit_id,
                {
                    Audit.status: status,
                    Audit.starts_at: start,
                    Audit.ends_at: end,
                    Audit.time_zone: tz_name,
                    Audit.mode: booking.mode or ctx.mode,
                    Audit.sequence: sequence,
                    Audit.requested_starts_at: None,
                    Audit.requested_ends_at: None,
                },
            )
            await record_event(
                ctx, actor_id, _BOOKED[step], status, sequence, start, end, booking.reason
            )
    except Exception as exc:
        if is_exclusion_violation(exc):
            # Another booking committed between our check and our insert (PostgreSQL).
            raise Conflict(
                "An auditor on this team was booked for an overlapping time a moment ago.",
                code="auditor_conflict",
            ) from None
        raise


async def _members(audit_id: uuid.UUID, team: Sequence[TeamMember] | None) -> list[TeamMember]:
    """The proposed team, or for a move the team already booked."""
    if team is not None:
        return list(team)
    members = await _current_team(audit_id)
    if not members:
        raise Conflict("This audit has no team to reschedule.", code="no_lead")
    return members


async def propose_audit(
    audit_id: uuid.UUID,
    actor_id: uuid.UUID | None,
    *,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    time_zone: str,
    team: Sequence[TeamMember],
    mode: str = "onsite",
) -> None:
    """The body proposes dates and a team (exactly one lead) inside the audit's window.

    Refused (409) when the dates fall outside the window (ISO/IEC 17021-1 9.1.3,
    `outside_window`), there is no lead (`no_lead`), neither lead nor technical expert covers
    the standard in the client's IAF sector (7.2, `not_qualified`), an auditor consulted the
    client within two years (5.2, `impartiality`), is on time off (`auditor_unavailable`) or
    already booked (`auditor_conflict`). A client's pending request becomes this proposal.
    """
    booking = _Booking(starts_at, ends_at, time_zone, team, mode)
    await _book(audit_id, actor_id, AuditAction.propose, booking)


async def reschedule_audit(
    audit_id: uuid.UUID,
    actor_id: uuid.UUID | None,
    *,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    reason: str = "",
    time_zone: str | None = None,
) -> None:
    """Move a proposed or confirmed audit with its team; the client confirms again.

    The same rules as a proposal apply (window per ISO/IEC 17021-1 9.1.3, competence 7.2,
    impartiality 5.2, availability); the audit's iCalendar `sequence` goes up by one and the
    move is kept in its history.
    """
    booking = _Booking(starts_at, ends_at, time_zone, reason=reason)
    await _book(audit_id, actor_id, AuditAction.reschedule, booking)


async def confirm_audit(audit_id: uuid.UUID, actor_id: uuid.UUID | None) -> None:
    """The client accepts the proposed dates and team (ISO/IEC 17021-1 9.2.3: the audit plan is
    communicated to and agreed with the client)."""
    async with write_transaction():
        ctx, status = await lock_for(audit_id, AuditAction.confirm)
        await update_audit(audit_id, {Audit.status: status})
        await record_event(
            ctx, actor_id, "confirmed", status, ctx.sequence, ctx.starts_at, ctx.ends_at
        )


async def cancel_audit(audit_id: uuid.UUID, actor_id: uuid.UUID | None, reason: str) -> None:
    """The body cancels a booking with a reason; the team is released, the history kept.

    The cycle's frequencies (ISO/IEC 17021-1 9.1.3) still apply: the audit must be planned
    again inside its window, so a cancelled audit can be proposed anew.
    """
    if not reason.strip():
        raise Invalid.field("reason", "Give a reason for cancelling.")
    async with write_transaction():
        ctx, status = await lock_for(audit_id, AuditAction.cancel)
        released = await release_team(audit_id)
        sequence = ctx.sequence + 1
        await update_audit(
            audit_id,
            {
                Audit.status: status,
                Audit.sequence: sequence,
                Audit.cancel_reason: reason,
                Audit.requested_starts_at: None,
                Audit.requested_ends_at: None,
            },
        )
        # The e-mail of the cancellation goes to the team just released: name it exactly.
        await record_event(
            ctx, actor_id, "cancelled", status, sequence, reason=reason, released=released
        )


async def complete_audit(audit_id: uuid.UUID, actor_id: uuid.UUID | None) -> None:
    """Record that a confirmed audit took place; completing stage 1 opens stage 2's window.

    ISO/IEC 17021-1 9.3.1.2: stage 2 follows stage 1 (its window runs 6 months, after which
    stage 1 is treated as stale). The body may record completion early, so no clock check.
    """
    async with write_transaction():
        ctx, status = await lock_for(audit_id, AuditAction.complete)
        # A confirmed audit always has its times.
        assert ctx.starts_at is not None
        assert ctx.ends_at is not None
        tz = zone(ctx.time_zone)
        first_day, last_day = local_dates(ctx.starts_at, ctx.ends_at, tz)
        await update_audit(
            audit_id,
            {
                Audit.status: status,
                Audit.completed_on: last_day,
            },
        )
        if ctx.kind == AuditKind.stage1.value:
            await _open_stage2(ctx, first_day, last_day)
        await record_event(
            ctx, actor_id, "completed", status, ctx.sequence, ctx.starts_at, ctx.ends_at
        )


async def _open_stage2(ctx: AuditContext, first_day: dt.date, last_day: dt.date) -> None:
    """Stage 2's window runs from the end of stage 1 (ISO/IEC 17021-1 9.3.1.2)."""
    opens = ctx.window.opens if ctx.window else first_day
    stage2 = initial_windows(min(opens, first_day), stage1_end=last_day)[AuditKind.stage2]
    await (
        Audit.update({Audit.window_start: stage2.opens, Audit.window_end: stage2.due})
        .where(
            (Audit.cycle == ctx.cycle_id)
            & (Audit.kind == AuditKind.stage2.value)
            & (Audit.status != AuditStatus.completed.value)
        )
        .run()
    )


# --- the API's and the pages' way in: who may, then the step ---------------------------------


def shows_team(ctx: AuditContext, side: str) -> bool:
    """While a client's request waits, the held lead is the body's business, not the client's."""
    return side == "body" or ctx.status != AuditStatus.requested


async def read_audit(principal: Principal, audit_id: uuid.UUID) -> AuditOut:
    """The audit for a member of either tenant; others get 404."""
    ctx, side = await audit_access(principal, audit_id, READERS)
    return await get_audit(ctx, show_team=shows_team(ctx, side))


async def propose(principal: Principal, audit_id: uuid.UUID, data: ProposalIn) -> None:
    """A body's planner proposes dates and a team (see propose_audit)."""
    await audit_access(principal, audit_id, ACTORS[AuditAction.propose])
    await propose_audit(
        audit_id,
        principal.user_id,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        time_zone=data.time_zone,
        team=[TeamMember(m.auditor_id, m.role) for m in data.team],
        mode=data.mode,
    )


async def reschedule(principal: Principal, audit_id: uuid.UUID, data: RescheduleIn) -> None:
    """The client's bookers or the body's planners move the audit (see reschedule_audit)."""
    await audit_access(principal, audit_id, ACTORS[AuditAction.reschedule])
    await reschedule_audit(
        audit_id,
        principal.user_id,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        reason=data.reason,
        time_zone=data.time_zone,
    )


async def confirm(principal: Principal, audit_id: uuid.UUID) -> None:
    """The client's bookers agree to the proposal (see confirm_audit)."""
    await audit_access(principal, audit_id, ACTORS[AuditAction.confirm])
    await confirm_audit(audit_id, principal.user_id)


async def cancel(principal: Principal, audit_id: uuid.UUID, data: ReasonIn) -> None:
    """A body's planner cancels with a reason (see cancel_audit)."""
    await audit_access(principal, audit_id, ACTORS[AuditAction.cancel])
    await cancel_audit(audit_id, principal.user_id, data.reason)


async def complete(principal: Principal, audit_id: uuid.UUID) -> None:
    """A body's planner or auditor records the audit as held (see complete_audit)."""
    await audit_access(principal, audit_id, ACTORS[AuditAction.complete])
    await complete_audit(audit_id, principal.user_id)
