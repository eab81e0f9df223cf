"""JSON API of notifications: the caller's preferences, and the outbox for platform administrators."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.params import JSONBody, Parameter

from marketplace.accounts.guards import principal_of, requires_login, requires_platform_admin
from marketplace.core.pagination import Page, PageParams
from marketplace.notifications import services
from marketplace.notifications.schemas import (
    OutboxCountsOut,
    OutboxMessageOut,
    PreferencesIn,
    PreferencesOut,
    RequeuedOut,
)


class NotificationPreferenceController(Controller):
    path = "/api/v1/me/notification-preferences"
    tags = ["notifications"]
    guards = [requires_login]

    @get("", summary="Which notifications the caller receives by e-mail (all on by default)")
    async def show(self, request: Request[Any, Any, Any]) -> PreferencesOut:
        return PreferencesOut(await services.preferences(principal_of(request).user_id))

    @put("", summary="Switch kinds of notification on or off; kinds not named keep their setting")
    async def update(
        self, request: Request[Any, Any, Any], data: JSONBody[PreferencesIn]
    ) -> PreferencesOut:
        choices = {p.kind: p.email for p in data.preferences}
        return PreferencesOut(
            await services.set_preferences(principal_of(request).user_id, choices)
        )


class AdminOutboxController(Controller):
    path = "/api/v1/admin/outbox"
    tags = ["admin"]
    guards = [requires_platform_admin]

    @get("", summary="Outbox messages, newest first (no message content)")
    async def index(
        self,
        status: str | None = None,
        page: int = Parameter(default=1),
        per_page: int = Parameter(default=20),
    ) -> Page[OutboxMessageOut]:
        result = await services.outbox_page(PageParams.of(page, per_page), status)
        return msgspec.convert(msgspec.structs.asdict(result), Page[OutboxMessageOut], strict=False)

    @get("/counts", summary="How many messages are pending, sending, sent and failed")
    async def counts(self) -> OutboxCountsOut:
        return msgspec.convert(await services.outbox_counts(), OutboxCountsOut)

    @post(
        "/retry-failed",
        status_code=200,
        summary="Give every failed message a fresh set of attempts; answers how many",
    )
    async def retry_failed(self, request: Request[Any, Any, Any]) -> RequeuedOut:
        return RequeuedOut(await services.retry_failed(principal_of(request).user_id))

    @post("/{message_id:uuid}/retry", status_code=200, summary="Retry a failed message")
    async def retry(self, message_id: uuid.UUID) -> OutboxCountsOut:
        await services.retry_message(message_id)
        return msgspec.convert(await services.outbox_counts(), OutboxCountsOut)


API_CONTROLLERS = [NotificationPreferenceController, AdminOutboxController]
