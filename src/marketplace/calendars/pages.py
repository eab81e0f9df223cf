"""HTML pages of calendars: create, list and revoke feeds; download one audit as .ics."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote, urlencode

from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect, Template

from marketplace.accounts.guards import Principal, me, requires_login
from marketplace.calendars import services
from marketplace.calendars.api import created_out, links_of, single_audit_ics
from marketplace.calendars.schemas import FeedIn
from marketplace.core.errors import DomainError, Invalid
from marketplace.web.forms import convert, errors_by_field, form_data


def _subscribe_links(url: str, webcal: str, name: str) -> dict[str, str]:
    return {
        "google": "https://calendar.google.com/calendar/r?" + urlencode({"cid": webcal}),
        "outlook": "https://outlook.live.com/calendar/0/addfromweb?"
        + urlencode({"url": url, "name": name}, quote_via=quote),
    }


class CalendarPages(Controller):
    include_in_schema = False
    guards = [requires_login]

    async def _page(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        *,
        created: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Template:
        choices = await services.scope_choices(principal)
        names = {(c.scope, c.scope_id): c.label for c in choices}
        feeds, _ = await services.list_feeds(principal.user_id)
        for f in feeds:
            f["scope_label"] = names.get(
                (f["scope"], f["scope_id"]), f"{f['scope']} (no longer yours)"
            )
        return Template(
            "calendars/index.html",
            context={
                "choices": choices,
                "feeds": feeds,
                "created": created,
                "errors": errors or {},
                "tz": principal.time_zone,
            },
            status_code=status_code,
        )

    @get("/calendars")
    async def index(self, request: Request[Any, Any, Any]) -> Template:
        return await self._page(request, me(request))

    @post("/calendars")
    async def create(self, request: Request[Any, Any, Any]) -> Template:
        principal = me(request)
        data = await form_data(request)
        scope, _, scope_id = str(data.get("choice", "")).partition(":")
        try:
            if not scope or not scope_id:
                raise Invalid.field("choice", "Choose what the calendar shows.")
            feed_in: FeedIn = convert(
                {"scope": scope, "scope_id": scope_id, "label": str(data.get("label", ""))},
                FeedIn,
            )
            feed = await services.create_feed(
                principal, feed_in.scope, feed_in.scope_id, feed_in.label
            )
        except DomainError as exc:
            errors = errors_by_field(exc)
            if "scope" in errors or "scope_id" in errors:
                errors = {"choice": errors.get("scope") or errors.get("scope_id") or exc.detail}
            return await self._page(request, principal, errors=errors, status_code=exc.status_code)
        out = created_out(feed, links_of(request))
        name = feed.label or "CertMarket audits"
        # The secret exists only in this response: it is rendered now, never stored or redirected.
        created = {
            "label": name,
            "url": out.url,
            "webcal_url": out.webcal_url,
            **_subscribe_links(out.url, out.webcal_url, name),
        }
        return await self._page(request, principal, created=created, status_code=201)

    @post("/calendars/{feed_id:uuid}/revoke")
    async def revoke(self, request: Request[Any, Any, Any], feed_id: uuid.UUID) -> Redirect:
        await services.revoke_feed(me(request).user_id, feed_id)
        return Redirect("/calendars")

    @get("/audits/{audit_id:uuid}/calendar.ics")
    async def audit_ics(
        self, request: Request[Any, Any, Any], audit_id: uuid.UUID
    ) -> Response[bytes]:
        """The "Download .ics" target for browsers (session auth)."""
        return await single_audit_ics(me(request), audit_id, links_of(request))
