"""Quote requests: a client sends one to several bodies; reading requests, their quotes and inboxes."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec

from marketplace.accounts.guards import Principal, require_role
from marketplace.accounts.organisations import get_organisation
from marketplace.accounts.roles import TenantKind
from marketplace.accounts.tables import CertificationBody
from marketplace.core import clock
from marketplace.core.activity import Tenant, log_action
from marketplace.core.db import write_transaction
from marketplace.core.errors import Invalid, NotFound
from marketplace.core.pagination import Page, PageParams
from marketplace.quotes.access import QUOTE_HANDLERS, REQUESTERS, Viewer, viewer_of
from marketplace.quotes.baseline import AUDIT_KINDS, baseline
from marketplace.quotes.schemas import (
    InboxItemOut,
    QuoteRequestIn,
    QuoteRequestOut,
    RequestSummaryOut,
)
from marketplace.quotes.tables import Quote, QuoteLine, QuoteRequest, QuoteRequestRecipient
from marketplace.quotes.values import as_date, as_uuid, check_int, clean_text
from marketplace.reference.tables import IafSector
from marketplace.rules import quote_status

MAX_BODIES = 5
MAX_SHIFTS = 4
RECIPIENT_STATUSES = ("pending", "quoted", "declined", "accepted", "not_selected")


def _check_body_ids(body_ids: list[uuid.UUID]) -> None:
    if not body_ids:
        raise Invalid.field("body_ids", "Choose at least one certification body.")
    if len(body_ids) > MAX_BODIES:
        raise Invalid.field(
            "body_ids", f"A request goes to at most {MAX_BODIES} bodies; you chose {len(body_ids)}."
        )
    seen: set[uuid.UUID] = set()
    for body_id in body_ids:
        if body_id in seen:
            raise Invalid.field("body_ids", f"Body {body_id} is listed twice; list each body once.")
        seen.add(body_id)


async def create_request(actor_id: uuid.UUID | None, data: dict[str, Any]) -> uuid.UUID:
    """Send one quote request to one to five distinct bodies (the caller is checked beforehand).

    Missing sector, personnel and site count come from the organisation's profile. The IAF MD 5
    table time and minimum (table less the 30% maximum reduction) are stored with the request so
    every quote is judged against the same baseline.
    """
    org = await get_organisation(as_uuid(data["organisation_id"], "organisation_id"))
    body_ids = [as_uuid(b, "body_ids") for b in data.get("body_ids") or []]
    _check_body_ids(body_ids)
    sector = data.get("iaf_sector") or org["iaf_sector"]
    check_int("iaf_sector", sector, 1, 39, "The IAF sector")
    if not await IafSector.exists().where(IafSector.code == sector).run():
        raise Invalid.field("iaf_sector", "Unknown IAF sector; use a code from 1 to 39.")
    personnel = data.get("effective_personnel") or org["effective_personnel"]
    sites = data.get("sites") or max(1, len(org["sites"]))
    shifts = data.get("shifts") or 1
    check_int("shifts", shifts, 1, MAX_SHIFTS, "Shifts")
    desired = as_date(data.get("desired_start"), "desired_start")
    if desired is not None and desired < clock.today():
        raise Invalid.field("desired_start", "The desired start cannot be in the past.")
    base = await baseline(data["standard"], personnel, data.get("complexity"), sites)
    known = {
        r["id"]: r["name"]
        for r in await CertificationBody.select(CertificationBody.id, CertificationBody.name)
        .where(CertificationBody.id.is_in(body_ids))
        .run()
    }
    unknown = [str(b) for b in body_ids if b not in known]
    if unknown:
        raise Invalid.field("body_ids", f"Unknown certification body: {', '.join(unknown)}.")
    async with write_transaction():
        req = QuoteRequest(
            organisation=org["id"],
            standard=base.standard,
            iaf_sector=sector,
            effective_personnel=personnel,
            sites=sites,
            shifts=shifts,
            complexity=base.complexity.value if base.complexity else None,
            desired_start=desired,
            message=clean_text(data.get("message"), "message"),
            table_days=base.table_days,
            baseline_days=base.estimate.minimum_initial_days,
            created_by=actor_id,
            created_at=clock.now(),
        )
        await req.save().run()
        await QuoteRequestRecipient.insert(
            *(
                QuoteRequestRecipient(request=req.id, body=b, created_at=clock.now())
                for b in body_ids
            )
        ).run()
        await log_action(
            "marketplace.quote_request.created",
            actor_id=actor_id,
            entity_type="quote_request",
            entity_id=req.id,
            tenant=Tenant("organisation", org["id"]),
            data={"standard": base.standard, "bodies": [str(b) for b in body_ids]},
        )
        # One entry per body: what a later outbox turns into the "new request" e-mail.
        for body_id in body_ids:
            await log_action(
                "marketplace.quote_request.received",
                actor_id=actor_id,
                entity_type="quote_request",
                entity_id=req.id,
                tenant=Tenant("body", body_id),
                data={"organisation": org["name"], "standard": base.standard},
            )
    return req.id


async def get_request_row(request_id: uuid.UUID) -> dict[str, Any]:
    rows = (
        await QuoteRequest.select(
            *QuoteRequest.all_columns(),
            QuoteRequest.organisation.name.as_alias("organisation_name"),
        )
        .where(QuoteRequest.id == request_id)
        .run()
    )
    if not rows:
        raise NotFound("No such quote request.")
    row: dict[str, Any] = rows[0]
    return row


async def get_quote_row(quote_id: uuid.UUID) -> dict[str, Any]:
    rows = (
        await Quote.select(
            *Quote.all_columns(), Quote.request.organisation.as_alias("organisation")
        )
        .where(Quote.id == quote_id)
        .run()
    )
    if not rows:
        raise NotFound("No such quote.")
    row: dict[str, Any] = rows[0]
    return row


def is_expired(quote: dict[str, Any], today: dt.date | None = None) -> bool:
    """A quote past its validity date cannot be accepted (compared by date, in UTC)."""
    return quote_status.is_expired(quote["status"], quote["valid_until"], today or clock.today())


async def _quotes_with_lines(where: Any) -> list[dict[str, Any]]:
    quotes: list[dict[str, Any]] = (
        await Quote.select(*Quote.all_columns(), Quote.body.name.as_alias("body_name"))
        .where(where)
        .order_by(Quote.created_at)
        .run()
    )
    if not quotes:
        return quotes
    lines = (
        await QuoteLine.select()
        .where(QuoteLine.quote.is_in([q["id"] for q in quotes]))
        .order_by(QuoteLine.quote)
        .run()
    )
    order = {kind: i for i, kind in enumerate(AUDIT_KINDS)}
    today = clock.today()
    for q in quotes:
        q["body_id"] = q["body"]
        q["engagement_id"] = q["engagement"]
        q["expired"] = is_expired(q, today)
        q["lines"] = sorted(
            (ln for ln in lines if ln["quote"] == q["id"]),
            key=lambda ln: order.get(ln["audit_kind"], 99),
        )
        q["days"] = {ln["audit_kind"]: ln["auditor_days"] for ln in q["lines"]}
    return quotes


async def request_view(request_id: uuid.UUID, viewer: Viewer) -> dict[str, Any]:
    """The request with its recipients and quotes, cut down to what the viewer may see."""
    req = await get_request_row(request_id)
    recipients_q = QuoteRequestRecipient.select(
        *QuoteRequestRecipient.all_columns(),
        QuoteRequestRecipient.body.name.as_alias("body_name"),
    ).where(QuoteRequestRecipient.request == request_id)
    quotes_where: Any = Quote.request == request_id
    if not viewer.client:
        ids = list(viewer.body_ids)
        recipients_q = recipients_q.where(QuoteRequestRecipient.body.is_in(ids))
        quotes_where = quotes_where & Quote.body.is_in(ids)
    recipients = await recipients_q.order_by(QuoteRequestRecipient.created_at).run()
    for r in recipients:
        r["body_id"] = r["body"]
    req["organisation_id"] = req["organisation"]
    req["recipients"] = recipients
    req["quotes"] = await _quotes_with_lines(quotes_where)
    return req


async def _page(query: Any, count: Any, params: PageParams) -> tuple[list[dict[str, Any]], int]:
    rows: list[dict[str, Any]] = await query.limit(params.per_page).offset(params.offset).run()
    total: int = await count.run()
    return rows, total


async def inbox(body_id: uuid.UUID, params: PageParams, status: str | None = None) -> Page[Any]:
    """The requests sent to a body, newest first, with its own answer's status."""
    where: Any = QuoteRequestRecipient.body == body_id
    if status and status not in RECIPIENT_STATUSES:
        raise Invalid.field("status", f"Filter by one of {', '.join(RECIPIENT_STATUSES)}.")
    if status:
        where = where & (QuoteRequestRecipient.status == status)
    # Typed as Any: Piccolo's joined-column access is dynamic and mypy cannot follow it.
    r: Any = QuoteRequestRecipient.request
    rows, total = await _page(
        QuoteRequestRecipient.select(
            r.id.as_alias("id"),
            r.organisation.name.as_alias("organisation_name"),
            r.standard.as_alias("standard"),
            r.iaf_sector.as_alias("iaf_sector"),
            r.effective_personnel.as_alias("effective_personnel"),
            r.sites.as_alias("sites"),
            r.status.as_alias("request_status"),
            r.baseline_days.as_alias("baseline_days"),
            r.desired_start.as_alias("desired_start"),
            r.created_at.as_alias("created_at"),
            QuoteRequestRecipient.status,
        )
        .where(where)
        .order_by(QuoteRequestRecipient.created_at, ascending=False),
        QuoteRequestRecipient.count().where(where),
        params,
    )
    quote_ids = {}
    if rows:
        quote_ids = {
            q["request"]: q["id"]
            for q in await Quote.select(Quote.id, Quote.request)
            .where((Quote.body == body_id) & Quote.request.is_in([x["id"] for x in rows]))
            .run()
        }
    for row in rows:
        row["quote_id"] = quote_ids.get(row["id"])
    return Page(items=rows, total=total, page=params.page, per_page=params.per_page)


async def requests_of_organisation(organisation_id: uuid.UUID, params: PageParams) -> Page[Any]:
    """A client's requests, newest first, with how many bodies answered."""
    where: Any = QuoteRequest.organisation == organisation_id
    rows, total = await _page(
        QuoteRequest.select(
            *QuoteRequest.all_columns(),
            QuoteRequest.organisation.name.as_alias("organisation_name"),
        )
        .where(where)
        .order_by(QuoteRequest.created_at, ascending=False),
        QuoteRequest.count().where(where),
        params,
    )
    if rows:
        recipients = (
            await QuoteRequestRecipient.select(
                QuoteRequestRecipient.request, QuoteRequestRecipient.status
            )
            .where(QuoteRequestRecipient.request.is_in([x["id"] for x in rows]))
            .run()
        )
        for row in rows:
            mine = [x["status"] for x in recipients if x["request"] == row["id"]]
            row["recipient_count"] = len(mine)
            row["answered_count"] = sum(1 for s in mine if s != "pending")
    return Page(items=rows, total=total, page=params.page, per_page=params.per_page)


# --- what a signed-in caller asks for ------------------------------------------------------


async def send_request(principal: Principal, data: QuoteRequestIn) -> uuid.UUID:
    """A client owner or quality manager sends a request for their organisation (see create_request)."""
    require_role(
        principal,
        TenantKind.organisation,
        data.organisation_id,
        REQUESTERS,
        what="No such organisation.",
    )
    return await create_request(principal.user_id, msgspec.to_builtins(data))


async def visible_request(
    principal: Principal, request_id: uuid.UUID
) -> tuple[Viewer, dict[str, Any]]:
    """The request as the caller may see it (the client all, a recipient body its own part)."""
    req = await get_request_row(request_id)
    viewer = await viewer_of(principal, req)
    return viewer, await request_view(request_id, viewer)


async def request_out(principal: Principal, request_id: uuid.UUID) -> QuoteRequestOut:
    _, view = await visible_request(principal, request_id)
    return msgspec.convert(view, QuoteRequestOut, strict=False)


async def organisation_requests(
    principal: Principal, organisation_id: uuid.UUID, params: PageParams
) -> Page[RequestSummaryOut]:
    """The organisation's requests, for any of its members."""
    require_role(principal, TenantKind.organisation, organisation_id, what="No such organisation.")
    result = await requests_of_organisation(organisation_id, params)
    return Page(
        items=[msgspec.convert(r, RequestSummaryOut, strict=False) for r in result.items],
        total=result.total,
        page=result.page,
        per_page=result.per_page,
    )


async def body_inbox(
    principal: Principal, body_id: uuid.UUID, params: PageParams, status: str | None = None
) -> Page[InboxItemOut]:
    """The body's inbox, for its owner and schedulers."""
    require_role(
        principal, TenantKind.body, body_id, QUOTE_HANDLERS, what="No such certification body."
    )
    result = await inbox(body_id, params, status)
    return Page(
        items=[msgspec.convert(r, InboxItemOut, strict=False) for r in result.items],
        total=result.total,
        page=result.page,
        per_page=result.per_page,
    )
