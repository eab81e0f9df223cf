"""Certificate status changes: suspension, withdrawal and restoration (ISO/IEC 17021-1 9.6.5)."""

from __future__ import annotations

import uuid
from typing import Any

from marketplace.accounts.guards import Principal, require_role
from marketplace.accounts.roles import TenantKind
from marketplace.certificates.decisions import DECIDERS, refuse
from marketplace.certificates.registry import certificate_row, record_event
from marketplace.certificates.tables import Certificate
from marketplace.core import clock
from marketplace.core.activity import Tenant, log_action
from marketplace.core.db import write_transaction
from marketplace.core.errors import Invalid
from marketplace.rules.certification import EVENT, CertificateAction, next_status


def _reason(reason: str) -> str:
    if not reason.strip():
        raise Invalid.field("reason", "Give the reason; it is kept in the certificate's history.")
    return reason.strip()


async def _change(
    actor_id: uuid.UUID | None, number: str, action: CertificateAction, reason: str
) -> None:
    """Move the certificate along ``rules.certification.TRANSITIONS``, with history and log."""
    reason = _reason(reason)
    async with write_transaction():
        row = await certificate_row(number)
        today = clock.today()
        after = next_status(
            row.effective_status, action, suspended_on=row.suspended_on, today=today
        )
        if not isinstance(after, str):
            refuse(after)
        extra: dict[Any, Any] = {}
        if action is CertificateAction.suspend:
            extra = {Certificate.suspended_on: today}
        elif action is CertificateAction.restore:
            extra = {Certificate.suspended_on: None}
        await (
            Certificate.update(
                {
                    Certificate.status: after,
                    Certificate.status_reason: reason,
                    Certificate.updated_at: clock.now(),
                    **extra,
                }
            )
            .where(Certificate.id == row.id)
            .run()
        )
        event = EVENT[action]
        await record_event(actor_id, row.id, event, after, reason)
        await log_action(
            f"marketplace.certificate.{event}",
            actor_id=actor_id,
            entity_type="certificate",
            entity_id=row.id,
            tenant=Tenant("body", row.body),
            data={"number": row.number, "reason": reason},
        )


async def suspend(actor_id: uuid.UUID | None, number: str, reason: str) -> None:
    """Suspend an active certificate (ISO/IEC 17021-1:2015 9.6.5: missed surveillance, failures).

    A suspended certificate is temporarily invalid; it is restored or withdrawn within 6 months.
    """
    await _change(actor_id, number, CertificateAction.suspend, reason)


async def withdraw(actor_id: uuid.UUID | None, number: str, reason: str) -> None:
    """Withdraw an active or suspended certificate; withdrawal is final (ISO/IEC 17021-1 9.6.5)."""
    await _change(actor_id, number, CertificateAction.withdraw, reason)


async def restore(actor_id: uuid.UUID | None, number: str, reason: str) -> None:
    """Restore a suspended certificate within 6 months of its suspension (ISO/IEC 17021-1 9.6.5).

    Past that limit (``rules.cycle.suspension_limit``) the body withdraws or reduces the scope
    instead; a withdrawn or expired certificate is never restored this way.
    """
    await _change(actor_id, number, CertificateAction.restore, reason)


async def change_status(principal: Principal, number: str, action: str, reason: str) -> None:
    """A status change asked by a signed-in decision maker or owner of the certificate's body.

    Anyone else gets 404 as for an unknown number (403 for the body's other roles); an unknown
    action is a 422 on ``action``.
    """
    row = await certificate_row(number)
    require_role(
        principal, TenantKind.body, row.body, DECIDERS, what="No certificate with this number."
    )
    try:
        chosen = CertificateAction(action)
    except ValueError:
        raise Invalid.field("action", "Choose suspend, withdraw or restore.") from None
    await _change(principal.user_id, number, chosen, reason)
