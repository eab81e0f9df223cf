"""A stage 1 report's references to shared documents and clauses, on the body's side."""

from __future__ import annotations

import dataclasses
import functools
import uuid
from typing import Any

from litestar import Controller, Response, get, post
from litestar.response import Template

from marketplace.accounts.guards import Principal, me, requires_login
from marketplace.readiness import stage1
from marketplace.readiness.page_support import AnyRequest, attempt, page, parse
from marketplace.readiness.schemas import ReferenceIn
from marketplace.web.forms import form_data


class ReferencePages(Controller):
    include_in_schema = False
    path = "/reports/{report_id:uuid}/references"
    guards = [requires_login]

    async def _page(
        self, p: Principal, report_id: uuid.UUID, errors: dict[str, str], status: int = 200
    ) -> Template:
        sheet = await stage1.reference_sheet(p, report_id)
        ctx = dataclasses.asdict(sheet)
        return page("references", ctx, errors, status)

    @get("")
    async def view(self, request: AnyRequest, report_id: uuid.UUID) -> Template:
        return await self._page(me(request), report_id, {})

    @post("")
    async def add(self, request: AnyRequest, report_id: uuid.UUID) -> Response[Any]:
        p = me(request)
        await stage1.report_writer(p, report_id)
        data = await form_data(request)
        return await attempt(
            lambda: stage1.add_reference_as(
                p, report_id, parse(data, ReferenceIn, ("document_id", "version_id"))
            ),
            functools.partial(self._page, p, report_id),
            f"/reports/{report_id}/references",
        )
