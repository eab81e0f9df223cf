"""E-mails when an audit is proposed, confirmed, rescheduled or cancelled: client, body planners, team."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from marketplace.accounts.names import body_name, organisation_name
from marketplace.accounts.roles import TenantKind
from marketplace.core.activity import ActionEntry, on_action
from marketplace.notifications.services import members_with_roles, notify
from marketplace.scheduling.context import KIND_LABELS, audit_context
from marketplace.scheduling.schemas import TeamRecipient
from marketplace.scheduling.tables import AuditAssignment
from marketplace.web.templating import local_time

CLIENT_RECIPIENTS = ("owner", "quality_manager")
BODY_RECIPIENTS = ("owner", "scheduler")
ACTIONS = ("proposed", "confirmed", "rescheduled", "cancelled")


async def audit_team(audit_id: uuid.UUID, released: Sequence[str] | None) -> list[TeamRecipient]:
    """The team the e-mail is about: the live one, or for a cancellation the assignments the
    cancel released (it names them in its activity entry)."""
    if released is not None and not released:
        return []  # a cancel that released nobody
    rows = (
        await AuditAssignment.select(
            AuditAssignment.id,
            AuditAssignment.auditor,
            AuditAssignment.role,
            AuditAssignment.live,
            AuditAssignment.auditor._.name.as_alias("name"),
            AuditAssignment.auditor._.email.as_alias("email"),
            AuditAssignment.auditor._.user.as_alias("user"),
        )
        # Only the rows wanted, not the audit's whole history: every reschedule releases a team
        # and books a new one, and a much-moved audit has thousands of released rows.
        .where(
            (AuditAssignment.audit == audit_id)
            & (
                AuditAssignment.live.eq(True)
                if released is None
                else AuditAssignment.id.is_in([uuid.UUID(r) for r in released])
            )
        )
        .order_by(AuditAssignment.created_at)
        .run()
    )
    by_auditor = {r["auditor"]: r for r in rows}
    order = {"lead": 0, "member": 1, "expert": 2}
    team = sorted(by_auditor.values(), key=lambda r: (order.get(r["role"], 9), r["name"]))
    return [TeamRecipient(r["auditor"], r["name"], r["role"], r["email"], r["user"]) for r in team]


async def _audit_changed(entry: ActionEntry) -> None:
    # _record logs each change for both parties; the client's entry drives the one e-mail round.
    if entry.tenant is None or entry.tenant.kind != TenantKind.organisation:
        return
    action = entry.action.rsplit(".", 1)[1]
    ctx = await audit_context(uuid.UUID(entry.entity_id))
    org, body = await organisation_name(ctx.organisation_id), await body_name(ctx.body_id)
    released = entry.data.get("released_assignments", []) if action == "cancelled" else None
    team = await audit_team(ctx.id, released)
    tz = ctx.row["time_zone"] or ctx.site_time_zone
    users = [
        *await members_with_roles(TenantKind.organisation, ctx.organisation_id, CLIENT_RECIPIENTS),
        *await members_with_roles(TenantKind.body, ctx.body_id, BODY_RECIPIENTS),
        *[m.user_id for m in team if m.user_id],
    ]
    # An auditor without an account still gets the invitation at the address the body recorded.
    emails = [m.email for m in team if not m.user_id and m.email]
    starts, ends = ctx.row["starts_at"], ctx.row["ends_at"]
    await notify(
        "audit_scheduling",
        template=f"audit_{action}",
        user_ids=users,
        emails=emails,
        data={
            "audit_id": str(ctx.id),
            "action": action,
            "sequence": entry.data.get("sequence", ctx.sequence),
            "audit_label": f"{ctx.standard.split(':')[0]} {KIND_LABELS.get(ctx.kind, ctx.kind)}",
            "organisation": org,
            "body_name": body,
            "starts": local_time(starts, tz) if starts else "",
            "ends": local_time(ends, tz) if ends else "",
            # Also as instants, so each reader's e-mail can add the times in their own zone.
            "starts_at": starts.isoformat() if starts else "",
            "ends_at": ends.isoformat() if ends else "",
            "time_zone": tz,
            "mode": "remote" if ctx.row["mode"] == "remote" else "on site",
            "team": ", ".join(f"{m.name} ({m.role})" for m in team) or "to be confirmed",
            "reason": entry.data.get("reason", ""),
            "path": f"/audits/{ctx.id}",
        },
    )


def install() -> None:
    for action in ACTIONS:
        on_action(f"marketplace.audit.{action}", _audit_changed)
