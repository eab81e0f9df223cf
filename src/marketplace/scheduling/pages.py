"""HTML pages of scheduling: planning board, auditors, agenda, the client's programme, booking flows."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from litestar.response import Redirect, Template

from marketplace.accounts.guards import Principal, me, require_role, requires_login
from marketplace.accounts.roles import TenantKind
from marketplace.core import clock
from marketplace.core.errors import Conflict, DomainError
from marketplace.rules.audit_status import AuditAction
from marketplace.scheduling import auditors, board, booking, slots
from marketplace.scheduling.context import ACTORS, BODY_PLANNERS, AuditContext, audit_access
from marketplace.scheduling.schemas import (
    AuditorIn,
    BoardAuditOut,
    BookingRequestIn,
    ConsultancyIn,
    ProposalIn,
    QualificationIn,
    ReasonIn,
    RescheduleIn,
    SettingsIn,
    UnavailabilityIn,
)
from marketplace.web.forms import as_list, convert, errors_by_field, form_data


def _checked(value: Any) -> bool:
    """A checkbox's state: browsers send "on" for a bare checkbox, the shared macro "true"."""
    return value in ("on", "true")


def _local(value: Any) -> str:
    """A datetime-local field's value with seconds, as msgspec's ISO 8601 parser wants it."""
    text = str(value or "").strip()
    return text + ":00" if len(text) == 16 else text


def _back(path: str) -> Redirect:
    return Redirect(path, status_code=303)


# --- the forms, each read into the API's own Struct (one schema, one set of messages) ----------


def _auditor_in(data: dict[str, Any]) -> AuditorIn:
    qualifications = []
    if data.get("standard") and data.get("iaf_sector"):
        qualifications.append({"standard": data["standard"], "iaf_sector": data["iaf_sector"]})
    fields = {
        "name": data.get("name", ""),
        "email": data.get("email", ""),
        "time_zone": data.get("time_zone") or "UTC",
        "lead": _checked(data.get("lead")),
        "qualifications": qualifications,
    }
    result: AuditorIn = convert(fields, AuditorIn)
    return result


def _qualification_in(data: dict[str, Any]) -> QualificationIn:
    fields = {"standard": data.get("standard"), "iaf_sector": data.get("iaf_sector")}
    result: QualificationIn = convert(fields, QualificationIn)
    return result


def _time_off_in(data: dict[str, Any]) -> UnavailabilityIn:
    fields = {
        "starts_at": _local(data.get("starts_at")),
        "ends_at": _local(data.get("ends_at")),
        "reason": data.get("reason", ""),
    }
    result: UnavailabilityIn = convert(fields, UnavailabilityIn)
    return result


def _consultancy_in(data: dict[str, Any]) -> ConsultancyIn:
    fields = {"organisation_id": data.get("organisation_id"), "ended_on": data.get("ended_on")}
    result: ConsultancyIn = convert(fields, ConsultancyIn)
    return result


def _proposal_in(data: dict[str, Any], ctx: AuditContext) -> ProposalIn:
    team = [{"auditor_id": data["lead"], "role": "lead"}] if data.get("lead") else []
    for role, key in (("member", "members"), ("expert", "experts")):
        team += [{"auditor_id": v, "role": role} for v in as_list(data.get(key)) if v]
    fields = {
        "starts_at": _local(data.get("starts_at")),
        "ends_at": _local(data.get("ends_at")),
        "time_zone": data.get("time_zone") or ctx.site_time_zone,
        "mode": data.get("mode") or "onsite",
        "team": team,
    }
    result: ProposalIn = convert(fields, ProposalIn)
    return result


def _reschedule_in(data: dict[str, Any], ctx: AuditContext) -> RescheduleIn:
    # The page moves the audit in the zone it is booked in.
    fields = {
        "starts_at": _local(data.get("starts_at")),
        "ends_at": _local(data.get("ends_at")),
        "reason": data.get("reason", ""),
        "time_zone": ctx.time_zone,
    }
    result: RescheduleIn = convert(fields, RescheduleIn)
    return result


def _reason_in(data: dict[str, Any]) -> ReasonIn:
    result: ReasonIn = convert({"reason": data.get("reason", "")}, ReasonIn)
    return result


# --- the body's side ---------------------------------------------------------------------------

# An auditor form's work: read the form into the API's Struct and call the same service.
AuditorStep = Callable[[Principal, uuid.UUID, Any, dict[str, Any]], Awaitable[object]]


async def _add(p: Principal, body_id: uuid.UUID, _: None, data: dict[str, Any]) -> object:
    return await auditors.add_auditor(p, body_id, _auditor_in(data))


async def _qualify(p: Principal, body_id: uuid.UUID, a: uuid.UUID, data: dict[str, Any]) -> object:
    return await auditors.qualify(p, a, _qualification_in(data), body_id)


async def _time_off(p: Principal, body_id: uuid.UUID, a: uuid.UUID, data: dict[str, Any]) -> object:
    return await auditors.record_time_off(p, a, _time_off_in(data), body_id)


async def _consult(p: Principal, body_id: uuid.UUID, a: uuid.UUID, data: dict[str, Any]) -> object:
    return await auditors.declare_consultancy(p, a, _consultancy_in(data), body_id)


class PlanningPages(Controller):
    include_in_schema = False
    path = "/manage/bodies/{body_id:uuid}"
    guards = [requires_login]

    @get("/planning", dependencies={"filters": Provide(board.BoardFilters, sync_to_thread=False)})
    async def board(
        self,
        request: Request[Any, Any, Any],
        body_id: uuid.UUID,
        filters: board.BoardFilters,
        auditor: str | None = None,
        status: str | None = None,
    ) -> Template:
        # The board opens on what still needs planning; date and kind filters arrive from the
        # dashboards' links (no form field of their own) and are read as the API reads them.
        status = status or "open"
        view = await board.planning_view(me(request), body_id, auditor, status, filters)
        return Template(
            "scheduling/planning.html",
            context={
                "body_id": body_id,
                "role": view.role,
                "audits": view.audits,
                "auditors": view.auditors,
                "auditor_id": view.auditor_id,
                "status": status,
                "statuses": board.AUDIT_STATUSES,
                "today": clock.today(),
                "extra": filters.given(),
            },
        )

    @get("/auditors/{auditor_id:uuid}/agenda")
    async def agenda(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID, auditor_id: uuid.UUID
    ) -> Template:
        view = await board.agenda_view(me(request), body_id, auditor_id)
        return Template("scheduling/agenda.html", context={"body_id": body_id, **vars(view)})


async def _auditors_page(
    principal: Principal,
    body_id: uuid.UUID,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Template:
    view = await board.auditors_view(principal, body_id)
    return Template(
        "scheduling/auditors.html",
        context={
            "body_id": body_id,
            **vars(view),
            "errors": errors or {},
            "values": values or {},
            "notice": notice,
        },
        status_code=status_code,
    )


class AuditorPages(Controller):
    include_in_schema = False
    path = "/manage/bodies/{body_id:uuid}"
    guards = [requires_login]

    @get("/auditors")
    async def auditors(self, request: Request[Any, Any, Any], body_id: uuid.UUID) -> Template:
        return await _auditors_page(me(request), body_id)

    async def _auditor_form(
        self,
        request: Request[Any, Any, Any],
        body_id: uuid.UUID,
        auditor_id: uuid.UUID | None,
        step: AuditorStep,
        notice: str,
    ) -> Response[Any]:
        principal = me(request)
        # Who may is settled before the form is read: a stranger learns nothing from its errors.
        if auditor_id is None:
            require_role(principal, TenantKind.body, body_id, BODY_PLANNERS, what=auditors.NO_BODY)
        else:
            await auditors.auditor_access(principal, auditor_id, BODY_PLANNERS, body_id)
        data = await form_data(request)
        try:
            await step(principal, body_id, auditor_id, data)
        except DomainError as exc:
            return await _auditors_page(
                principal, body_id, errors_by_field(exc), values=data, status_code=exc.status_code
            )
        return await _auditors_page(principal, body_id, notice=notice)

    @post("/auditors")
    async def add_auditor(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID
    ) -> Response[Any]:
        return await self._auditor_form(request, body_id, None, _add, "Auditor added.")

    @post("/auditors/{auditor_id:uuid}/qualifications")
    async def add_qualification(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID, auditor_id: uuid.UUID
    ) -> Response[Any]:
        return await self._auditor_form(
            request, body_id, auditor_id, _qualify, "Qualification added."
        )

    @post("/auditors/{auditor_id:uuid}/unavailability")
    async def add_time_off(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID, auditor_id: uuid.UUID
    ) -> Response[Any]:
        return await self._auditor_form(
            request, body_id, auditor_id, _time_off, "Time off recorded."
        )

    @post("/auditors/{auditor_id:uuid}/consultancy")
    async def add_consultancy(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID, auditor_id: uuid.UUID
    ) -> Response[Any]:
        return await self._auditor_form(
            request, body_id, auditor_id, _consult, "Consultancy declared."
        )

    @post("/scheduling-settings")
    async def save_settings(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID
    ) -> Response[Any]:
        principal = me(request)
        data = await form_data(request)
        wanted = SettingsIn(self_service_booking=_checked(data.get("self_service_booking")))
        await auditors.change_settings(principal, body_id, wanted)
        return await _auditors_page(principal, body_id, notice="Settings saved.")


# --- the client's side -------------------------------------------------------------------------

# Timeline geometry for the programme's SVG: one row per audit, x scaled over the programme.
ROW_HEIGHT = 26
LABEL_WIDTH = 190
CHART_WIDTH = 760


def timeline(audits: list[BoardAuditOut], today: dt.date) -> dict[str, Any] | None:
    """Bars for each audit's window (and a dot for its date), laid out server-side."""
    dated = [(a, a.window_start, a.window_end) for a in audits if a.window_start and a.window_end]
    if not dated:
        return None
    first = min(opens for _, opens, _ in dated)
    last = max(due for _, _, due in dated)
    span = max((last - first).days, 1)
    scale = (CHART_WIDTH - LABEL_WIDTH - 10) / span

    def x(day: dt.date) -> float:
        return round(LABEL_WIDTH + (min(max(day, first), last) - first).days * scale, 1)

    rows = []
    for i, (a, opens, due) in enumerate(dated):
        start = a.starts_at.date() if a.starts_at else None
        rows.append(
            {
                "y": 10 + i * ROW_HEIGHT,
                "x": x(opens),
                "width": max(x(due) - x(opens), 2),
                "label": f"{a.standard} · {a.kind}",
                "state": a.window_state or "",
                "dot": x(start) if start else None,
            }
        )
    return {
        "width": CHART_WIDTH,
        "height": 20 + len(rows) * ROW_HEIGHT,
        "rows": rows,
        "today": x(today) if first <= today <= last else None,
        "first": first,
        "last": last,
    }


class ProgrammePages(Controller):
    include_in_schema = False
    guards = [requires_login]

    @get("/organisations/{org_id:uuid}/audit-programme")
    async def programme(self, request: Request[Any, Any, Any], org_id: uuid.UUID) -> Template:
        audits = await board.programme_view(me(request), org_id)
        return Template(
            "scheduling/programme.html",
            context={
                "org_id": org_id,
                "audits": audits,
                "chart": timeline(audits, clock.today()),
            },
        )


# --- one audit and its booking flow ------------------------------------------------------------

# A booking form's work: read the form into the API's Struct and call the step's service.
AuditStep = Callable[[Principal, AuditContext, dict[str, Any]], Awaitable[None]]


async def _propose(p: Principal, ctx: AuditContext, data: dict[str, Any]) -> None:
    await booking.propose(p, ctx.id, _proposal_in(data, ctx))


async def _request(p: Principal, ctx: AuditContext, data: dict[str, Any]) -> None:
    fields = {"starts_at": data.get("starts_at"), "ends_at": data.get("ends_at")}
    await slots.request_slot(p, ctx.id, convert(fields, BookingRequestIn))


async def _decline(p: Principal, ctx: AuditContext, data: dict[str, Any]) -> None:
    await slots.decline(p, ctx.id, _reason_in(data))


async def _confirm(p: Principal, ctx: AuditContext, data: dict[str, Any]) -> None:
    await booking.confirm(p, ctx.id)


async def _reschedule(p: Principal, ctx: AuditContext, data: dict[str, Any]) -> None:
    await booking.reschedule(p, ctx.id, _reschedule_in(data, ctx))


async def _cancel(p: Principal, ctx: AuditContext, data: dict[str, Any]) -> None:
    await booking.cancel(p, ctx.id, _reason_in(data))


async def _complete(p: Principal, ctx: AuditContext, data: dict[str, Any]) -> None:
    await booking.complete(p, ctx.id)


class AuditPages(Controller):
    include_in_schema = False
    path = "/audits/{audit_id:uuid}"
    guards = [requires_login]

    async def _render(
        self,
        principal: Principal,
        audit_id: uuid.UUID,
        errors: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
        status_code: int = 200,
    ) -> Template:
        view = await board.audit_view(principal, audit_id)
        return Template(
            "scheduling/audit.html",
            context={**vars(view), "errors": errors or {}, "values": values or {}},
            status_code=status_code,
        )

    @get("")
    async def read(self, request: Request[Any, Any, Any], audit_id: uuid.UUID) -> Template:
        return await self._render(me(request), audit_id)

    async def _act(
        self,
        request: Request[Any, Any, Any],
        audit_id: uuid.UUID,
        action: AuditAction,
        step: AuditStep,
    ) -> Response[Any]:
        principal = me(request)
        # Who may is settled before the form is read: a stranger learns nothing from its errors.
        ctx, _ = await audit_access(principal, audit_id, ACTORS[action])
        data = await form_data(request)
        try:
            await step(principal, ctx, data)
        except DomainError as exc:
            errors = {"form": exc.detail} if isinstance(exc, Conflict) else errors_by_field(exc)
            return await self._render(
                principal, audit_id, errors, values=data, status_code=exc.status_code
            )
        return _back(f"/audits/{audit_id}")

    @post("/proposal")
    async def proposal(self, request: Request[Any, Any, Any], audit_id: uuid.UUID) -> Response[Any]:
        return await self._act(request, audit_id, AuditAction.propose, _propose)

    @post("/booking-request")
    async def booking_request(
        self, request: Request[Any, Any, Any], audit_id: uuid.UUID
    ) -> Response[Any]:
        return await self._act(request, audit_id, AuditAction.request, _request)

    @post("/decline")
    async def decline(self, request: Request[Any, Any, Any], audit_id: uuid.UUID) -> Response[Any]:
        return await self._act(request, audit_id, AuditAction.decline, _decline)

    @post("/confirm")
    async def confirm(self, request: Request[Any, Any, Any], audit_id: uuid.UUID) -> Response[Any]:
        return await self._act(request, audit_id, AuditAction.confirm, _confirm)

    @post("/reschedule")
    async def reschedule(
        self, request: Request[Any, Any, Any], audit_id: uuid.UUID
    ) -> Response[Any]:
        return await self._act(request, audit_id, AuditAction.reschedule, _reschedule)

    @post("/cancel")
    async def cancel(self, request: Request[Any, Any, Any], audit_id: uuid.UUID) -> Response[Any]:
        return await self._act(request, audit_id, AuditAction.cancel, _cancel)

    @post("/complete")
    async def complete(self, request: Request[Any, Any, Any], audit_id: uuid.UUID) -> Response[Any]:
        return await self._act(request, audit_id, AuditAction.complete, _complete)


PAGE_CONTROLLERS: list[Any] = [PlanningPages, AuditorPages, ProgrammePages, AuditPages]
