"""JSON API of calendars (feed tokens, one audit as .ics) and the public feed URL itself."""

from __future__ import annotations

import datetime as dt
import uuid
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from litestar import Controller, Request, Response, delete, get, post, route
from litestar.enums import HttpMethod
from litestar.params import JSONBody, Parameter

from marketplace.accounts.guards import Principal, principal_of, requires_login
from marketplace.calendars import services
from marketplace.calendars.schemas import FeedCreatedOut, FeedIn, FeedOut
from marketplace.core.errors import NotFound
from marketplace.core.pagination import MAX_PER_PAGE, Page, PageParams
from marketplace.scheduling.context import BODY_ALL, CLIENT_ALL, audit_context, check_access
from marketplace.settings import settings_of

# Litestar appends "; charset=utf-8" to every text/* media type itself.
CALENDAR_TYPE = "text/calendar"
MAX_PAGE = 10_000


def links_of(request: Request[Any, Any, Any]) -> services.Links:
    settings = settings_of(request)
    return services.Links(settings.app.base_url, settings.mail.mail_from)


def created_out(feed: services.CreatedFeed, links: services.Links) -> FeedCreatedOut:
    url, webcal = links.feed_urls(feed.secret)
    return FeedCreatedOut(
        id=feed.id,
        scope=feed.scope,
        scope_id=feed.scope_id,
        label=feed.label,
        url=url,
        webcal_url=webcal,
    )


async def single_audit_ics(
    principal: Principal, audit_id: uuid.UUID, links: services.Links
) -> Response[bytes]:
    """One audit as .ics for a member of its organisation or body (anyone else: 404)."""
    ctx = await audit_context(audit_id)
    check_access(principal, ctx.organisation_id, ctx.body_id, client=CLIENT_ALL, body=BODY_ALL)
    body = await services.audit_calendar(audit_id, links)
    return Response(
        body,
        media_type=CALENDAR_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="audit-{audit_id}.ics"',
            "Cache-Control": "private, no-store",
        },
    )


class CalendarFeedController(Controller):
    path = "/api/v1/calendar-feeds"
    tags = ["calendars"]
    guards = [requires_login]

    @post(
        "",
        summary="Create a private calendar feed URL (the secret is shown only here)",
        status_code=201,
    )
    async def create(
        self, request: Request[Any, Any, Any], data: JSONBody[FeedIn]
    ) -> FeedCreatedOut:
        feed = await services.create_feed(
            principal_of(request), data.scope, data.scope_id, data.label
        )
        return created_out(feed, links_of(request))

    @get("", summary="The caller's calendar feeds (without secrets)")
    async def index(
        self,
        request: Request[Any, Any, Any],
        # Bounded here: a huge page number would overflow the database's integer offset.
        page: int = Parameter(default=1, ge=1, le=MAX_PAGE),
        per_page: int = Parameter(default=20, ge=1, le=MAX_PER_PAGE),
    ) -> Page[FeedOut]:
        params = PageParams.of(page, per_page)
        rows, total = await services.list_feeds(
            principal_of(request).user_id, params.per_page, params.offset
        )
        return Page(
            items=[FeedOut(**r) for r in rows],
            total=total,
            page=params.page,
            per_page=params.per_page,
        )

    @delete(
        "/{feed_id:uuid}",
        summary="Revoke a calendar feed; its URL stops working at once",
        status_code=204,
    )
    async def revoke(self, request: Request[Any, Any, Any], feed_id: uuid.UUID) -> None:
        await services.revoke_feed(principal_of(request).user_id, feed_id)


class AuditIcsController(Controller):
    path = "/api/v1/audits"
    tags = ["calendars"]
    guards = [requires_login]

    @get(
        "/{audit_id:uuid}/ics",
        summary="One audit as iCalendar (same UID as in the feeds)",
        media_type=CALENDAR_TYPE,
    )
    async def audit_ics(
        self, request: Request[Any, Any, Any], audit_id: uuid.UUID
    ) -> Response[bytes]:
        return await single_audit_ics(principal_of(request), audit_id, links_of(request))


def _not_modified(request: Request[Any, Any, Any], version: services.Version) -> bool:
    """RFC 9110 13.2.2: If-None-Match decides when present; If-Modified-Since only otherwise."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return "*" in tags or version.etag in tags
    since = request.headers.get("if-modified-since")
    if since:
        try:
            moment = parsedate_to_datetime(since)
        except (TypeError, ValueError, IndexError):
            return False
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return version.last_modified <= moment
    return False


class FeedController(Controller):
    """The subscription URL calendar apps poll: public, the secret in the path is the credential."""

    path = "/calendar"
    include_in_schema = False

    @route("/{filename:str}", http_method=[HttpMethod.GET, HttpMethod.HEAD], cache=False)
    async def feed(self, request: Request[Any, Any, Any], filename: str) -> Response[bytes]:
        links = links_of(request)
        secret = filename.removesuffix(".ics")
        found = await services.poll(secret, links) if filename.endswith(".ics") else None
        if found is None:
            raise NotFound("No such calendar feed.")
        feed, version = found
        headers = {
            "ETag": version.etag,
            "Last-Modified": format_datetime(version.last_modified, usegmt=True),
            # Private: the URL is a credential, so no shared cache may keep the answer.
            "Cache-Control": "private, max-age=0, must-revalidate",
        }
        await services.touch(feed, secret)
        if _not_modified(request, version):
            return Response(b"", status_code=304, headers=headers)
        if request.method == HttpMethod.HEAD:
            return Response(b"", media_type=CALENDAR_TYPE, headers=headers)
        body = await services.render_feed(feed, links)
        return Response(
            body,
            media_type=CALENDAR_TYPE,
            headers={**headers, "Content-Disposition": 'inline; filename="calendar.ics"'},
        )
