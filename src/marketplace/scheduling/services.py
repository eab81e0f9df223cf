"""Scheduling services: engagements and cycles, auditors, bookings that never double-book, the slot finder."""

from __future__ import annotations

import datetime as dt
import functools
import uuid
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from marketplace.accounts.tables import Membership, Organisation, Site
from marketplace.core import clock
from marketplace.core.activity import Tenant, log_action
from marketplace.core.db import as_uuid, get_engine, is_postgres, lock_row, write_transaction
from marketplace.core.errors import Conflict, Invalid, NotFound
from marketplace.reference.tables import Standard
from marketplace.rules.cycle import (
    AuditKind,
    Window,
    certificate_at_risk,
    consultancy_blocks,
    expiry_date,
    initial_windows,
    surveillance_and_recert_windows,
    window_state,
)
from marketplace.scheduling.context import (
    AuditContext,
    audit_context,
)
from marketplace.scheduling.spans import (
    MAX_AUDIT_DAYS,
    BusyCalendar,
    checked_span,
    local_dates,
    slot_span,
    to_utc,
    working_days,
    zone,
)
from marketplace.scheduling.tables import (
    Audit,
    AuditAssignment,
    AuditEvent,
    Auditor,
    CertificationCycle,
    ConsultancyDeclaration,
    Engagement,
    Qualification,
    SchedulingSettings,
    Unavailability,
)

# The five audits of an initial three-year cycle (ISO/IEC 17021-1 9.1.3).
CYCLE_AUDITS = (
    AuditKind.stage1,
    AuditKind.stage2,
    AuditKind.surveillance1,
    AuditKind.surveillance2,
    AuditKind.recertification,
)


@dataclass(frozen=True)
class StartedEngagement:
    engagement_id: uuid.UUID
    cycle_id: uuid.UUID
    audit_ids: dict[str, uuid.UUID]


async def start_engagement(
    *,
    actor_id: uuid.UUID | None,
    organisation_id: uuid.UUID,
    body_id: uuid.UUID,
    standard: str,
    iaf_sector: int,
    agreed_days: dict[str, float],
    start: dt.date,
) -> StartedEngagement:
    """Create the engagement, its first cycle and the five planned audits.

    Call inside the caller's transaction (quotes accept inside theirs). Stage 1 gets its window
    at once; the others get theirs when their anchor exists: stage 2 after stage 1, surveillance
    and recertification from the certification decision date (ISO/IEC 17021-1 9.1.3).
    """
    engagement = Engagement(
        organisation=organisation_id,
        body=body_id,
        standard=standard,
        iaf_sector=iaf_sector,
        agreed_days=agreed_days,
        started_on=start,
        created_by=actor_id,
    )
    await engagement.save().run()
    cycle = CertificationCycle(engagement=engagement.id, number=1)
    await cycle.save().run()
    windows = initial_windows(start)
    audit_ids: dict[str, uuid.UUID] = {}
    for kind in CYCLE_AUDITS:
        window = windows.get(kind)
        audit = Audit(
            cycle=cycle.id,
            kind=kind.value,
            window_start=window.opens if window else None,
            window_end=window.due if window else None,
            planned_days={"auditor_days": agreed_days.get(kind.value)},
        )
        await audit.save().run()
        audit_ids[kind.value] = audit.id
    for tenant in (Tenant("organisation", organisation_id), Tenant("body", body_id)):
        await log_action(
            "marketplace.engagement.started",
            actor_id=actor_id,
            entity_type="engagement",
            entity_id=engagement.id,
            tenant=tenant,
            data={"standard": standard, "cycle_id": str(cycle.id)},
        )
    return StartedEngagement(engagement.id, cycle.id, audit_ids)


async def get_engagement(engagement_id: uuid.UUID) -> dict[str, Any]:
    rows = (
        await Engagement.select().where(Engagement.id == engagement_id).output(load_json=True).run()
    )
    if not rows:
        raise NotFound("No such engagement.")
    row: dict[str, Any] = rows[0]
    return row


async def has_completed_audit(
    organisation_id: uuid.UUID, body_id: uuid.UUID, engagement_id: uuid.UUID
) -> bool:
    """True when the engagement belongs to this client and body and one of its audits is completed."""
    return bool(
        await Audit.exists()
        .where(
            (Audit.cycle._.engagement._.id == engagement_id)
            & (Audit.cycle._.engagement._.organisation == organisation_id)
            & (Audit.cycle._.engagement._.body == body_id)
            & (Audit.status == "completed")
        )
        .run()
    )


# --- auditors --------------------------------------------------------------------------------


async def _check_qualifications(qualifications: Sequence[dict[str, Any]]) -> None:
    codes = {q["standard"] for q in qualifications}
    if not codes:
        return
    known = {
        r["code"]
        for r in await Standard.select(Standard.code).where(Standard.code.is_in(list(codes))).run()
    }
    for code in sorted(codes - known):
        raise Invalid.field("qualifications", f"Unknown standard {code!r}.")


async def create_auditor(
    actor_id: uuid.UUID | None, body_id: uuid.UUID, data: dict[str, Any]
) -> uuid.UUID:
    """Add an auditor with their competences (standard x IAF sector, ISO/IEC 17021-1 7.1.2).

    A linked user must already be a member of the same body.
    """
    zone(data.get("time_zone") or "UTC")
    qualifications = list(data.get("qualifications") or [])
    await _check_qualifications(qualifications)
    user_id = data.get("user_id")
    if user_id is not None:
        member = (
            await Membership.exists()
            .where((Membership.user == user_id) & (Membership.body == body_id))
            .run()
        )
        if not member:
            raise Invalid.field("user_id", "That user is not a member of this body.")
    async with write_transaction():
        auditor = Auditor(
            body=body_id,
            user=user_id,
            name=data["name"],
            email=str(data.get("email") or "").lower(),
            time_zone=data.get("time_zone") or "UTC",
            lead=bool(data.get("lead")),
        )
        await auditor.save().run()
        unique = {(q["standard"], int(q["iaf_sector"])) for q in qualifications}
        if unique:
            await Qualification.insert(
                *[Qualification(auditor=auditor.id, standard=s, iaf_sector=n) for s, n in unique]
            ).run()
        await log_action(
            "marketplace.auditor.created",
            actor_id=actor_id,
            entity_type="auditor",
            entity_id=auditor.id,
            tenant=Tenant("body", body_id),
            data={"name": data["name"], "qualifications": len(unique)},
        )
    return auditor.id


async def get_auditor(auditor_id: uuid.UUID) -> dict[str, Any]:
    row = await Auditor.select().where(Auditor.id == auditor_id).first().run()
    if row is None:
        raise NotFound("No such auditor.")
    quals = (
        await Qualification.select(Qualification.standard, Qualification.iaf_sector)
        .where(Qualification.auditor == auditor_id)
        .order_by(Qualification.standard)
        .order_by(Qualification.iaf_sector)
        .run()
    )
    return {
        **row,
        "body_id": row["body"],
        "user_id": row["user"],
        "qualifications": quals,
    }


async def auditor_body(auditor_id: uuid.UUID) -> uuid.UUID:
    row = await Auditor.select(Auditor.body).where(Auditor.id == auditor_id).first().run()
    if row is None:
        raise NotFound("No such auditor.")
    body: uuid.UUID = row["body"]
    return body


async def list_auditors(body_id: uuid.UUID) -> list[dict[str, Any]]:
    """The body's auditors with qualifications, in two queries."""
    auditors = await Auditor.select().where(Auditor.body == body_id).order_by(Auditor.name).run()
    quals = (
        await Qualification.select(
            Qualification.auditor, Qualification.standard, Qualification.iaf_sector
        )
        .where(Qualification.auditor._.body == body_id)
        .run()
    )
    by_auditor: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for q in quals:
        by_auditor.setdefault(q["auditor"], []).append(
            {"standard": q["standard"], "iaf_sector": q["iaf_sector"]}
        )
    return [
        {
            **a,
            "body_id": a["body"],
            "user_id": a["user"],
            "qualifications": sorted(
                by_auditor.get(a["id"], []), key=lambda q: (q["standard"], q["iaf_sector"])
            ),
        }
        for a in auditors
    ]


async def add_qualification(
    actor_id: uuid.UUID | None, auditor_id: uuid.UUID, standard: str, iaf_sector: int
) -> None:
    """Record one more competence (standard x IAF sector) for an auditor (ISO/IEC 17021-1 7.1.2)."""
    await _check_qualifications([{"standard": standard}])
    body_id = await auditor_body(auditor_id)
    async with write_transaction():
        exists = (
            await Qualification.exists()
            .where(
                (Qualification.auditor == auditor_id)
                & (Qualification.standard == standard)
                & (Qualification.iaf_sector == iaf_sector)
            )
            .run()
        )
        if not exists:
            await (
                Qualification(auditor=auditor_id, standard=standard, iaf_sector=iaf_sector)
                .save()
                .run()
            )
            await log_action(
                "marketplace.auditor.qualified",
                actor_id=actor_id,
                entity_type="auditor",
                entity_id=auditor_id,
                tenant=Tenant("body", body_id),
                data={"standard": standard, "iaf_sector": iaf_sector},
            )


async def add_unavailability(
    actor_id: uuid.UUID | None, auditor_id: uuid.UUID, data: dict[str, Any]
) -> dict[str, Any]:
    """Record time off; bookings overlapping it are refused (`auditor_unavailable`).

    ISO/IEC 17021-1 9.2.2: the body assigns an audit team that can actually attend.

    Times without an offset are read in the auditor's own time zone.
    """
    row = (
        await Auditor.select(Auditor.body, Auditor.time_zone)
        .where(Auditor.id == auditor_id)
        .first()
        .run()
    )
    if row is None:
        raise NotFound("No such auditor.")
    tz = zone(row["time_zone"])
    start = to_utc(data["starts_at"], tz, "starts_at")
    end = to_utc(data["ends_at"], tz, "ends_at")
    if end <= start:
        raise Invalid.field("ends_at", "The end must be after the start.")
    if end - start > dt.timedelta(days=MAX_TIME_OFF_DAYS):
        raise Invalid.field("ends_at", "Record time off a year at a time at most.")
    async with write_transaction():
        item = Unavailability(
            auditor=auditor_id, starts_at=start, ends_at=end, reason=data.get("reason") or ""
        )
        await item.save().run()
        await log_action(
            "marketplace.auditor.unavailable",
            actor_id=actor_id,
            entity_type="auditor",
            entity_id=auditor_id,
            tenant=Tenant("body", row["body"]),
            data={"starts_at": start.isoformat(), "ends_at": end.isoformat()},
        )
    return {
        "id": item.id,
        "auditor_id": auditor_id,
        "starts_at": start,
        "ends_at": end,
        "reason": item.reason,
    }


async def add_consultancy(
    actor_id: uuid.UUID | None, auditor_id: uuid.UUID, organisation_id: uuid.UUID, ended_on: dt.date
) -> dict[str, Any]:
    """Declare consultancy an auditor gave a client: it bars them from auditing it for 2 years.

    ISO/IEC 17021-1 5.2 (impartiality): no audit of a client the auditor consulted within the
    previous two years; proposals then fail with `impartiality`.
    """
    body_id = await auditor_body(auditor_id)
    if not await Organisation.exists().where(Organisation.id == organisation_id).run():
        raise Invalid.field("organisation_id", "No such organisation.")
    async with write_transaction():
        existing = (
            await ConsultancyDeclaration.select(ConsultancyDeclaration.id)
            .where(
                (ConsultancyDeclaration.auditor == auditor_id)
                & (ConsultancyDeclaration.organisation == organisation_id)
                & (ConsultancyDeclaration.ended_on == ended_on)
            )
            .first()
            .run()
        )
        if existing:
            declaration_id: uuid.UUID = existing["id"]
        else:
            declaration = ConsultancyDeclaration(
                auditor=auditor_id, organisation=organisation_id, ended_on=ended_on
            )
            await declaration.save().run()
            declaration_id = declaration.id
            await log_action(
                "marketplace.auditor.consultancy_declared",
                actor_id=actor_id,
                entity_type="auditor",
                entity_id=auditor_id,
                tenant=Tenant("body", body_id),
                data={"organisation_id": str(organisation_id), "ended_on": ended_on.isoformat()},
            )
    return {
        "id": declaration_id,
        "auditor_id": auditor_id,
        "organisation_id": organisation_id,
        "ended_on": ended_on,
    }


async def auditor_time_off(auditor_id: uuid.UUID) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (
        await Unavailability.select()
        .where(Unavailability.auditor == auditor_id)
        .order_by(Unavailability.starts_at)
        .run()
    )
    return rows


async def get_settings(body_id: uuid.UUID) -> dict[str, Any]:
    row = await SchedulingSettings.select().where(SchedulingSettings.body == body_id).first().run()
    return {"body_id": body_id, "self_service_booking": bool(row and row["self_service_booking"])}


async def set_settings(
    actor_id: uuid.UUID | None, body_id: uuid.UUID, self_service_booking: bool
) -> dict[str, Any]:
    """Whether this body's clients may request one of the offered slots themselves.

    The body still decides the team (ISO/IEC 17021-1 9.2.2); a request only holds a free lead.
    """
    async with write_transaction():
        exists = await SchedulingSettings.exists().where(SchedulingSettings.body == body_id).run()
        if exists:
            await (
                SchedulingSettings.update(
                    {SchedulingSettings.self_service_booking: self_service_booking}
                )
                .where(SchedulingSettings.body == body_id)
                .run()
            )
        else:
            await (
                SchedulingSettings(body=body_id, self_service_booking=self_service_booking)
                .save()
                .run()
            )
        await log_action(
            "marketplace.scheduling.settings_changed",
            actor_id=actor_id,
            entity_type="body",
            entity_id=body_id,
            tenant=Tenant("body", body_id),
            data={"self_service_booking": self_service_booking},
        )
    return {"body_id": body_id, "self_service_booking": self_service_booking}


# --- audits: context, reads --------------------------------------------------------------------


def _state(window: Window | None, completed_on: dt.date | None, status: str) -> str | None:
    if window is None:
        return None
    if status == "cancelled":
        return "cancelled"
    return window_state(window, clock.today(), completed_on).value


async def get_audit(ctx: AuditContext, *, show_team: bool = True) -> dict[str, Any]:
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
    return {
        "id": ctx.id,
        "cycle_id": ctx.cycle_id,
        "engagement_id": ctx.engagement_id,
        "organisation_id": ctx.organisation_id,
        "body_id": ctx.body_id,
        "standard": ctx.standard,
        "iaf_sector": ctx.iaf_sector,
        "kind": ctx.kind,
        "status": ctx.status,
        "window_start": row["window_start"],
        "window_end": row["window_end"],
        "window_state": _state(ctx.window, row["completed_on"], ctx.status),
        "starts_at": ctx.starts_at,
        "ends_at": ctx.ends_at,
        "time_zone": ctx.time_zone,
        "mode": ctx.mode,
        "sequence": ctx.sequence,
        "requested_starts_at": row["requested_starts_at"],
        "requested_ends_at": row["requested_ends_at"],
        "completed_on": row["completed_on"],
        "team": team,
        "sites": sites,
        "history": history,
    }


async def get_cycle(cycle_id: uuid.UUID) -> dict[str, Any]:
    """A certification cycle with every audit's window and state (ISO/IEC 17021-1 9.1.3)."""
    row = (
        await CertificationCycle.select(
            *CertificationCycle.all_columns(),
            CertificationCycle.engagement._.organisation.as_alias("organisation_id"),
            CertificationCycle.engagement._.body.as_alias("body_id"),
            CertificationCycle.engagement._.standard.as_alias("standard"),
        )
        .where(CertificationCycle.id == cycle_id)
        .first()
        .run()
    )
    if row is None:
        raise NotFound("No such certification cycle.")
    audits = (
        await Audit.select(
            Audit.id,
            Audit.kind,
            Audit.window_start,
            Audit.window_end,
            Audit.status,
            Audit.starts_at,
            Audit.ends_at,
            Audit.completed_on,
        )
        .where(Audit.cycle == cycle_id)
        .order_by(Audit.created_at)
        .run()
    )
    order = {k.value: i for i, k in enumerate(AuditKind)}
    audits.sort(key=lambda a: order.get(a["kind"], 99))
    done = {a["kind"] for a in audits if a["status"] == "completed"}
    for a in audits:
        window = (
            Window(a["window_start"], a["window_end"])
            if a["window_start"] and a["window_end"]
            else None
        )
        a["window_state"] = _state(window, a["completed_on"], a["status"])
    at_risk = bool(row["decision_date"]) and certificate_at_risk(
        row["decision_date"],
        clock.today(),
        AuditKind.surveillance1.value in done,
        AuditKind.surveillance2.value in done,
    )
    return {
        "id": row["id"],
        "engagement_id": row["engagement"],
        "number": row["number"],
        "standard": row["standard"],
        "organisation_id": row["organisation_id"],
        "body_id": row["body_id"],
        "decision_date": row["decision_date"],
        "expiry_date": row["expiry_date"],
        "certificate_at_risk": at_risk,
        "audits": audits,
    }


async def apply_decision(cycle_id: uuid.UUID, decision_date: dt.date) -> None:
    """Record the certification decision date and plan the rest of the cycle from it.

    ISO/IEC 17021-1 9.1.3: the three-year cycle starts on the certification decision date; the
    first surveillance falls no later than 12 months after it, the second in year 2 (due 24
    months after it), and recertification is completed before expiry (decision + 3 years,
    9.6.3). Audits already completed keep their windows.
    """
    windows = surveillance_and_recert_windows(decision_date)
    async with write_transaction():
        if not await CertificationCycle.exists().where(CertificationCycle.id == cycle_id).run():
            raise NotFound("No such certification cycle.")
        await (
            CertificationCycle.update(
                {
                    CertificationCycle.decision_date: decision_date,
                    CertificationCycle.expiry_date: expiry_date(decision_date),
                    CertificationCycle.status: "certified",
                }
            )
            .where(CertificationCycle.id == cycle_id)
            .run()
        )
        for kind, window in windows.items():
            await (
                Audit.update(
                    {
                        Audit.window_start: window.opens,
                        Audit.window_end: window.due,
                        Audit.updated_at: clock.now(),
                    }
                )
                .where(
                    (Audit.cycle == cycle_id)
                    & (Audit.kind == kind.value)
                    & (Audit.status != "completed")
                )
                .run()
            )


# --- booking rules -----------------------------------------------------------------------------

MAX_TIME_OFF_DAYS = 366


def _exclusion_violation(exc: BaseException) -> bool:
    """asyncpg's ExclusionViolationError (SQLSTATE 23P01), without importing the driver."""
    return (
        type(exc).__name__ == "ExclusionViolationError" or getattr(exc, "sqlstate", "") == "23P01"
    )


def _check_window(ctx: AuditContext, start: dt.datetime, end: dt.datetime, tz: Any) -> None:
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
    auditor_id: uuid.UUID
    role: str


def _overlaps(column_start: Any, column_end: Any, start: dt.datetime, end: dt.datetime) -> Any:
    return (column_start < end) & (column_end > start)


async def _check_team(
    ctx: AuditContext,
    team: Sequence[TeamMember],
    start: dt.datetime,
    end: dt.datetime,
    local_start: dt.date,
) -> dict[uuid.UUID, dict[str, Any]]:
    """Every team rule, in the order a planner would fix them; returns the auditors by id."""
    leads = [m for m in team if m.role == "lead"]
    if not leads:
        raise Conflict("An audit team needs exactly one lead auditor.", code="no_lead")
    if len(leads) > 1:
        raise Invalid.field("team", "An audit team has exactly one lead auditor.")
    ids = [m.auditor_id for m in team]
    if len(set(ids)) != len(ids):
        raise Invalid.field("team", "Each auditor appears once in a team.")
    rows = (
        await Auditor.select(Auditor.id, Auditor.name, Auditor.lead, Auditor.active)
        .where(Auditor.id.is_in(ids) & (Auditor.body == ctx.body_id))
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
    lead = auditors[leads[0].auditor_id]
    if not lead["lead"]:
        raise Conflict(f"{lead['name']} is not qualified to lead audits.", code="not_qualified")
    # ISO/IEC 17021-1 7.2.5: the team as a whole is competent when its lead or a technical
    # expert covers the standard in the client's sector.
    covering = {
        r["auditor"]
        for r in await Qualification.select(Qualification.auditor)
        .where(
            Qualification.auditor.is_in(ids)
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
    declarations = (
        await ConsultancyDeclaration.select(
            ConsultancyDeclaration.auditor, ConsultancyDeclaration.ended_on
        )
        .where(
            ConsultancyDeclaration.auditor.is_in(ids)
            & (ConsultancyDeclaration.organisation == ctx.organisation_id)
        )
        .run()
    )
    for d in declarations:
        if consultancy_blocks(d["ended_on"], local_start):
            raise Conflict(
                f"{auditors[d['auditor']]['name']} consulted this client until {d['ended_on']}: "
                "no audit within two years (ISO/IEC 17021-1 5.2).",
                code="impartiality",
            )
    off = (
        await Unavailability.select(Unavailability.auditor)
        .where(
            Unavailability.auditor.is_in(ids)
            & _overlaps(Unavailability.starts_at, Unavailability.ends_at, start, end)
        )
        .first()
        .run()
    )
    if off:
        raise Conflict(
            f"{auditors[off['auditor']]['name']} is unavailable at that time.",
            code="auditor_unavailable",
        )
    await _check_free(ctx, ids, start, end, auditors)
    return auditors


async def _check_free(
    ctx: AuditContext,
    ids: Sequence[uuid.UUID],
    start: dt.datetime,
    end: dt.datetime,
    auditors: dict[uuid.UUID, dict[str, Any]],
) -> None:
    busy = (
        await AuditAssignment.select(AuditAssignment.auditor)
        .where(
            AuditAssignment.auditor.is_in(list(ids))
            & AuditAssignment.live.eq(True)
            & (AuditAssignment.audit != ctx.id)
            & _overlaps(AuditAssignment.starts_at, AuditAssignment.ends_at, start, end)
        )
        .first()
        .run()
    )
    if busy:
        raise Conflict(
            f"{auditors[busy['auditor']]['name']} is already booked at that time.",
            code="auditor_conflict",
        )


def _require_status(ctx: AuditContext, allowed: Iterable[str], doing: str) -> None:
    allowed = tuple(allowed)
    if ctx.status not in allowed:
        raise Conflict(
            f"Cannot {doing} an audit that is {ctx.status} (it must be {' or '.join(allowed)}).",
            code="invalid_state",
        )


async def _record(
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


async def _release(audit_id: uuid.UUID) -> list[uuid.UUID]:
    """Release the audit's live team; returns the released assignments' ids."""
    rows = await (
        AuditAssignment.update({AuditAssignment.live: False, AuditAssignment.status: "released"})
        .where((AuditAssignment.audit == audit_id) & AuditAssignment.live.eq(True))
        .returning(AuditAssignment.id)
        .run()
    )
    return [as_uuid(r["id"]) for r in rows]


async def _assign(
    audit_id: uuid.UUID,
    team: Sequence[TeamMember],
    start: dt.datetime,
    end: dt.datetime,
    status: str = "active",
) -> None:
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


async def _book(
    audit_id: uuid.UUID,
    actor_id: uuid.UUID | None,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    time_zone: str | None,
    team: Sequence[TeamMember] | None,
    mode: str | None,
    allowed: tuple[str, ...],
    action: str,
    reason: str = "",
) -> None:
    """Check every rule and write the team's assignments in one write transaction."""
    try:
        async with write_transaction():
            # Concurrent moves of one audit queue here: each reads the team the previous one left.
            await lock_row(Audit, audit_id)
            # Re-read inside the transaction: the status may have moved since the caller looked.
            ctx = await audit_context(audit_id)
            _require_status(ctx, allowed, "propose dates for" if team else "reschedule")
            tz_name = time_zone or ctx.time_zone
            tz = zone(tz_name)
            start, end = checked_span(starts_at, ends_at, tz)
            members = list(team) if team is not None else await _current_team(audit_id)
            if team is None and not members:
                raise Conflict("This audit has no team to reschedule.", code="no_lead")
            first_day, _ = local_dates(start, end, tz)
            _check_window(ctx, start, end, tz)
            await _check_team(ctx, members, start, end, first_day)
            await _release(audit_id)
            await _assign(audit_id, members, start, end)
            sequence = ctx.sequence + (1 if action == "rescheduled" else 0)
            await (
                Audit.update(
                    {
                        Audit.status: "proposed",
                        Audit.starts_at: start,
                        Audit.ends_at: end,
                        Audit.time_zone: tz_name,
                        Audit.mode: mode or ctx.mode,
                        Audit.sequence: sequence,
                        Audit.requested_starts_at: None,
                        Audit.requested_ends_at: None,
                        Audit.updated_at: clock.now(),
                    }
                )
                .where(Audit.id == audit_id)
                .run()
            )
            await _record(ctx, actor_id, action, "proposed", sequence, start, end, reason)
    except Exception as exc:
        if _exclusion_violation(exc):
            # Another booking committed between our check and our insert (PostgreSQL).
            raise Conflict(
                "An auditor on this team was booked for an overlapping time a moment ago.",
                code="auditor_conflict",
            ) from None
        raise


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
    await _book(
        audit_id,
        actor_id,
        starts_at,
        ends_at,
        time_zone,
        team,
        mode,
        ("planned", "requested", "cancelled"),
        "proposed",
    )


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
    await _book(
        audit_id,
        actor_id,
        starts_at,
        ends_at,
        time_zone,
        None,
        None,
        ("proposed", "confirmed"),
        "rescheduled",
        reason,
    )


async def confirm_audit(audit_id: uuid.UUID, actor_id: uuid.UUID | None) -> None:
    """The client accepts the proposed dates and team (ISO/IEC 17021-1 9.2.3: the audit plan is
    communicated to and agreed with the client)."""
    async with write_transaction():
        await lock_row(Audit, audit_id)
        ctx = await audit_context(audit_id)
        _require_status(ctx, ("proposed",), "confirm")
        await (
            Audit.update({Audit.status: "confirmed", Audit.updated_at: clock.now()})
            .where(Audit.id == audit_id)
            .run()
        )
        await _record(
            ctx, actor_id, "confirmed", "confirmed", ctx.sequence, ctx.starts_at, ctx.ends_at
        )


async def cancel_audit(audit_id: uuid.UUID, actor_id: uuid.UUID | None, reason: str) -> None:
    """The body cancels a booking with a reason; the team is released, the history kept.

    The cycle's frequencies (ISO/IEC 17021-1 9.1.3) still apply: the audit must be planned
    again inside its window, so a cancelled audit can be proposed anew.
    """
    if not reason.strip():
        raise Invalid.field("reason", "Give a reason for cancelling.")
    async with write_transaction():
        await lock_row(Audit, audit_id)
        ctx = await audit_context(audit_id)
        _require_status(ctx, ("planned", "requested", "proposed", "confirmed"), "cancel")
        released = await _release(audit_id)
        sequence = ctx.sequence + 1
        await (
            Audit.update(
                {
                    Audit.status: "cancelled",
                    Audit.sequence: sequence,
                    Audit.cancel_reason: reason,
                    Audit.requested_starts_at: None,
                    Audit.requested_ends_at: None,
                    Audit.updated_at: clock.now(),
                }
            )
            .where(Audit.id == audit_id)
            .run()
        )
        # The e-mail of the cancellation goes to the team just released: name it exactly.
        await _record(
            ctx,
            actor_id,
            "cancelled",
            "cancelled",
            sequence,
            reason=reason,
            released=released,
        )


async def complete_audit(audit_id: uuid.UUID, actor_id: uuid.UUID | None) -> None:
    """Record that a confirmed audit took place; completing stage 1 opens stage 2's window.

    ISO/IEC 17021-1 9.3.1.2: stage 2 follows stage 1 (its window runs 6 months, after which
    stage 1 is treated as stale). The body may record completion early, so no clock check.
    """
    async with write_transaction():
        await lock_row(Audit, audit_id)
        ctx = await audit_context(audit_id)
        _require_status(ctx, ("confirmed",), "complete")
        # A confirmed audit always has its times.
        assert ctx.starts_at is not None
        assert ctx.ends_at is not None
        tz = zone(ctx.time_zone)
        first_day, last_day = local_dates(ctx.starts_at, ctx.ends_at, tz)
        await (
            Audit.update(
                {
                    Audit.status: "completed",
                    Audit.completed_on: last_day,
                    Audit.updated_at: clock.now(),
                }
            )
            .where(Audit.id == audit_id)
            .run()
        )
        if ctx.kind == AuditKind.stage1.value:
            opens = ctx.window.opens if ctx.window else first_day
            stage2 = initial_windows(min(opens, first_day), stage1_end=last_day)[AuditKind.stage2]
            await (
                Audit.update({Audit.window_start: stage2.opens, Audit.window_end: stage2.due})
                .where(
                    (Audit.cycle == ctx.cycle_id)
                    & (Audit.kind == AuditKind.stage2.value)
                    & (Audit.status != "completed")
                )
                .run()
            )
        await _record(
            ctx, actor_id, "completed", "completed", ctx.sequence, ctx.starts_at, ctx.ends_at
        )


# --- slot finder and self-service ---------------------------------------------------------------


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


MAX_SLOT_DAYS = 20
SLOT_HORIZON_DAYS = 21


async def find_slots(ctx: AuditContext, days: int, limit: int = 10) -> list[dict[str, Any]]:
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
) -> list[dict[str, Any]]:
    slots: list[dict[str, Any]] = []
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
                slots.append({"starts_at": start, "ends_at": end, "auditor_ids": free})
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
            await lock_row(Audit, audit_id)
            ctx = await audit_context(audit_id)
            if not (await get_settings(ctx.body_id))["self_service_booking"]:
                raise Conflict(
                    "This body books audits itself; ask it to propose dates.",
                    code="self_service_disabled",
                )
            _require_status(ctx, ("planned", "cancelled"), "request a slot for")
            tz = zone(ctx.site_time_zone)
            start, end = checked_span(starts_at, ends_at, tz)
            _check_window(ctx, start, end, tz)
            first_day, _ = local_dates(start, end, tz)
            calendar = await _lead_calendar(ctx, start, end)
            free = calendar.free_leads(start, end, first_day)
            if not free:
                raise Conflict(
                    "That slot is no longer available; choose another offered slot.",
                    code="slot_taken",
                )
            await _release(audit_id)
            await _assign(audit_id, [TeamMember(free[0], "lead")], start, end, status="held")
            await (
                Audit.update(
                    {
                        Audit.status: "requested",
                        Audit.requested_starts_at: start,
                        Audit.requested_ends_at: end,
                        Audit.time_zone: ctx.site_time_zone,
                        Audit.updated_at: clock.now(),
                    }
                )
                .where(Audit.id == audit_id)
                .run()
            )
            await _record(ctx, actor_id, "requested", "requested", ctx.sequence, start, end)
    except Exception as exc:
        if _exclusion_violation(exc):
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
        await lock_row(Audit, audit_id)
        ctx = await audit_context(audit_id)
        _require_status(ctx, ("requested",), "decline a request for")
        await _release(audit_id)
        await (
            Audit.update(
                {
                    Audit.status: "planned",
                    Audit.requested_starts_at: None,
                    Audit.requested_ends_at: None,
                    Audit.updated_at: clock.now(),
                }
            )
            .where(Audit.id == audit_id)
            .run()
        )
        await _record(ctx, actor_id, "declined", "planned", ctx.sequence, reason=reason)


# --- lists for pages ---------------------------------------------------------------------------

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


async def _with_states_and_leads(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
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
    else:
        lead_of = {}
    for r in rows:
        window = (
            Window(r["window_start"], r["window_end"])
            if r["window_start"] and r["window_end"]
            else None
        )
        r["window_state"] = _state(window, r["completed_on"], r["status"])
        r["lead_name"] = lead_of.get(r["id"], "")
    return rows


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
) -> list[dict[str, Any]]:
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
    return await _with_states_and_leads(rows)


async def client_programme(organisation_id: uuid.UUID) -> list[dict[str, Any]]:
    """Every audit of the client's engagements, ordered as the programme runs."""
    rows = (
        await Audit.select(*_BOARD_COLUMNS)
        .where(Audit.cycle._.engagement._.organisation == organisation_id)
        .limit(BOARD_LIMIT)
        .run()
    )
    order = {k.value: i for i, k in enumerate(AuditKind)}
    rows.sort(
        key=lambda r: (
            r["standard"],
            str(r["cycle_id"]),
            order.get(r["kind"], 99),
        )
    )
    return await _with_states_and_leads(rows)


async def auditor_agenda(auditor_id: uuid.UUID) -> list[dict[str, Any]]:
    """An auditor's live assignments, soonest first, with the audit they belong to (two queries)."""
    rows: list[dict[str, Any]] = (
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
        return rows
    audits = {
        a["id"]: a
        for a in await Audit.select(*_BOARD_COLUMNS)
        .where(Audit.id.is_in([r["audit_id"] for r in rows]))
        .run()
    }
    for r in rows:
        audit = audits[r["audit_id"]]
        r |= {
            "kind": audit["kind"],
            "audit_status": audit["status"],
            "time_zone": audit["time_zone"],
            "organisation_name": audit["organisation_name"],
            "standard": audit["standard"],
        }
    return rows


@functools.cache
def zone_names() -> list[str]:
    """IANA zones for a form's picker (read once: the zone database is many small files)."""
    return sorted(z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith("Etc"))


AUDIT_STATUSES = ("planned", "requested", "proposed", "confirmed", "completed", "cancelled")
