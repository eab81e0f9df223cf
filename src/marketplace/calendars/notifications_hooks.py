"""Audit e-mails carry an iTIP invitation (RFC 5546): REQUEST while the audit stands, CANCEL once cancelled."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from marketplace.calendars.services import Links, audit_invitation
from marketplace.core.errors import NotFound
from marketplace.notifications.email import Attachment
from marketplace.notifications.worker import register_attachment
from marketplace.scheduling.tables import Audit
from marketplace.settings import Settings

TEMPLATES = ("audit_proposed", "audit_confirmed", "audit_rescheduled", "audit_cancelled")


async def invitation_attachment(message: dict[str, Any], settings: Settings) -> list[Attachment]:
    """Built when the e-mail is sent, so it carries the audit's current SEQUENCE and team."""
    audit_id = uuid.UUID(str(message["data"]["audit_id"]))
    method: Literal["REQUEST", "CANCEL"] = (
        "CANCEL" if message["template"] == "audit_cancelled" else "REQUEST"
    )
    current = await Audit.select(Audit.status).where(Audit.id == audit_id).first().run()
    if current is None or (method == "REQUEST" and current["status"] == "cancelled"):
        return []  # cancelled since: the cancellation e-mail carries the CANCEL
    try:
        data = await audit_invitation(
            audit_id, Links(settings.app.base_url, settings.mail.mail_from), method
        )
    except NotFound:
        return []
    return [Attachment("invite.ics", "text/calendar", data, {"method": method, "charset": "UTF-8"})]


def install() -> None:
    for template in TEMPLATES:
        register_attachment(template, invitation_attachment)
