"""Pages of the gap self-assessment: the readiness overview, an assessment, its internal actions."""

from __future__ import annotations

import functools
import uuid
from typing import Any

from litestar import Controller, Response, get, post
from litestar.response import Template

from marketplace.accounts.guards import Principal, me, requires_login
from marketplace.accounts.names import organisation_members
from marketplace.readiness import assessments, documents, stage1
from marketplace.readiness.charts import progress_svg
from marketplace.readiness.context import standards
from marketplace.readiness.page_support import (
    AnyRequest,
    Render,
    attempt,
    base_context,
    editor_form,
    page,
    parse,
)
from marketplace.readiness.schemas import ActionIn, AssessmentIn, GapItemPatch
from marketplace.rules.readiness import GROUPS, Rating

RATING_LABELS = {
    Rating.in_place.value: "In place",
    Rating.partly.value: "Partly",
    Rating.missing.value: "Missing",
    Rating.not_applicable.value: "Not applicable",
}


class AssessmentPages(Controller):
    include_in_schema = False
    path = "/organisations/{organisation_id:uuid}/readiness"
    guards = [requires_login]

    async def _overview(
        self, p: Principal, organisation_id: uuid.UUID, errors: dict[str, str], status: int = 200
    ) -> Template:
        ctx = await base_context(p, organisation_id)
        ctx.update(
            assessments=await assessments.list_assessments(organisation_id),
            stage1=await stage1.stage1_panel(organisation_id),
            stage2=await stage1.stage2_preparation(organisation_id),
            standards=await standards(),
        )
        return page("overview", ctx, errors, status)

    @get("")
    async def overview(self, request: AnyRequest, organisation_id: uuid.UUID) -> Template:
        return await self._overview(me(request), organisation_id, {})

    @post("/assessments")
    async def create_assessment(
        self, request: AnyRequest, organisation_id: uuid.UUID
    ) -> Response[Any]:
        p, data = await editor_form(request, organisation_id)
        url = f"/organisations/{organisation_id}/readiness/assessments/"
        return await attempt(
            lambda: assessments.start_assessment_as(p, organisation_id, parse(data, AssessmentIn)),
            functools.partial(self._overview, p, organisation_id),
            lambda out: f"{url}{out.id}",
        )

    async def _assessment(
        self,
        p: Principal,
        organisation_id: uuid.UUID,
        assessment_id: uuid.UUID,
        errors: dict[str, str],
        status: int = 200,
    ) -> Template:
        ctx = await base_context(p, organisation_id)
        assessment = await assessments.get_assessment(organisation_id, assessment_id)
        ctx.update(
            assessment=assessment,
            chart=progress_svg(assessment["history"]),
            groups=GROUPS,
            ratings=RATING_LABELS,
            members=await organisation_members(organisation_id),
            documents=await documents.list_documents(organisation_id),
        )
        return page("assessment", ctx, errors, status)

    @get("/assessments/{assessment_id:uuid}")
    async def assessment(
        self, request: AnyRequest, organisation_id: uuid.UUID, assessment_id: uuid.UUID
    ) -> Template:
        return await self._assessment(me(request), organisation_id, assessment_id, {})

    async def _item_write(
        self, request: AnyRequest, organisation_id: uuid.UUID, item_id: uuid.UUID
    ) -> tuple[Principal, Render, str, dict[str, Any]]:
        """Who posts, the assessment page to show again on an error, its address, the form."""
        p, data = await editor_form(request, organisation_id)
        aid = (await assessments.item_row(organisation_id, item_id)).assessment
        render = functools.partial(self._assessment, p, organisation_id, aid)
        return p, render, f"/organisations/{organisation_id}/readiness/assessments/{aid}", data

    @post("/items/{item_id:uuid}")
    async def rate(
        self, request: AnyRequest, organisation_id: uuid.UUID, item_id: uuid.UUID
    ) -> Response[Any]:
        p, render, url, data = await self._item_write(request, organisation_id, item_id)
        blank, lists = assessments.CLEARABLE_ITEM, ("document_ids",)
        return await attempt(
            lambda: assessments.rate_item_as(
                p,
                organisation_id,
                item_id,
                parse(data, GapItemPatch, blank, lists),
                assessments.CLEARABLE_ITEM,
            ),
            render,
            f"{url}#item-{item_id}",
        )

    @post("/items/{item_id:uuid}/action")
    async def gap_action(
        self, request: AnyRequest, organisation_id: uuid.UUID, item_id: uuid.UUID
    ) -> Response[Any]:
        p, render, _, data = await self._item_write(request, organisation_id, item_id)
        return await attempt(
            lambda: assessments.open_action_as(
                p, organisation_id, item_id, parse(data, ActionIn, ("owner_id", "due_on"))
            ),
            render,
            f"/organisations/{organisation_id}/readiness/actions",
        )

    async def _actions(
        self, p: Principal, organisation_id: uuid.UUID, errors: dict[str, str], status: int = 200
    ) -> Template:
        ctx = await base_context(p, organisation_id)
        ctx.update(actions=await assessments.list_actions(organisation_id))
        return page("actions", ctx, errors, status)

    @get("/actions")
    async def actions(self, request: AnyRequest, organisation_id: uuid.UUID) -> Template:
        return await self._actions(me(request), organisation_id, {})

    @post("/actions/{action_id:uuid}/done")
    async def action_done(
        self, request: AnyRequest, organisation_id: uuid.UUID, action_id: uuid.UUID
    ) -> Response[Any]:
        p, _ = await editor_form(request, organisation_id)
        return await attempt(
            lambda: assessments.complete_action_as(p, organisation_id, action_id),
            functools.partial(self._actions, p, organisation_id),
            f"/organisations/{organisation_id}/readiness/actions",
        )
