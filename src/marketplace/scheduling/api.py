"""JSON API of scheduling: auditors, cycles, audits, the slot finder and the booking flow."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.params import JSONBody, Parameter

from marketplace.accounts.guards import Principal, principal_of, require_role, requires_login
from marketplace.accounts.roles import TenantKind
from marketplace.core.errors import Conflict
from marketplace.scheduling import services
from marketplace.scheduling.context import (
    BODY_ALL,
    BODY_PLANNERS,
    CLIENT_ALL,
    CLIENT_BOOKERS,
    NO_ROLES,
    AuditContext,
    audit_context,
    check_access,
)
from marketplace.scheduling.schemas import (
    AuditorIn,
    AuditorOut,
    AuditOut,
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
from marketplace.scheduling.services import TeamMember

NO_BODY = "No such certification body."
NO_AUDITOR = "No such auditor."


async def _audit_out(principal: Principal, audit_id: uuid.UUID) -> AuditOut:
    ctx = await audit_context(audit_id)
    side = check_access(
        principal, ctx.organisation_id, ctx.body_id, client=CLIENT_ALL, body=BODY_ALL
    )
    # While a request waits, the held lead is the body's business, not the client's.
    show_team = side == "body" or ctx.status != "requested"
    return msgspec.convert(
        await services.get_audit(ctx, show_team=show_team), AuditOut, strict=False
    )


async def _access(
    principal: Principal,
    audit_id: uuid.UUID,
    client: frozenset[str] = NO_ROLES,
    body: frozenset[str] = NO_ROLES,
) -> tuple[AuditContext, str]:
    ctx = await audit_context(audit_id)
    return ctx, check_access(principal, ctx.organisation_id, ctx.body_id, client=client, body=body)


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
        p = principal_of(request)
        require_role(p, TenantKind.body, body_id, BODY_PLANNERS, what=NO_BODY)
        auditor_id = await services.create_auditor(p.user_id, body_id, msgspec.to_builtins(data))
        return msgspec.convert(await services.get_auditor(auditor_id), AuditorOut, strict=False)

    @get("/auditors", summary="The body's auditors (body members)")
    async def auditors(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID
    ) -> list[AuditorOut]:
        require_role(principal_of(request), TenantKind.body, body_id, BODY_ALL, what=NO_BODY)
        return msgspec.convert(
            await services.list_auditors(body_id), list[AuditorOut], strict=False
        )

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
    ) -> list[dict[str, Any]]:
        require_role(principal_of(request), TenantKind.body, body_id, BODY_ALL, what=NO_BODY)
        rows = await services.planning_board(
            body_id,
            auditor_id,
            status,
            kind=kind,
            opens_by=opens_by,
            due_by=due_by,
            completed_from=completed_from,
            completed_to=completed_to,
        )
        return [msgspec.to_builtins(r) for r in rows]

    @get("/scheduling-settings", summary="Whether clients may book offered slots (body members)")
    async def settings(self, request: Request[Any, Any, Any], body_id: uuid.UUID) -> SettingsOut:
        require_role(principal_of(request), TenantKind.body, body_id, BODY_ALL, what=NO_BODY)
        return msgspec.convert(await services.get_settings(body_id), SettingsOut)

    @put("/scheduling-settings", summary="Allow or stop client self-service booking (owner)")
    async def set_settings(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID, data: JSONBody[SettingsIn]
    ) -> SettingsOut:
        p = principal_of(request)
        require_role(p, TenantKind.body, body_id, {"owner"}, what=NO_BODY)
        result = await services.set_settings(p.user_id, body_id, data.self_service_booking)
        return msgspec.convert(result, SettingsOut)


class AuditorController(Controller):
    path = "/api/v1/auditors/{auditor_id:uuid}"
    tags = ["scheduling"]
    guards = [requires_login]

    async def _body(
        self, request: Request[Any, Any, Any], auditor_id: uuid.UUID, roles: frozenset[str]
    ) -> Principal:
        p = principal_of(request)
        body_id = await services.auditor_body(auditor_id)
        require_role(p, TenantKind.body, body_id, roles, what=NO_AUDITOR)
        return p

    @get("", summary="An auditor with qualifications (body members)")
    async def read(self, request: Request[Any, Any, Any], auditor_id: uuid.UUID) -> AuditorOut:
        await self._body(request, auditor_id, BODY_ALL)
        return msgspec.convert(await services.get_auditor(auditor_id), AuditorOut, strict=False)

    @post("/unavailability", summary="Record time off (owner, scheduler)", status_code=201)
    async def unavailability(
        self,
        request: Request[Any, Any, Any],
        auditor_id: uuid.UUID,
        data: JSONBody[UnavailabilityIn],
    ) -> UnavailabilityOut:
        p = await self._body(request, auditor_id, BODY_PLANNERS)
        row = await services.add_unavailability(p.user_id, auditor_id, msgspec.structs.asdict(data))
        return msgspec.convert(row, UnavailabilityOut)

    @post(
        "/consultancy",
        summary="Declare consultancy for a client (owner, scheduler)",
        status_code=201,
    )
    async def consultancy(
        self, request: Request[Any, Any, Any], auditor_id: uuid.UUID, data: JSONBody[ConsultancyIn]
    ) -> ConsultancyOut:
        p = await self._body(request, auditor_id, BODY_PLANNERS)
        row = await services.add_consultancy(
            p.user_id, auditor_id, data.organisation_id, data.ended_on
        )
        return msgspec.convert(row, ConsultancyOut)

    @post("/qualifications", summary="Add a qualification (owner, scheduler)", status_code=201)
    async def qualification(
        self,
        request: Request[Any, Any, Any],
        auditor_id: uuid.UUID,
        data: JSONBody[QualificationIn],
    ) -> AuditorOut:
        p = await self._body(request, auditor_id, BODY_PLANNERS)
        await services.add_qualification(p.user_id, auditor_id, data.standard, data.iaf_sector)
        return msgspec.convert(await services.get_auditor(auditor_id), AuditorOut, strict=False)


class CycleController(Controller):
    path = "/api/v1/cycles"
    tags = ["scheduling"]
    guards = [requires_login]

    @get("/{cycle_id:uuid}", summary="A certification cycle and its audits' windows")
    async def read(self, request: Request[Any, Any, Any], cycle_id: uuid.UUID) -> CycleOut:
        cycle = await services.get_cycle(cycle_id)
        check_access(
            principal_of(request),
            cycle["organisation_id"],
            cycle["body_id"],
            client=CLIENT_ALL,
            body=BODY_ALL,
            what="No such certification cycle.",
        )
        return msgspec.convert(cycle, CycleOut, strict=False)


class AuditController(Controller):
    path = "/api/v1/audits/{audit_id:uuid}"
    tags = ["scheduling"]
    guards = [requires_login]

    @get("", summary="The audit with team, sites, sequence and history")
    async def read(self, request: Request[Any, Any, Any], audit_id: uuid.UUID) -> AuditOut:
        return await _audit_out(principal_of(request), audit_id)

    @get("/slots", summary="Earliest feasible slots inside the window")
    async def slots(
        self,
        request: Request[Any, Any, Any],
        audit_id: uuid.UUID,
        days: int = Parameter(default=1, ge=1, le=services.MAX_SLOT_DAYS),
    ) -> list[SlotOut]:
        p = principal_of(request)
        ctx, side = await _access(p, audit_id, client=CLIENT_BOOKERS, body=BODY_PLANNERS)
        if (
            side == "client"
            and not (await services.get_settings(ctx.body_id))["self_service_booking"]
        ):
            raise Conflict(
                "This body books audits itself; ask it to propose dates.",
                code="self_service_disabled",
            )
        slots = await services.find_slots(ctx, days)
        if side == "client":
            # Clients see when, never who: the auditors' calendars stay private.
            slots = [{**s, "auditor_ids": []} for s in slots]
        return msgspec.convert(slots, list[SlotOut])

    @post("/proposal", summary="Propose dates and a team (owner, scheduler)", status_code=200)
    async def proposal(
        self, request: Request[Any, Any, Any], audit_id: uuid.UUID, data: JSONBody[ProposalIn]
    ) -> AuditOut:
        p = principal_of(request)
        await _access(p, audit_id, body=BODY_PLANNERS)
        await services.propose_audit(
            audit_id,
            p.user_id,
            starts_at=data.starts_at,
            ends_at=data.ends_at,
            time_zone=data.time_zone,
            team=[TeamMember(m.auditor_id, m.role) for m in data.team],
            mode=data.mode,
        )
        return await _audit_out(p, audit_id)

    @post("/booking-request", summary="Request an offered slot (client)", status_code=201)
    async def booking_request(
        self, request: Request[Any, Any, Any], audit_id: uuid.UUID, data: JSONBody[BookingRequestIn]
    ) -> AuditOut:
        p = principal_of(request)
        await _access(p, audit_id, client=CLIENT_BOOKERS)
        await services.request_booking(audit_id, p.user_id, data.starts_at, data.ends_at)
        return await _audit_out(p, audit_id)

    @post(
        "/booking-request/decline",
        summary="Decline a client's booking request (owner, scheduler)",
        status_code=200,
    )
    async def decline(
        self, request: Request[Any, Any, Any], audit_id: uuid.UUID, data: JSONBody[ReasonIn]
    ) -> AuditOut:
        p = principal_of(request)
        await _access(p, audit_id, body=BODY_PLANNERS)
        await services.decline_request(audit_id, p.user_id, data.reason)
        return await _audit_out(p, audit_id)

    @post("/confirm", summary="The client confirms the proposed dates", status_code=200)
    async def confirm(self, request: Request[Any, Any, Any], audit_id: uuid.UUID) -> AuditOut:
        p = principal_of(request)
        await _access(p, audit_id, client=CLIENT_BOOKERS)
        await services.confirm_audit(audit_id, p.user_id)
        return await _audit_out(p, audit_id)

    @post("/reschedule", summary="Move the audit (client or body)", status_code=200)
    async def reschedule(
        self, request: Request[Any, Any, Any], audit_id: uuid.UUID, data: JSONBody[RescheduleIn]
    ) -> AuditOut:
        p = principal_of(request)
        await _access(p, audit_id, client=CLIENT_BOOKERS, body=BODY_PLANNERS)
        await services.reschedule_audit(
            audit_id,
            p.user_id,
            starts_at=data.starts_at,
            ends_at=data.ends_at,
            reason=data.reason,
            time_zone=data.time_zone,
        )
        return await _audit_out(p, audit_id)

    @post("/cancel", summary="Cancel with a reason (owner, scheduler)", status_code=200)
    async def cancel(
        self, request: Request[Any, Any, Any], audit_id: uuid.UUID, data: JSONBody[ReasonIn]
    ) -> AuditOut:
        p = principal_of(request)
        await _access(p, audit_id, body=BODY_PLANNERS)
        await services.cancel_audit(audit_id, p.user_id, data.reason)
        return await _audit_out(p, audit_id)

    @post("/complete", summary="Record a confirmed audit as held (body)", status_code=200)
    async def complete(self, request: Request[Any, Any, Any], audit_id: uuid.UUID) -> AuditOut:
        p = principal_of(request)
        await _access(p, audit_id, body=BODY_PLANNERS | {"auditor"})
        await services.complete_audit(audit_id, p.user_id)
        return await _audit_out(p, audit_id)


API_CONTROLLERS = [BodySchedulingController, AuditorController, CycleController, AuditController]
