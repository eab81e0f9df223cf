"""notify() writes outbox rows in the caller's transaction; preferences say who wants which e-mails."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from marketplace.accounts import credentials as account_services
from marketplace.accounts.names import body_name, organisation_name
from marketplace.accounts.roles import TenantKind
from marketplace.accounts.tables import Membership, User
from marketplace.core import clock
from marketplace.core.activity import ActionEntry, log_action, on_action
from marketplace.core.db import write_transaction
from marketplace.core.errors import Conflict, Invalid, NotFound
from marketplace.core.observability import add_collector
from marketplace.core.pagination import Page, PageParams
from marketplace.notifications import metrics
from marketplace.notifications.schemas import PreferenceOut
from marketplace.notifications.tables import NotificationPreference, OutboxMessage

STATUSES = ("pending", "sending", "sent", "failed")


@dataclass(frozen=True)
class Kind:
    """A kind of notification a user can switch on or off (`optional=False`: always sent)."""

    code: str
    label: str
    description: str
    optional: bool = True


KINDS: dict[str, Kind] = {
    k.code: k
    for k in (
        Kind(
            "quote_request_received",
            "Quote requests",
            "A client sends my certification body a quote request.",
        ),
        Kind("quote_received", "Quotes", "A certification body answers my quote request."),
        Kind(
            "audit_scheduling",
            "Audit dates",
            "An audit is proposed, confirmed, rescheduled or cancelled (with a calendar invitation).",
        ),
        Kind("report_issued", "Audit reports", "An audit report about my organisation is issued."),
        Kind(
            "corrective_action_reminder",
            "Corrective action reminders",
            "A corrective action I answer for is due in 7 days, or is overdue.",
        ),
        Kind("invoice_issued", "Invoices", "A certification body issues an invoice to us."),
        Kind("invoice_paid", "Payments", "A client pays one of my body's invoices."),
        Kind(
            "payment_receipt",
            "Payment receipts",
            "A payment of one of our invoices reaches the certification body.",
        ),
        Kind(
            "invoice_overpaid",
            "Overpayments",
            "More money than an invoice's amount due arrives and must be refunded.",
            # Money the body holds without right: its finance people always hear of it.
            optional=False,
        ),
        Kind(
            "certificate_status",
            "Certificate status",
            "A certificate is at risk of suspension, suspended, or about to expire.",
        ),
        Kind(
            "document_room",
            "Document room",
            "A client shares documents or an internal audit with my body, or a certification "
            "body comments on our documents.",
        ),
        Kind(
            "invitation",
            "Invitations",
            "Someone invites an address to join their organisation or body.",
            optional=False,
        ),
        Kind(
            "password_reset",
            "Password reset",
            "Someone asks for a password reset link for my account.",
            optional=False,
        ),
    )
}


def _json_safe(data: Mapping[str, Any]) -> dict[str, Any]:
    # UUIDs, dates and datetimes become strings: the row must read back the same on both engines.
    loaded: dict[str, Any] = json.loads(json.dumps(dict(data), default=str))
    return loaded


async def notify(
    kind: str,
    *,
    data: Mapping[str, Any],
    user_ids: Iterable[uuid.UUID] = (),
    emails: Iterable[str] = (),
    template: str | None = None,
    dedupe_key: str | None = None,
) -> int:
    """Write one outbox row per recipient; returns how many were written.

    Runs in the caller's transaction when there is one (Piccolo picks up the open transaction),
    so the e-mail exists exactly when its cause committed. Users who switched this kind off, and
    deactivated users, are left out. With `dedupe_key`, a recipient already notified under that
    key is skipped (the unique index decides, also between concurrent sweeps).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    letter = _Letter(kind, template or kind, _json_safe(data), dedupe_key, clock.now())
    seen_emails: set[str] = set()
    rows = await _user_rows(letter, list(dict.fromkeys(user_ids)), seen_emails)
    for address in dict.fromkeys(e.strip().lower() for e in emails if e and e.strip()):
        if address in seen_emails:
            continue
        seen_emails.add(address)
        rows.append(
            letter.row(None, address, {"recipient_name": letter.payload.get("recipient_name", "")})
        )
    if not rows:
        return 0
    query = OutboxMessage.insert(*rows)
    if dedupe_key:
        inserted = (
            await query.on_conflict(target=OutboxMessage.dedupe_key, action="DO NOTHING")
            .returning(OutboxMessage.id)
            .run()
        )
        return len(inserted)
    await query.run()
    return len(rows)


@dataclass(frozen=True)
class _Letter:
    """What every outbox row of one notify() call shares."""

    kind: str
    template: str
    payload: dict[str, Any]
    dedupe_key: str | None
    now: dt.datetime

    def row(self, user_id: uuid.UUID | None, email: str, extra: dict[str, Any]) -> OutboxMessage:
        recipient = str(user_id) if user_id is not None else email
        return OutboxMessage(
            kind=self.kind,
            template=self.template,
            user=user_id,
            email=email,
            data={**self.payload, **extra},
            next_attempt_at=self.now,
            created_at=self.now,
            dedupe_key=f"{self.dedupe_key}:{recipient}"[:200] if self.dedupe_key else None,
        )


async def _user_rows(
    letter: _Letter, ids: list[uuid.UUID], seen_emails: set[str]
) -> list[OutboxMessage]:
    """Rows for the active users among `ids` who have not switched this kind off."""
    if not ids:
        return []
    users = (
        await User.select(User.id, User.email, User.name, User.time_zone)
        .where(User.id.is_in(ids) & User.is_active.eq(True))
        .run()
    )
    off: set[uuid.UUID] = set()
    if KINDS[letter.kind].optional:
        off = {
            r["user"]
            for r in await NotificationPreference.select(NotificationPreference.user)
            .where(
                NotificationPreference.user.is_in(ids)
                & (NotificationPreference.kind == letter.kind)
                & NotificationPreference.email.eq(False)
            )
            .run()
        }
    rows = []
    for u in sorted(users, key=lambda u: str(u["email"])):
        seen_emails.add(u["email"])
        if u["id"] in off:
            continue
        # Templates may show times in the reader's zone as well as the event's.
        extra = {"recipient_name": u["name"], "recipient_time_zone": u["time_zone"]}
        rows.append(letter.row(u["id"], u["email"], extra))
    return rows


async def members_with_roles(
    kind: TenantKind | str, tenant_id: uuid.UUID, roles: Iterable[str]
) -> list[uuid.UUID]:
    """The users holding one of `roles` in a tenant (who a tenant-wide notification goes to)."""
    column = Membership.organisation if kind == TenantKind.organisation else Membership.body
    rows = (
        await Membership.select(Membership.user)
        .where((column == tenant_id) & Membership.role.is_in(list(roles)))
        .run()
    )
    return list(dict.fromkeys(r["user"] for r in rows))


# --- preferences ------------------------------------------------------------------------------


async def preferences(user_id: uuid.UUID) -> list[PreferenceOut]:
    """Every optional kind with the user's choice (on unless they switched it off)."""
    chosen = {
        r["kind"]: r["email"]
        for r in await NotificationPreference.select(
            NotificationPreference.kind, NotificationPreference.email
        )
        .where(NotificationPreference.user == user_id)
        .run()
    }
    return [
        PreferenceOut(
            kind=k.code,
            label=k.label,
            description=k.description,
            email=bool(chosen.get(k.code, True)),
        )
        for k in KINDS.values()
        if k.optional
    ]


async def set_preferences(user_id: uuid.UUID, choices: Mapping[str, bool]) -> list[PreferenceOut]:
    """Save the choices given (kinds not named keep theirs); an unknown kind is refused whole."""
    unknown = [k for k in choices if k not in KINDS or not KINDS[k].optional]
    if unknown:
        raise Invalid.field(
            "preferences",
            f"Unknown notification kind: {', '.join(sorted(unknown))}. Choose from: "
            + ", ".join(k.code for k in KINDS.values() if k.optional)
            + ".",
        )
    async with write_transaction():
        existing = {
            r["kind"]: r["id"]
            for r in await NotificationPreference.select(
                NotificationPreference.id, NotificationPreference.kind
            )
            .where(NotificationPreference.user == user_id)
            .run()
        }
        for kind, on in choices.items():
            if kind in existing:
                await (
                    NotificationPreference.update(
                        {
                            NotificationPreference.email: bool(on),
                            NotificationPreference.updated_at: clock.now(),
                        }
                    )
                    .where(NotificationPreference.id == existing[kind])
                    .run()
                )
            else:
                await NotificationPreference.insert(
                    NotificationPreference(user=user_id, kind=kind, email=bool(on))
                ).run()
    return await preferences(user_id)


# --- the outbox, for platform administrators --------------------------------------------------


async def outbox_counts() -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for status in STATUSES:
        counts[status] = await OutboxMessage.count().where(OutboxMessage.status == status).run()
    return counts


async def outbox_page(params: PageParams, status: str | None = None) -> Page[dict[str, Any]]:
    """Newest first; never the message data (it may hold other tenants' business)."""
    where: Any = OutboxMessage.id.is_not_null()
    if status:
        if status not in STATUSES:
            raise Invalid.field("status", f"Choose one of {', '.join(STATUSES)}.")
        where &= OutboxMessage.status == status
    rows = (
        await OutboxMessage.select(
            OutboxMessage.id,
            OutboxMessage.kind,
            OutboxMessage.template,
            OutboxMessage.email,
            OutboxMessage.status,
            OutboxMessage.attempts,
            OutboxMessage.next_attempt_at,
            OutboxMessage.sent_at,
            OutboxMessage.last_error,
            OutboxMessage.created_at,
        )
        .where(where)
        .order_by(OutboxMessage.created_at, ascending=False)
        .limit(params.per_page)
        .offset(params.offset)
        .run()
    )
    total = await OutboxMessage.count().where(where).run()
    return Page(items=rows, total=total, page=params.page, per_page=params.per_page)


async def retry_message(message_id: uuid.UUID) -> None:
    """Give a failed message a fresh set of attempts (after the administrator fixed the cause)."""
    updated = (
        await OutboxMessage.update(
            {
                OutboxMessage.status: "pending",
                OutboxMessage.attempts: 0,
                OutboxMessage.next_attempt_at: clock.now(),
            }
        )
        .where((OutboxMessage.id == message_id) & (OutboxMessage.status == "failed"))
        .returning(OutboxMessage.id)
        .run()
    )
    if not updated:
        if not await OutboxMessage.exists().where(OutboxMessage.id == message_id).run():
            raise NotFound("No such message.")
        raise Conflict("Only a failed message can be retried.", code="not_failed")
    await metrics.add("requeued:operator")


async def retry_failed(
    actor_id: uuid.UUID | None, *, causes: Sequence[str] | None = None, trigger: str = "operator"
) -> int:
    """Give every failed message (or those that failed for one of `causes`) a fresh set of
    attempts; returns how many. One conditional UPDATE: a message a worker or another operator
    requeued meanwhile is not counted twice."""
    where: Any = OutboxMessage.status == "failed"
    if causes is not None:
        where &= OutboxMessage.failure_cause.is_in(list(causes))
    async with write_transaction():
        updated = (
            await OutboxMessage.update(
                {
                    OutboxMessage.status: "pending",
                    OutboxMessage.attempts: 0,
                    OutboxMessage.next_attempt_at: clock.now(),
                }
            )
            .where(where)
            .returning(OutboxMessage.id)
            .run()
        )
        if updated:
            await log_action(
                "marketplace.outbox.retried",
                actor_id=actor_id,
                entity_type="outbox",
                entity_id="failed",
                data={"count": len(updated), "trigger": trigger, "causes": list(causes or [])},
            )
            await metrics.add(f"requeued:{trigger}", len(updated))
    return len(updated)


# --- accounts' invitations (accounts lies below us, so we listen to its log) -----------------


async def _invitation_created(entry: ActionEntry) -> None:
    email = str(entry.data.get("email") or "")
    token = str(entry.private.get("token") or "")
    if not email or not token or entry.tenant is None:
        return
    if entry.tenant.kind == TenantKind.organisation:
        tenant_name = await organisation_name(entry.tenant.id)
    else:
        tenant_name = await body_name(entry.tenant.id)
    inviter = None
    if entry.actor_id is not None:
        inviter = await User.select(User.name).where(User.id == entry.actor_id).first().run()
    await notify(
        "invitation",
        emails=[email],
        data={
            "tenant_kind": entry.tenant.kind,
            "tenant_name": tenant_name,
            "role": str(entry.data.get("role", "")).replace("_", " "),
            "inviter": inviter["name"] if inviter else "",
            "email": email,
            # The single-use link; only its hash is kept by accounts.
            "path": f"/invitations/{token}",
            "valid_days": entry.private.get("valid_days", 7),
        },
    )


async def _password_reset_requested(entry: ActionEntry) -> None:
    # The link's secret lives only in this outbox row (the admin outbox never shows data).
    path = str(entry.private.get("path") or "")
    if not path:
        return
    minutes = int(account_services.RESET_VALID_FOR.total_seconds() // 60)
    await notify(
        "password_reset",
        user_ids=[uuid.UUID(entry.entity_id)],
        data={"path": path, "minutes": minutes},
    )


def install() -> None:
    """Listen to the accounts actions this floor turns into e-mails; show the outbox on /metrics."""
    on_action("marketplace.invitation.created", _invitation_created)
    on_action("marketplace.account.password_reset_requested", _password_reset_requested)
    add_collector(metrics.metrics_lines)
