"""Pages of internal audits and their findings."""

from __future__ import annotations

import functools
import uuid
from typing import Any

from litestar import Controller, Response, get, post
from litestar.response import Template

from marketplace.accounts.guards import Principal, me, requires_login
from marketplace.accounts.names import organisation_members
from marketplace.readiness import internal_audits, sharing, stage1
from marketplace.readiness.page_support import (
    AnyRequest,
    Render,
    attempt,
    base_context,
    editor_form,
    page,
    parse,
)
from marketplace.readiness.schemas import (
    CompleteIn,
    InternalAuditIn,
    InternalFindingIn,
    InternalFindingPatch,
    InternalShareIn,
    StepIn,
)
from marketplace.rules.readiness import GROUPS
from marketplace.web.forms import as_list


class InternalAuditPages(Controller):
    include_in_schema = False
    path = "/organisations/{organisation_id:uuid}"
    guards = [requires_login]

    async def _audits(
        self,
        p: Principal,
        organisation_id: uuid.UUID,
        errors: dict[str, str],
        status: int = 200,
        values: dict[str, Any] | None = None,
    ) -> Template:
        ctx = await base_context(p, organisation_id)
        ctx.update(
            audits=await internal_audits.list_internal_audits(organisation_id),
            stage1=await stage1.stage1_panel(organisation_id),
            groups=GROUPS,
            values=values or {},
        )
        return page("internal_audits", ctx, errors, status)

    @get("/internal-audits")
    async def internal_audits(self, request: AnyRequest, organisation_id: uuid.UUID) -> Template:
        return await self._audits(me(request), organisation_id, {})

    @post("/internal-audits")
    async def plan_audit(self, request: AnyRequest, organisation_id: uuid.UUID) -> Response[Any]:
        p, data = await editor_form(request, organisation_id)
        more = [c.strip() for c in str(data.get("more_clauses", "")).split(",") if c.strip()]
        form = {
            "scope": data.get("scope", ""),
            "clauses": as_list(data.get("clauses")) + more,
            "auditor_name": data.get("auditor_name", ""),
            "planned_on": data.get("planned_on") or None,
        }

        async def render(errors: dict[str, str], status: int) -> Template:
            return await self._audits(p, organisation_id, errors, status, data)

        return await attempt(
            lambda: internal_audits.plan_audit_as(p, organisation_id, parse(form, InternalAuditIn)),
            render,
            lambda out: f"/organisations/{organisation_id}/internal-audits/{out.id}",
        )

    async def _audit(
        self,
        p: Principal,
        organisation_id: uuid.UUID,
        audit_id: uuid.UUID,
        errors: dict[str, str],
        status: int = 200,
    ) -> Template:
        ctx = await base_context(p, organisation_id)
        await internal_audits.org_internal_audit(organisation_id, audit_id)
        ctx.update(
            audit=await internal_audits.get_internal_audit(audit_id),
            bodies=await sharing.engaged_bodies(organisation_id),
            grades=internal_audits.GRADES,
        )
        return page("internal_audit", ctx, errors, status)

    @get("/internal-audits/{audit_id:uuid}")
    async def internal_audit(
        self, request: AnyRequest, organisation_id: uuid.UUID, audit_id: uuid.UUID
    ) -> Template:
        return await self._audit(me(request), organisation_id, audit_id, {})

    async def _audit_write(
        self, request: AnyRequest, organisation_id: uuid.UUID, audit_id: uuid.UUID
    ) -> tuple[Principal, Render, str, dict[str, Any]]:
        """Who posts, the audit page to show again on an error, its address, the form."""
        p, data = await editor_form(request, organisation_id)
        await internal_audits.org_internal_audit(organisation_id, audit_id)
        render = functools.partial(self._audit, p, organisation_id, audit_id)
        return p, render, f"/organisations/{organisation_id}/internal-audits/{audit_id}", data

    @post("/internal-audits/{audit_id:uuid}/complete")
    async def complete_audit(
        self, request: AnyRequest, organisation_id: uuid.UUID, audit_id: uuid.UUID
    ) -> Response[Any]:
        p, render, url, data = await self._audit_write(request, organisation_id, audit_id)
        return await attempt(
            lambda: internal_audits.complete_audit_as(
                p, organisation_id, audit_id, parse(data, CompleteIn, ("completed_on",))
            ),
            render,
            url,
        )

    @post("/internal-audits/{audit_id:uuid}/share")
    async def share_audit(
        self, request: AnyRequest, organisation_id: uuid.UUID, audit_id: uuid.UUID
    ) -> Response[Any]:
        p, render, url, data = await self._audit_write(request, organisation_id, audit_id)
        form = {"body_id": data.get("body_id") or None}
        return await attempt(
            lambda: internal_audits.share_audit_as(
                p, organisation_id, audit_id, parse(form, InternalShareIn)
            ),
            render,
            url,
        )

    @post("/internal-audits/{audit_id:uuid}/findings")
    async def add_finding(
        self, request: AnyRequest, organisation_id: uuid.UUID, audit_id: uuid.UUID
    ) -> Response[Any]:
        p, render, url, data = await self._audit_write(request, organisation_id, audit_id)
        return await attempt(
            lambda: internal_audits.add_finding_as(
                p, organisation_id, audit_id, parse(data, InternalFindingIn)
            ),
            render,
            url,
        )

    async def _finding_page(
        self,
        p: Principal,
        organisation_id: uuid.UUID,
        finding_id: uuid.UUID,
        errors: dict[str, str],
        status: int = 200,
    ) -> Template:
        ctx = await base_context(p, organisation_id)
        finding = await internal_audits.org_internal_finding(organisation_id, finding_id)
        ctx.update(
            finding=finding,
            members=await organisation_members(organisation_id),
            editable=finding.status in internal_audits.EDITABLE,
        )
        return page("internal_finding", ctx, errors, status)

    @get("/internal-findings/{finding_id:uuid}")
    async def internal_finding(
        self, request: AnyRequest, organisation_id: uuid.UUID, finding_id: uuid.UUID
    ) -> Template:
        return await self._finding_page(me(request), organisation_id, finding_id, {})

    async def _finding_write(
        self, request: AnyRequest, organisation_id: uuid.UUID, finding_id: uuid.UUID
    ) -> tuple[Principal, Render, str, dict[str, Any]]:
        """Who posts, the finding page to show again on an error, its address, the form."""
        p, data = await editor_form(request, organisation_id)
        await internal_audits.org_internal_finding(organisation_id, finding_id)
        render = functools.partial(self._finding_page, p, organisation_id, finding_id)
        return p, render, f"/organisations/{organisation_id}/internal-findings/{finding_id}", data

    @post("/internal-findings/{finding_id:uuid}")
    async def answer_finding(
        self, request: AnyRequest, organisation_id: uuid.UUID, finding_id: uuid.UUID
    ) -> Response[Any]:
        p, render, url, data = await self._finding_write(request, organisation_id, finding_id)
        blank = ("owner_id", "target_date", "root_cause_method")
        return await attempt(
            lambda: internal_audits.answer_finding_as(
                p,
                organisation_id,
                finding_id,
                parse(data, InternalFindingPatch, blank),
                internal_audits.CLEARABLE_FINDING,
            ),
            render,
            url,
        )

    @post("/internal-findings/{finding_id:uuid}/steps")
    async def finding_step(
        self, request: AnyRequest, organisation_id: uuid.UUID, finding_id: uuid.UUID
    ) -> Response[Any]:
        p, render, url, data = await self._finding_write(request, organisation_id, finding_id)
        return await attempt(
            lambda: internal_audits.finding_step_as(
                p, organisation_id, finding_id, parse(data, StepIn)
            ),
            render,
            url,
        )
