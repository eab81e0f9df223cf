"""Auditors and what the booking rules read of them: qualifications, time off, consultancy, and
each body's scheduling settings; with the services the API and the pages call to change them."""

from __future__ import annotations

import datetime as dt
import functools
import uuid
import zoneinfo
from collections.abc import Sequence
from typing import Any

import msgspec

from marketplace.accounts.guards import Principal, require_role
from marketplace.accounts.roles import TenantKind
from marketplace.accounts.tables import Membership, Organisation
from marketplace.core.activity import Tenant, log_action
from marketplace.core.db import write_transaction
from marketplace.core.errors import Invalid, NotFound
from marketplace.reference.tables import Standard
from marketplace.scheduling.context import BODY_ALL, BODY_PLANNERS
from marketplace.scheduling.schemas import (
    AuditorIn,
    AuditorOut,
    ConsultancyIn,
    ConsultancyOut,
    QualificationIn,
    QualificationOut,
    SettingsIn,
    SettingsOut,
    UnavailabilityIn,
    UnavailabilityOut,
)
from marketplace.scheduling.spans import to_utc, zone
from marketplace.scheduling.tables import (
    Auditor,
    ConsultancyDeclaration,
    Qualification,
    SchedulingSettings,
    Unavailability,
)

NO_BODY = "No such certification body."
NO_AUDITOR = "No such auditor."
# Time off is recorded a year at a time; the slot finder reads back no further than this.
MAX_TIME_OFF_DAYS = 366


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


async def get_auditor(auditor_id: uuid.UUID) -> AuditorOut:
    """An auditor with qualifications, ordered by standard and sector."""
    row = await Auditor.select().where(Auditor.id == auditor_id).first().run()
    if row is None:
        raise NotFound(NO_AUDITOR)
    quals = (
        await Qualification.select(Qualification.standard, Qualification.iaf_sector)
        .where(Qualification.auditor == auditor_id)
        .order_by(Qualification.standard)
        .order_by(Qualification.iaf_sector)
        .run()
    )
    return _auditor_out({**row, "qualifications": quals})


def _auditor_out(row: dict[str, Any]) -> AuditorOut:
    return AuditorOut(
        id=row["id"],
        body_id=row["body"],
        name=row["name"],
        email=row["email"],
        time_zone=row["time_zone"],
        lead=row["lead"],
        active=row["active"],
        user_id=row["user"],
        qualifications=[
            QualificationOut(q["standard"], q["iaf_sector"]) for q in row["qualifications"]
        ],
    )


async def auditor_body(auditor_id: uuid.UUID) -> uuid.UUID:
    row = await Auditor.select(Auditor.body).where(Auditor.id == auditor_id).first().run()
    if row is None:
        raise NotFound(NO_AUDITOR)
    body: uuid.UUID = row["body"]
    return body


async def list_auditors(body_id: uuid.UUID) -> list[AuditorOut]:
    """The body's auditors with qualifications, in two queries (for the API and the pickers)."""
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
        _auditor_out(
            {
                **a,
                "qualifications": sorted(
                    by_auditor.get(a["id"], []), key=lambda q: (q["standard"], q["iaf_sector"])
                ),
            }
        )
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
) -> UnavailabilityOut:
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
        raise NotFound(NO_AUDITOR)
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
    return UnavailabilityOut(item.id, auditor_id, start, end, item.reason)


async def add_consultancy(
    actor_id: uuid.UUID | None, auditor_id: uuid.UUID, organisation_id: uuid.UUID, ended_on: dt.date
) -> ConsultancyOut:
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
    return ConsultancyOut(declaration_id, auditor_id, organisation_id, ended_on)


async def auditor_time_off(auditor_id: uuid.UUID) -> list[UnavailabilityOut]:
    rows = (
        await Unavailability.select()
        .where(Unavailability.auditor == auditor_id)
        .order_by(Unavailability.starts_at)
        .run()
    )
    return [
        UnavailabilityOut(r["id"], auditor_id, r["starts_at"], r["ends_at"], r["reason"])
        for r in rows
    ]


async def get_settings(body_id: uuid.UUID) -> SettingsOut:
    row = await SchedulingSettings.select().where(SchedulingSettings.body == body_id).first().run()
    return SettingsOut(body_id, bool(row and row["self_service_booking"]))


async def set_settings(
    actor_id: uuid.UUID | None, body_id: uuid.UUID, self_service_booking: bool
) -> SettingsOut:
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
    return SettingsOut(body_id, self_service_booking)


@functools.cache
def zone_names() -> list[str]:
    """IANA zones for a form's picker (read once: the zone database is many small files)."""
    return sorted(z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith("Etc"))


# --- the API's and the pages' way in: who may, then the change ------------------------------


async def auditor_access(
    principal: Principal,
    auditor_id: uuid.UUID,
    roles: frozenset[str],
    body_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """The auditor's body, when the caller holds one of ``roles`` in it (404 to strangers).

    A page names the body in its address: the caller's roles there are checked first and the
    auditor must be one of that body's own. The API names only the auditor.
    """
    if body_id is not None:
        require_role(principal, TenantKind.body, body_id, roles, what=NO_BODY)
    actual = await auditor_body(auditor_id)
    if body_id is None:
        require_role(principal, TenantKind.body, actual, roles, what=NO_AUDITOR)
    elif actual != body_id:
        raise NotFound(NO_AUDITOR)
    return actual


async def add_auditor(principal: Principal, body_id: uuid.UUID, data: AuditorIn) -> AuditorOut:
    """A body's owner or scheduler adds an auditor (see create_auditor)."""
    require_role(principal, TenantKind.body, body_id, BODY_PLANNERS, what=NO_BODY)
    auditor_id = await create_auditor(principal.user_id, body_id, msgspec.to_builtins(data))
    return await get_auditor(auditor_id)


async def body_auditors(principal: Principal, body_id: uuid.UUID) -> list[AuditorOut]:
    """The body's auditors, for any member of the body."""
    require_role(principal, TenantKind.body, body_id, BODY_ALL, what=NO_BODY)
    return await list_auditors(body_id)


async def read_auditor(principal: Principal, auditor_id: uuid.UUID) -> AuditorOut:
    """An auditor with qualifications, for any member of the auditor's body."""
    await auditor_access(principal, auditor_id, BODY_ALL)
    return await get_auditor(auditor_id)


async def qualify(
    principal: Principal,
    auditor_id: uuid.UUID,
    data: QualificationIn,
    body_id: uuid.UUID | None = None,
) -> AuditorOut:
    """A planner records one more competence (see add_qualification)."""
    await auditor_access(principal, auditor_id, BODY_PLANNERS, body_id)
    await add_qualification(principal.user_id, auditor_id, data.standard, data.iaf_sector)
    return await get_auditor(auditor_id)


async def record_time_off(
    principal: Principal,
    auditor_id: uuid.UUID,
    data: UnavailabilityIn,
    body_id: uuid.UUID | None = None,
) -> UnavailabilityOut:
    """A planner records an auditor's time off (see add_unavailability)."""
    await auditor_access(principal, auditor_id, BODY_PLANNERS, body_id)
    return await add_unavailability(principal.user_id, auditor_id, msgspec.structs.asdict(data))


async def declare_consultancy(
    principal: Principal,
    auditor_id: uuid.UUID,
    data: ConsultancyIn,
    body_id: uuid.UUID | None = None,
) -> ConsultancyOut:
    """A planner declares consultancy an auditor gave a client (see add_consultancy)."""
    await auditor_access(principal, auditor_id, BODY_PLANNERS, body_id)
    return await add_consultancy(principal.user_id, auditor_id, data.organisation_id, data.ended_on)


async def read_settings(principal: Principal, body_id: uuid.UUID) -> SettingsOut:
    """Whether clients may book offered slots, for any member of the body."""
    require_role(principal, TenantKind.body, body_id, BODY_ALL, what=NO_BODY)
    return await get_settings(body_id)


async def change_settings(
    principal: Principal, body_id: uuid.UUID, data: SettingsIn
) -> SettingsOut:
    """Only the body's owner turns client self-service booking on or off (see set_settings)."""
    require_role(principal, TenantKind.body, body_id, {"owner"}, what=NO_BODY)
    return await set_settings(principal.user_id, body_id, data.self_service_booking)
