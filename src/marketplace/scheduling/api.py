"""JSON API of scheduling: auditors, cycles, audits, the slot finder and the booking flow."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from litestar import Controller, Request, get, post, put
from litestar.params import JSONBody, Parameter

from marketplace.accounts.guards import principal_of, requires_login
from marketplace.scheduling import auditors, board, booking, engagements, slots
from marketplace.scheduling.schemas import (
    AuditorIn,
    AuditorOut,
    AuditOut,
    BoardAuditOut,
    BookingRequestIn,
    ConsultancyIn,
    ConsultancyOut,
    CycleOut,
    ProposalIn,
    QualificationIn,
    ReasonIn,
    RescheduleIn,
    SettingsIn,
    SettingsOut,
    SlotOut,
    UnavailabilityIn,
    UnavailabilityOut,
)
from marketplace.scheduling.slots import MAX_SLOT_DAYS

# Every handler parses, calls the one service of its action (which checks who may, writes and
# logs) and answers its Struct; the pages call the same services.


class BodySchedulingController(Controller):
    path = "/api/v1/bodies/{body_id:uuid}"
    tags = ["scheduling"]
    guards = [requires_login]

    @post(
        "/auditors",
        summary="Add an auditor with qualifications (owner, scheduler)",
        status_code=201,
    )
    async def add_auditor(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID, data: JSONBody[AuditorIn]
    ) -> AuditorOut:
        return await auditors.add_auditor(principal_of(request), body_id, data)

    @get("/auditors", summary="The body's auditors (body members)")
    async def auditors(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID
    ) -> list[AuditorOut]:
        return await auditors.body_auditors(principal_of(request), body_id)

    @get("/audits", summary="The planning board: the body's audits by due window (body members)")
    async def audits(
        self,
        request: Request[Any, Any, Any],
        body_id: uuid.UUID,
        auditor_id: uuid.UUID | None = None,
        status: str | None = Parameter(default=None, max_length=20),
        kind: str | None = Parameter(default=None, max_length=20),
        opens_by: dt.date | None = None,
        due_by: dt.date | None = None,
        completed_from: dt.date | None = None,
        completed_to: dt.date | None = None,
    ) -> list[BoardAuditOut]:
        filters = board.BoardFilters(kind, opens_by, due_by, completed_from, completed_to)
        return await board.read_board(principal_of(request), body_id, auditor_id, status, filters)

    @get("/scheduling-settings", summary="Whether clients may book offered slots (body members)")
    async def settings(self, request: Request[Any, Any, Any], body_id: uuid.UUID) -> SettingsOut:
        return await auditors.read_settings(principal_of(request), body_id)

    @put("/scheduling-settings", summary="Allow or stop client self-service booking (owner)")
    async def set_settings(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID, data: JSONBody[SettingsIn]
    ) -> SettingsOut:
        return await auditors.change_settings(principal_of(request), body_id, data)


class AuditorController(Controller):
    path = "/api/v1/auditors/{auditor_id:uuid}"
    tags = ["scheduling"]
    guards = [requires_login]

    @get("", summary="An auditor with qualifications (body members)")
    async def read(self, request: Request[Any, Any, Any], auditor_id: uuid.UUID) -> AuditorOut:
        return await auditors.read_auditor(principal_of(request), auditor_id)

    @post("/unavailability", summary="Record time off (owner, scheduler)", status_code=201)
    async def unavailability(
        self,
        request: Request[Any, Any, Any],
        auditor_id: uuid.UUID,
        data: JSONBody[UnavailabilityIn],
    ) -> UnavailabilityOut:
        return await auditors.record_time_off(principal_of(request), auditor_id, data)

    @post(
        "/consultancy",
        summary="Declare consultancy for a client (owner, scheduler)",
        status_code=201,
    )
    async def consultancy(
        self, request: Request[Any, Any, Any], auditor_id: uuid.UUID, data: JSONBody[ConsultancyIn]
    ) -> ConsultancyOut:
        return await auditors.declare_consultancy(principal_of(request), auditor_id, data)

    @post("/qualifications", summary="Add a qualification (owner, scheduler)", status_code=201)
    async def qualification(
        self,
        request: Request[Any, Any, Any],
        auditor_id: uuid.UUID,
        data: JSONBody[QualificationIn],
    ) -> AuditorOut:
        return await auditors.qualify(principal_of(request), auditor_id, data)


class CycleController(Controller):
    path = "/api/v1/cycles"
    tags = ["scheduling"]
    guards = [requires_login]

    @get("/{cycle_id:uuid}", summary="A certification cycle and its audits' windows")
    async def read(self, request: Request[Any, Any, Any], cycle_id: uuid.UUID) -> CycleOut:
        return await engagements.read_cycle(principal_of(request), cycle_id)


class AuditController(Controller):
    path = "/api/v1/audits/{audit_id:uuid}"
    tags = ["scheduling"]
    guards = [requires_login]

    @get("", summary="The audit with team, sites, sequence and history")
    async def read(self, request: Request[Any, Any, Any], audit_id: uuid.UUID) -> AuditOut:
        return await booking.read_audit(principal_of(request), audit_id)

    @get("/slots", summary="Earliest feasible slots inside the window")
    async def slots(
        self,
        request: Request[Any, Any, Any],
        audit_id: uuid.UUID,
        days: int = Parameter(default=1, ge=1, le=MAX_SLOT_DAYS),
    ) -> list[SlotOut]:
        return await slots.offered_slots(principal_of(request), audit_id, days)

    @post("/proposal", summary="Propose dates and a team (owner, scheduler)", status_code=200)
    async def proposal(
        self, request: Request[Any, Any, Any], audit_id: uuid.UUID, data: JSONBody[ProposalIn]
    ) -> AuditOut:
        p = principal_of(request)
        await booking.propose(p, audit_id, data)
        return await booking.read_audit(p, audit_id)

    @post("/booking-request", summary="Request an offered slot (client)", status_code=201)
    async def booking_request(
        self, request: Request[Any, Any, Any], audit_id: uuid.UUID, data: JSONBody[BookingRequestIn]
    ) -> AuditOut:
        p = principal_of(request)
        await slots.request_slot(p, audit_id, data)
        return await booking.read_audit(p, audit_id)

    @post(
        "/booking-request/decline",
        summary="Decline a client's booking request (owner, scheduler)",
        status_code=200,
    )
    async def decline(
        self, request: Request[Any, Any, Any], audit_id: uuid.UUID, data: JSONBody[ReasonIn]
    ) -> AuditOut:
        p = principal_of(request)
        await slots.decline(p, audit_id, data)
        return await booking.read_audit(p, audit_id)

    @post("/confirm", summary="The client confirms the proposed dates", status_code=200)
    async def confirm(self, request: Request[Any, Any, Any], audit_id: uuid.UUID) -> AuditOut:
        p = principal_of(request)
        await booking.confirm(p, audit_id)
        return await booking.read_audit(p, audit_id)

    @post("/reschedule", summary="Move the audit (client or body)", status_code=200)
    async def reschedule(
        self, request: Request[Any, Any, Any], audit_id: uuid.UUID, data: JSONBody[RescheduleIn]
    ) -> AuditOut:
        p = principal_of(request)
        await booking.reschedule(p, audit_id, data)
        return await booking.read_audit(p, audit_id)

    @post("/cancel", summary="Cancel with a reason (owner, scheduler)", status_code=200)
    async def cancel(
        self, request: Request[Any, Any, Any], audit_id: uuid.UUID, data: JSONBody[ReasonIn]
    ) -> AuditOut:
        p = principal_of(request)
        await booking.cancel(p, audit_id, data)
        return await booking.read_audit(p, audit_id)

    @post("/complete", summary="Record a confirmed audit as held (body)", status_code=200)
    async def complete(self, request: Request[Any, Any, Any], audit_id: uuid.UUID) -> AuditOut:
        p = principal_of(request)
        await booking.complete(p, audit_id)
        return await booking.read_audit(p, audit_id)


API_CONTROLLERS = [BodySchedulingController, AuditorController, CycleController, AuditController]
