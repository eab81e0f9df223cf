"""The management review page: the list and the form to record one."""

from __future__ import annotations

import functools
import uuid
from typing import Any

from litestar import Controller, Response, get, post
from litestar.response import Template

from marketplace.accounts.guards import Principal, me, requires_login
from marketplace.readiness import management_reviews
from marketplace.readiness.page_support import (
    AnyRequest,
    attempt,
    base_context,
    editor_form,
    page,
    parse,
)
from marketplace.readiness.schemas import ManagementReviewIn
from marketplace.web.forms import as_list


class ManagementReviewPages(Controller):
    include_in_schema = False
    path = "/organisations/{organisation_id:uuid}/management-reviews"
    guards = [requires_login]

    async def _reviews(
        self, p: Principal, organisation_id: uuid.UUID, errors: dict[str, str], status: int = 200
    ) -> Template:
        ctx = await base_context(p, organisation_id)
        ctx.update(
            reviews=await management_reviews.list_management_reviews(organisation_id),
            inputs=management_reviews.REVIEW_INPUTS,
        )
        return page("management_reviews", ctx, errors, status)

    @get("")
    async def reviews(self, request: AnyRequest, organisation_id: uuid.UUID) -> Template:
        return await self._reviews(me(request), organisation_id, {})

    @post("")
    async def add_review(self, request: AnyRequest, organisation_id: uuid.UUID) -> Response[Any]:
        p, data = await editor_form(request, organisation_id)
        form = {
            "held_on": data.get("held_on") or None,
            "attendees": data.get("attendees", ""),
            "inputs": as_list(data.get("inputs")),
            "decisions": data.get("decisions", ""),
        }
        return await attempt(
            lambda: management_reviews.record_review_as(
                p, organisation_id, parse(form, ManagementReviewIn)
            ),
            functools.partial(self._reviews, p, organisation_id),
            f"/organisations/{organisation_id}/management-reviews",
        )
