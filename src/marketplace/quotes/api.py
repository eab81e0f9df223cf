"""JSON API of quotes: the public audit-time estimate, requests, the body inbox, answers and acceptance."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import JSONBody, Parameter

from marketplace.accounts.guards import principal_of, requires_login
from marketplace.core.errors import Invalid
from marketplace.core.pagination import Page, PageParams
from marketplace.quotes import acceptance, offers, requests
from marketplace.quotes.baseline import baseline, baseline_out
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
        return baseline_out(base, effective_personnel, sites)


class QuoteRequestController(Controller):
    path = "/api/v1"
    tags = ["quotes"]
    guards = [requires_login]

    @post("/quote-requests", summary="Ask one to five bodies for a quote", status_code=201)
    async def create(
        self, request: Request[Any, Any, Any], data: JSONBody[QuoteRequestIn]
    ) -> QuoteRequestOut:
        p = principal_of(request)
        return await requests.request_out(p, await requests.send_request(p, data))

    @get("/quote-requests/{request_id:uuid}", summary="A request with what the caller may see")
    async def read(self, request: Request[Any, Any, Any], request_id: uuid.UUID) -> QuoteRequestOut:
        return await requests.request_out(principal_of(request), request_id)

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
        return await requests.organisation_requests(
            principal_of(request), organisation_id, PageParams.of(page, per_page)
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
        return await requests.body_inbox(
            principal_of(request), body_id, PageParams.of(page, per_page), status
        )

    @post(
        "/quote-requests/{request_id:uuid}/quotes",
        summary="Answer a request with a quote (recipient body's owner or scheduler)",
        status_code=201,
    )
    async def quote(
        self, request: Request[Any, Any, Any], request_id: uuid.UUID, data: JSONBody[QuoteIn]
    ) -> QuoteCreatedOut:
        return await offers.send_quote(principal_of(request), request_id, data)

    @post(
        "/quote-requests/{request_id:uuid}/decline",
        summary="Decline to quote, with a reason",
        status_code=200,
    )
    async def decline(
        self, request: Request[Any, Any, Any], request_id: uuid.UUID, data: JSONBody[DeclineIn]
    ) -> QuoteRequestOut:
        p = principal_of(request)
        await offers.decline(p, request_id, data)
        return await requests.request_out(p, request_id)

    @post(
        "/quote-requests/{request_id:uuid}/withdraw",
        summary="Withdraw an open request (client owner or quality manager)",
        status_code=200,
    )
    async def withdraw(
        self, request: Request[Any, Any, Any], request_id: uuid.UUID
    ) -> QuoteRequestOut:
        p = principal_of(request)
        await acceptance.withdraw(p, request_id)
        return await requests.request_out(p, request_id)

    @post(
        "/quotes/{quote_id:uuid}/accept",
        summary="Accept a quote: the engagement starts, the other quotes are declined",
        status_code=201,
    )
    async def accept(self, request: Request[Any, Any, Any], quote_id: uuid.UUID) -> AcceptOut:
        return await acceptance.accept(principal_of(request), quote_id)
