"""HTML pages of scheduling: planning board, auditors, agenda, the client's programme, booking flows."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect, Template

from marketplace.accounts.guards import Principal, me, require_role, requires_login
from marketplace.accounts.roles import TenantKind
from marketplace.core import clock
from marketplace.core.errors import Conflict, DomainError, Invalid, NotFound
from marketplace.reference import services as reference
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
    BookingRequestIn,
    ConsultancyIn,
    ProposalIn,
    QualificationIn,
    ReasonIn,
    RescheduleIn,
    UnavailabilityIn,
)
from marketplace.scheduling.services import TeamMember
from marketplace.web.forms import as_list, convert, errors_by_field, form_data

NO_BODY = "No such certification body."


def _local(value: Any) -> str:
    """A datetime-local field's value with seconds, as msgspec's ISO 8601 parser wants it."""
    text = str(value or "").strip()
    return text + ":00" if len(text) == 16 else text


def _back(path: str) -> Redirect:
    return Redirect(path, status_code=303)


# --- the body's side ---------------------------------------------------------------------------


class PlanningPages(Controller):
    include_in_schema = False
    path = "/manage/bodies/{body_id:uuid}"
    guards = [requires_login]

    @get("/planning")
    async def board(
        self,
        request: Request[Any, Any, Any],
        body_id: uuid.UUID,
        auditor: str | None = None,
        status: str | None = None,
        kind: str | None = None,
        opens_by: dt.date | None = None,
        due_by: dt.date | None = None,
        completed_from: dt.date | None = None,
        completed_to: dt.date | None = None,
    ) -> Template:
        role = require_role(me(request), TenantKind.body, body_id, BODY_ALL, what=NO_BODY)
        auditor_id = None
        if auditor:
            try:
                auditor_id = uuid.UUID(auditor)
            except ValueError:
                raise Invalid.field("auditor", "Choose an auditor from the list.") from None
        # The board opens on what still needs planning; "any" shows history too.
        status = status or "open"
        # Date and kind filters arrive from the dashboards' links (no form field of their own).
        extra = {
            "kind": kind or None,
            "opens_by": opens_by,
            "due_by": due_by,
            "completed_from": completed_from,
            "completed_to": completed_to,
        }
        audits = await services.planning_board(
            body_id, auditor_id, None if status == "any" else status, **extra
        )
        return Template(
            "scheduling/planning.html",
            context={
                "body_id": body_id,
                "role": role,
                "audits": audits,
                "auditors": await services.list_auditors(body_id),
                "auditor_id": auditor_id,
                "status": status,
                "statuses": services.AUDIT_STATUSES,
                "today": clock.today(),
                "extra": {k: v for k, v in extra.items() if v},
            },
        )

    async def _auditors_page(
        self,
        principal: Principal,
        body_id: uuid.UUID,
        errors: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
        notice: str = "",
        status_code: int = 200,
    ) -> Template:
        role = require_role(principal, TenantKind.body, body_id, BODY_ALL, what=NO_BODY)
        return Template(
            "scheduling/auditors.html",
            context={
                "body_id": body_id,
                "can_plan": role in BODY_PLANNERS,
                "can_manage": role == "owner",
                "auditors": await services.list_auditors(body_id),
                "standards": await reference.list_standards(),
                "settings": await services.get_settings(body_id),
                "zones": services.zone_names(),
                "errors": errors or {},
                "values": values or {},
                "notice": notice,
            },
            status_code=status_code,
        )

    @get("/auditors")
    async def auditors(self, request: Request[Any, Any, Any], body_id: uuid.UUID) -> Template:
        return await self._auditors_page(me(request), body_id)

    async def _auditor_form(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID, action: str, auditor_id: Any
    ) -> Response[Any]:
        principal = me(request)
        require_role(principal, TenantKind.body, body_id, BODY_PLANNERS, what=NO_BODY)
        if auditor_id is not None and await services.auditor_body(auditor_id) != body_id:
            raise NotFound("No such auditor.")
        data = await form_data(request)
        try:
            if action == "add":
                qualifications = []
                if data.get("standard") and data.get("iaf_sector"):
                    qualifications.append(
                        {"standard": data["standard"], "iaf_sector": data["iaf_sector"]}
                    )
                payload = convert(
                    {
                        "name": data.get("name", ""),
                        "email": data.get("email", ""),
                        "time_zone": data.get("time_zone") or "UTC",
                        "lead": data.get("lead") == "on",
                        "qualifications": qualifications,
                    },
                    AuditorIn,
                )
                await services.create_auditor(
                    principal.user_id,
                    body_id,
                    {
                        "name": payload.name,
                        "email": payload.email,
                        "time_zone": payload.time_zone,
                        "lead": payload.lead,
                        "qualifications": [
                            {"standard": q.standard, "iaf_sector": q.iaf_sector}
                            for q in payload.qualifications
                        ],
                    },
                )
                notice = "Auditor added."
            elif action == "qualification":
                q = convert(
                    {"standard": data.get("standard"), "iaf_sector": data.get("iaf_sector")},
                    QualificationIn,
                )
                await services.add_qualification(
                    principal.user_id, auditor_id, q.standard, q.iaf_sector
                )
                notice = "Qualification added."
            elif action == "unavailability":
                off = convert(
                    {
                        "starts_at": _local(data.get("starts_at")),
                        "ends_at": _local(data.get("ends_at")),
                        "reason": data.get("reason", ""),
                    },
                    UnavailabilityIn,
                )
                await services.add_unavailability(
                    principal.user_id,
                    auditor_id,
                    {"starts_at": off.starts_at, "ends_at": off.ends_at, "reason": off.reason},
                )
                notice = "Time off recorded."
            else:
                c = convert(
                    {
                        "organisation_id": data.get("organisation_id"),
                        "ended_on": data.get("ended_on"),
                    },
                    ConsultancyIn,
                )
                await services.add_consultancy(
                    principal.user_id, auditor_id, c.organisation_id, c.ended_on
                )
                notice = "Consultancy declared."
        except DomainError as exc:
            return await self._auditors_page(
                principal,
                body_id,
                errors_by_field(exc),
                values={"action": action, "auditor_id": auditor_id, **data},
                status_code=exc.status_code,
            )
        return await self._auditors_page(principal, body_id, notice=notice)

    @post("/auditors")
    async def add_auditor(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID
    ) -> Response[Any]:
        return await self._auditor_form(request, body_id, "add", None)

    @post("/auditors/{auditor_id:uuid}/qualifications")
    async def add_qualification(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID, auditor_id: uuid.UUID
    ) -> Response[Any]:
        return await self._auditor_form(request, body_id, "qualification", auditor_id)

    @post("/auditors/{auditor_id:uuid}/unavailability")
    async def add_time_off(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID, auditor_id: uuid.UUID
    ) -> Response[Any]:
        return await self._auditor_form(request, body_id, "unavailability", auditor_id)

    @post("/auditors/{auditor_id:uuid}/consultancy")
    async def add_consultancy(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID, auditor_id: uuid.UUID
    ) -> Response[Any]:
        return await self._auditor_form(request, body_id, "consultancy", auditor_id)

    @post("/scheduling-settings")
    async def save_settings(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID
    ) -> Response[Any]:
        principal = me(request)
        require_role(principal, TenantKind.body, body_id, {"owner"}, what=NO_BODY)
        data = await form_data(request)
        await services.set_settings(
            principal.user_id, body_id, data.get("self_service_booking") == "on"
        )
        return await self._auditors_page(principal, body_id, notice="Settings saved.")

    @get("/auditors/{auditor_id:uuid}/agenda")
    async def agenda(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID, auditor_id: uuid.UUID
    ) -> Template:
        require_role(me(request), TenantKind.body, body_id, BODY_ALL, what=NO_BODY)
        if await services.auditor_body(auditor_id) != body_id:
            raise NotFound("No such auditor.")
        return Template(
            "scheduling/agenda.html",
            context={
                "body_id": body_id,
                "auditor": await services.get_auditor(auditor_id),
                "assignments": await services.auditor_agenda(auditor_id),
                "time_off": await services.auditor_time_off(auditor_id),
            },
        )


# --- the client's side -------------------------------------------------------------------------

# Timeline geometry for the programme's SVG: one row per audit, x scaled over the programme.
ROW_HEIGHT = 26
LABEL_WIDTH = 190
CHART_WIDTH = 760


def timeline(audits: list[dict[str, Any]], today: dt.date) -> dict[str, Any] | None:
    """Bars for each audit's window (and a dot for its date), laid out server-side."""
    dated = [a for a in audits if a["window_start"] and a["window_end"]]
    if not dated:
        return None
    first: dt.date = min(a["window_start"] for a in dated)
    last: dt.date = max(a["window_end"] for a in dated)
    span = max((last - first).days, 1)
    scale = (CHART_WIDTH - LABEL_WIDTH - 10) / span

    def x(day: dt.date) -> float:
        return round(LABEL_WIDTH + (min(max(day, first), last) - first).days * scale, 1)

    rows = []
    for i, a in enumerate(dated):
        start = a["starts_at"].date() if a["starts_at"] else None
        rows.append(
            {
                "y": 10 + i * ROW_HEIGHT,
                "x": x(a["window_start"]),
                "width": max(x(a["window_end"]) - x(a["window_start"]), 2),
                "label": f"{a['standard']} · {a['kind']}",
                "state": a["window_state"] or "",
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
        require_role(me(request), TenantKind.organisation, org_id, CLIENT_ALL)
        audits = await services.client_programme(org_id)
        return Template(
            "scheduling/programme.html",
            context={
                "org_id": org_id,
                "audits": audits,
                "chart": timeline(audits, clock.today()),
            },
        )


# --- one audit and its booking flow ------------------------------------------------------------


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
        ctx = await audit_context(audit_id)
        side = check_access(
            principal, ctx.organisation_id, ctx.body_id, client=CLIENT_ALL, body=BODY_ALL
        )
        org_roles = principal.roles_in(TenantKind.organisation, ctx.organisation_id)
        body_roles = principal.roles_in(TenantKind.body, ctx.body_id)
        can_plan = bool(body_roles & BODY_PLANNERS)
        can_book = bool(org_roles & CLIENT_BOOKERS)
        settings = await services.get_settings(ctx.body_id)
        slots: list[dict[str, Any]] = []
        planned = ctx.row.get("planned_days")
        auditor_days = planned.get("auditor_days") if isinstance(planned, dict) else None
        days = math.ceil(float(auditor_days or 1))
        days = min(max(days, 1), services.MAX_SLOT_DAYS)
        if (can_plan or (can_book and settings["self_service_booking"])) and ctx.status in (
            "planned",
            "cancelled",
            "requested",
        ):
            slots = await services.find_slots(ctx, days)
        audit = await services.get_audit(ctx, show_team=side == "body" or ctx.status != "requested")
        return Template(
            "scheduling/audit.html",
            context={
                "audit": audit,
                "side": side,
                "can_plan": can_plan,
                "can_book": can_book,
                "can_complete": bool(body_roles & (BODY_PLANNERS | {"auditor"})),
                "self_service": settings["self_service_booking"],
                "slots": slots,
                "slot_days": days,
                "auditors": await services.list_auditors(ctx.body_id) if can_plan else [],
                "zones": services.zone_names() if can_plan else [],
                "site_zone": ctx.site_time_zone,
                "errors": errors or {},
                "values": values or {},
            },
            status_code=status_code,
        )

    @get("")
    async def read(self, request: Request[Any, Any, Any], audit_id: uuid.UUID) -> Template:
        return await self._render(me(request), audit_id)

    async def _act(
        self,
        request: Request[Any, Any, Any],
        audit_id: uuid.UUID,
        client: frozenset[str],
        body: frozenset[str],
        action: str,
    ) -> Response[Any]:
        principal = me(request)
        ctx = await audit_context(audit_id)
        check_access(principal, ctx.organisation_id, ctx.body_id, client=client, body=body)
        data = await form_data(request)
        try:
            await self._apply(principal, ctx, action, data)
        except DomainError as exc:
            errors = errors_by_field(exc)
            if isinstance(exc, Conflict):
                errors = {"form": exc.detail}
            return await self._render(
                principal, audit_id, errors, values=data, status_code=exc.status_code
            )
        return _back(f"/audits/{audit_id}")

    async def _apply(
        self,
        principal: Principal,
        ctx: AuditContext,
        action: str,
        data: dict[str, Any],
    ) -> None:
        actor = principal.user_id
        if action == "proposal":
            team = (
                [{"auditor_id": data.get("lead") or "", "role": "lead"}] if data.get("lead") else []
            )
            for role, key in (("member", "members"), ("expert", "experts")):
                team += [{"auditor_id": v, "role": role} for v in as_list(data.get(key)) if v]
            p = convert(
                {
                    "starts_at": _local(data.get("starts_at")),
                    "ends_at": _local(data.get("ends_at")),
                    "time_zone": data.get("time_zone") or ctx.site_time_zone,
                    "mode": data.get("mode") or "onsite",
                    "team": team,
                },
                ProposalIn,
            )
            await services.propose_audit(
                ctx.id,
                actor,
                starts_at=p.starts_at,
                ends_at=p.ends_at,
                time_zone=p.time_zone,
                team=[TeamMember(m.auditor_id, m.role) for m in p.team],
                mode=p.mode,
            )
        elif action == "booking-request":
            b = convert(
                {"starts_at": data.get("starts_at"), "ends_at": data.get("ends_at")},
                BookingRequestIn,
            )
            await services.request_booking(ctx.id, actor, b.starts_at, b.ends_at)
        elif action == "reschedule":
            r = convert(
                {
                    "starts_at": _local(data.get("starts_at")),
                    "ends_at": _local(data.get("ends_at")),
                    "reason": data.get("reason", ""),
                    "time_zone": ctx.time_zone,
                },
                RescheduleIn,
            )
            await services.reschedule_audit(
                ctx.id,
                actor,
                starts_at=r.starts_at,
                ends_at=r.ends_at,
                reason=r.reason,
                time_zone=r.time_zone,
            )
        elif action == "confirm":
            await services.confirm_audit(ctx.id, actor)
        elif action == "complete":
            await services.complete_audit(ctx.id, actor)
        else:
            reason = convert({"reason": data.get("reason", "")}, ReasonIn).reason
            if action == "cancel":
                await services.cancel_audit(ctx.id, actor, reason)
            else:
                await services.decline_request(ctx.id, actor, reason)

    @post("/proposal")
    async def proposal(self, request: Request[Any, Any, Any], audit_id: uuid.UUID) -> Response[Any]:
        return await self._act(request, audit_id, NO_ROLES, BODY_PLANNERS, "proposal")

    @post("/booking-request")
    async def booking_request(
        self, request: Request[Any, Any, Any], audit_id: uuid.UUID
    ) -> Response[Any]:
        return await self._act(request, audit_id, CLIENT_BOOKERS, NO_ROLES, "booking-request")

    @post("/decline")
    async def decline(self, request: Request[Any, Any, Any], audit_id: uuid.UUID) -> Response[Any]:
        return await self._act(request, audit_id, NO_ROLES, BODY_PLANNERS, "decline")

    @post("/confirm")
    async def confirm(self, request: Request[Any, Any, Any], audit_id: uuid.UUID) -> Response[Any]:
        return await self._act(request, audit_id, CLIENT_BOOKERS, NO_ROLES, "confirm")

    @post("/reschedule")
    async def reschedule(
        self, request: Request[Any, Any, Any], audit_id: uuid.UUID
    ) -> Response[Any]:
        return await self._act(request, audit_id, CLIENT_BOOKERS, BODY_PLANNERS, "reschedule")

    @post("/cancel")
    async def cancel(self, request: Request[Any, Any, Any], audit_id: uuid.UUID) -> Response[Any]:
        return await self._act(request, audit_id, NO_ROLES, BODY_PLANNERS, "cancel")

    @post("/complete")
    async def complete(self, request: Request[Any, Any, Any], audit_id: uuid.UUID) -> Response[Any]:
        return await self._act(request, audit_id, NO_ROLES, BODY_PLANNERS | {"auditor"}, "complete")


PAGE_CONTROLLERS: list[Any] = [PlanningPages, ProgrammePages, AuditPages]
