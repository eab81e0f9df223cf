"""JSON API of quotes: the public audit-time estimate, requests, the body inbox, answers and acceptance."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import JSONBody, Parameter

from marketplace.accounts.guards import principal_of, require_role, requires_login
from marketplace.accounts.roles import TenantKind
from marketplace.core.errors import Invalid
from marketplace.core.pagination import Page, PageParams
from marketplace.quotes.acceptance import accept_quote, withdraw_request
from marketplace.quotes.access import QUOTE_HANDLERS, REQUESTERS, viewer_of
from marketplace.quotes.baseline import baseline, baseline_out
from marketplace.quotes.offers import decline_request, submit_quote
from marketplace.quotes.requests import (
    create_request,
    get_quote_row,
    get_request_row,
    inbox,
    request_view,
    requests_of_organisation,
)
from marketplace.quotes.schemas import (
    AcceptOut,
    AuditTimeOut,
    DeclineIn,
    InboxItemOut,
    QuoteCreatedOut,
    QuoteIn,
    QuoteRequestIn,
    QuoteRequestOut,
    RequestSummaryOut,
)


def _request_out(view: dict[str, Any]) -> QuoteRequestOut:
    return msgspec.convert(view, QuoteRequestOut, strict=False)


class AuditTimeController(Controller):
    path = "/api/v1/audit-time"
    tags = ["quotes"]

    @get("", summary="IAF MD 5 audit time and IAF MD 1 sample for a standard and a profile")
    async def estimate(
        self,
        standard: str | None = Parameter(default=None),
        effective_personnel: int | None = Parameter(default=None),
        complexity: str | None = Parameter(default=None),
        sites: int = Parameter(default=1),
        adjustment_pct: float = Parameter(default=0.0),
    ) -> AuditTimeOut:
        if not standard:
            raise Invalid.field("standard", "Name a standard by its code, e.g. ISO 9001:2015.")
        if effective_personnel is None:
            raise Invalid.field("effective_personnel", "Give the effective personnel (1 or more).")
        base = await baseline(standard, effective_personnel, complexity, sites, adjustment_pct)
        return msgspec.convert(baseline_out(base, effective_personnel, sites), AuditTimeOut)


class QuoteRequestController(Controller):
    path = "/api/v1"
    tags = ["quotes"]
    guards = [requires_login]

    @post("/quote-requests", summary="Ask one to five bodies for a quote", status_code=201)
    async def create(
        self, request: Request[Any, Any, Any], data: JSONBody[QuoteRequestIn]
    ) -> QuoteRequestOut:
        p = principal_of(request)
        require_role(
            p,
            TenantKind.organisation,
            data.organisation_id,
            REQUESTERS,
            what="No such organisation.",
        )
        request_id = await create_request(p.user_id, msgspec.to_builtins(data))
        req = await get_request_row(request_id)
        viewer = await viewer_of(p, req)
        return _request_out(await request_view(request_id, viewer))

    @get("/quote-requests/{request_id:uuid}", summary="A request with what the caller may see")
    async def read(self, request: Request[Any, Any, Any], request_id: uuid.UUID) -> QuoteRequestOut:
        req = await get_request_row(request_id)
        viewer = await viewer_of(principal_of(request), req)
        return _request_out(await request_view(request_id, viewer))

    @get(
        "/organisations/{organisation_id:uuid}/quote-requests",
        summary="The organisation's quote requests",
    )
    async def of_organisation(
        self,
        request: Request[Any, Any, Any],
        organisation_id: uuid.UUID,
        page: int = Parameter(default=1),
        per_page: int = Parameter(default=20),
    ) -> Page[RequestSummaryOut]:
        require_role(
            principal_of(request),
            TenantKind.organisation,
            organisation_id,
            what="No such organisation.",
        )
        result = await requests_of_organisation(organisation_id, PageParams.of(page, per_page))
        return Page(
            items=[msgspec.convert(r, RequestSummaryOut, strict=False) for r in result.items],
            total=result.total,
            page=result.page,
            per_page=result.per_page,
        )

    @get("/bodies/{body_id:uuid}/quote-requests", summary="The body's inbox of quote requests")
    async def inbox(
        self,
        request: Request[Any, Any, Any],
        body_id: uuid.UUID,
        status: str | None = Parameter(default=None),
        page: int = Parameter(default=1),
        per_page: int = Parameter(default=20),
    ) -> Page[InboxItemOut]:
        require_role(
            principal_of(request),
            TenantKind.body,
            body_id,
            QUOTE_HANDLERS,
            what="No such certification body.",
        )
        result = await inbox(body_id, PageParams.of(page, per_page), status)
        return Page(
            items=[msgspec.convert(r, InboxItemOut, strict=False) for r in result.items],
            total=result.total,
            page=result.page,
            per_page=result.per_page,
        )

    @post(
        "/quote-requests/{request_id:uuid}/quotes",
        summary="Answer a request with a quote (recipient body's owner or scheduler)",
        status_code=201,
    )
    async def quote(
        self, request: Request[Any, Any, Any], request_id: uuid.UUID, data: JSONBody[QuoteIn]
    ) -> QuoteCreatedOut:
        p = principal_of(request)
        require_role(
            p, TenantKind.body, data.body_id, QUOTE_HANDLERS, what="No such quote request."
        )
        result = await submit_quote(p.user_id, request_id, msgspec.to_builtins(data))
        return msgspec.convert(result, QuoteCreatedOut)

    @post(
        "/quote-requests/{request_id:uuid}/decline",
        summary="Decline to quote, with a reason",
        status_code=200,
    )
    async def decline(
        self, request: Request[Any, Any, Any], request_id: uuid.UUID, data: JSONBody[DeclineIn]
    ) -> QuoteRequestOut:
        p = principal_of(request)
        require_role(
            p, TenantKind.body, data.body_id, QUOTE_HANDLERS, what="No such quote request."
        )
        await decline_request(p.user_id, request_id, data.body_id, data.reason)
        req = await get_request_row(request_id)
        return _request_out(await request_view(request_id, await viewer_of(p, req)))

    @post(
        "/quote-requests/{request_id:uuid}/withdraw",
        summary="Withdraw an open request (client owner or quality manager)",
        status_code=200,
    )
    async def withdraw(
        self, request: Request[Any, Any, Any], request_id: uuid.UUID
    ) -> QuoteRequestOut:
        p = principal_of(request)
        req = await get_request_row(request_id)
        require_role(
            p,
            TenantKind.organisation,
            req["organisation"],
            REQUESTERS,
            what="No such quote request.",
        )
        await withdraw_request(p.user_id, request_id)
        return _request_out(await request_view(request_id, await viewer_of(p, req)))

    @post(
        "/quotes/{quote_id:uuid}/accept",
        summary="Accept a quote: the engagement starts, the other quotes are declined",
        status_code=201,
    )
    async def accept(self, request: Request[Any, Any, Any], quote_id: uuid.UUID) -> AcceptOut:
        p = principal_of(request)
        quote = await get_quote_row(quote_id)
        require_role(
            p,
            TenantKind.organisation,
            quote["organisation"],
            REQUESTERS,
            what="No such quote.",
        )
        return msgspec.convert(await accept_quote(p.user_id, quote_id), AcceptOut)
