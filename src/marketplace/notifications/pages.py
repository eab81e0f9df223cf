"""HTML pages of notifications: the caller's e-mail preferences and the administrators' outbox view."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template

from marketplace.accounts.guards import me, requires_login, requires_platform_admin
from marketplace.core.errors import DomainError
from marketplace.core.pagination import PageParams
from marketplace.notifications import services
from marketplace.web.forms import form_data


class NotificationPages(Controller):
    include_in_schema = False
    guards = [requires_login]

    @get("/account/notifications")
    async def preferences(self, request: Request[Any, Any, Any], saved: bool = False) -> Template:
        rows = await services.preferences(me(request).user_id)
        return Template(
            "notifications/preferences.html", context={"preferences": rows, "saved": saved}
        )

    @post("/account/notifications")
    async def save(self, request: Request[Any, Any, Any]) -> Redirect:
        data = await form_data(request)
        # An unticked checkbox is simply absent from the form: every optional kind is decided.
        choices = {
            row.kind: data.get(f"kind_{row.kind}") == "on"
            for row in await services.preferences(me(request).user_id)
        }
        await services.set_preferences(me(request).user_id, choices)
        return Redirect("/account/notifications?saved=true", status_code=303)


class OutboxAdminPages(Controller):
    include_in_schema = False
    guards = [requires_platform_admin]

    async def _page(
        self, status: str | None, page: int, notice: str = "", status_code: int = 200
    ) -> Template:
        try:
            result = await services.outbox_page(PageParams.of(page, 50), status or None)
        except DomainError as exc:
            return Template(
                "notifications/outbox.html",
                context={"errors": {"form": exc.detail}, "page": None, "counts": {}},
                status_code=exc.status_code,
            )
        return Template(
            "notifications/outbox.html",
            context={
                "page": result,
                "counts": await services.outbox_counts(),
                "status": status or "",
                "statuses": services.STATUSES,
                "notice": notice,
                "errors": {},
            },
            status_code=status_code,
        )

    @get("/admin/outbox")
    async def outbox(
        self, status: str | None = None, page: int = 1, requeued: int | None = None
    ) -> Template:
        notice = "" if requeued is None else f"{requeued} failed message(s) back to pending."
        return await self._page(status, page, notice)

    @get("/admin/outbox/retry-failed")
    async def confirm_retry_failed(self) -> Template:
        """The confirm step: how many failed messages would be sent again."""
        counts = await services.outbox_counts()
        return Template(
            "notifications/retry_failed.html", context={"failed": counts["failed"], "errors": {}}
        )

    @post("/admin/outbox/retry-failed")
    async def retry_failed(self, request: Request[Any, Any, Any]) -> Redirect:
        requeued = await services.retry_failed(me(request).user_id)
        return Redirect(f"/admin/outbox?status=pending&requeued={requeued}", status_code=303)

    @post("/admin/outbox/{message_id:uuid}/retry")
    async def retry(self, message_id: uuid.UUID) -> Redirect:
        await services.retry_message(message_id)
        return Redirect("/admin/outbox?status=pending", status_code=303)


PAGE_CONTROLLERS = [NotificationPages, OutboxAdminPages]
