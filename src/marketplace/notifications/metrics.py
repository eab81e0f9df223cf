"""The outbox and the worker on `/metrics`: messages by state, the oldest pending message's age,
sends and failures by cause, requeues, and the workers' last heartbeat.

The worker may run in another process or host than the app that is scraped, so its totals live
in the database (`worker_stat`, one row per figure, added to by one upsert) rather than in
process memory; every app process therefore shows the same figures. Counters only grow.
"""

from __future__ import annotations

import smtplib
import uuid
from typing import Any

from piccolo.query.functions.aggregate import Count

from marketplace.core import clock
from marketplace.notifications.email import PermanentFailure
from marketplace.notifications.tables import OutboxMessage, WorkerStat

STATES = ("pending", "sending", "sent", "failed")
# Why an attempt failed, in a word. "connection" and "timeout" mean the server did not answer:
# those failed messages go back to pending by themselves once it answers again.
CAUSES = ("connection", "timeout", "refused", "deferred", "auth", "other")
UNANSWERED = ("connection", "timeout")
HEARTBEAT = "heartbeat"

_ADD = """
INSERT INTO worker_stat (id, name, value, updated_at) VALUES ({}, {}, {}, {})
ON CONFLICT (name) DO UPDATE SET value = worker_stat.value + excluded.value,
    updated_at = excluded.updated_at
"""
_SET = """
INSERT INTO worker_stat (id, name, value, updated_at) VALUES ({}, {}, {}, {})
ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
"""


def cause_of(exc: BaseException) -> str:
    """One word for a failed send (smtplib's errors are OSErrors: those are looked at first)."""
    if isinstance(exc, PermanentFailure):
        return "refused"  # 5xx: the server answered no for good
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return "auth"
    if isinstance(exc, smtplib.SMTPConnectError | smtplib.SMTPServerDisconnected):
        return "connection"
    if isinstance(exc, smtplib.SMTPException):
        return "deferred"  # a 4xx or an unexpected reply: the server answered "not now"
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, OSError):
        return "connection"  # refused, unreachable, name not found, reset
    return "other"  # e.g. a template that cannot render


async def add(name: str, amount: float = 1.0) -> None:
    """Add to a counter (created at its first use)."""
    await WorkerStat.raw(_ADD, str(uuid.uuid4()), name, float(amount), clock.now()).run()


async def heartbeat() -> None:
    """The worker is alive: record now as a Unix time."""
    now = clock.now()
    await WorkerStat.raw(_SET, str(uuid.uuid4()), HEARTBEAT, now.timestamp(), now).run()


def _gauge(name: str, help_: str) -> list[str]:
    return [f"# HELP {name} {help_}", f"# TYPE {name} gauge"]


def _counter(name: str, help_: str) -> list[str]:
    return [f"# HELP {name} {help_}", f"# TYPE {name} counter"]


async def metrics_lines() -> list[str]:
    """Prometheus text lines for the outbox and the worker (two small queries and one count)."""
    counts = dict.fromkeys(STATES, 0)
    rows: list[dict[str, Any]] = await (
        OutboxMessage.select(OutboxMessage.status, Count(OutboxMessage.id, alias="n"))
        .group_by(OutboxMessage.status)
        .run()
    )
    for row in rows:
        counts[str(row["status"])] = int(row["n"])
    oldest = (
        await OutboxMessage.select(OutboxMessage.created_at)
        .where(OutboxMessage.status == "pending")
        .order_by(OutboxMessage.created_at)
        .first()
        .run()
    )
    age = (clock.now() - oldest["created_at"]).total_seconds() if oldest else 0.0
    stats = {
        str(r["name"]): float(r["value"])
        for r in await WorkerStat.select(WorkerStat.name, WorkerStat.value).run()
    }

    lines = _gauge("marketplace_outbox_messages", "Outbox messages by state.")
    lines += [f'marketplace_outbox_messages{{state="{s}"}} {counts[s]}' for s in STATES]
    lines += _gauge(
        "marketplace_outbox_oldest_pending_age_seconds",
        "Age of the oldest pending outbox message (0 when none is pending).",
    )
    lines.append(f"marketplace_outbox_oldest_pending_age_seconds {max(0.0, age):.3f}")
    lines += _counter("marketplace_outbox_sent_total", "E-mails the SMTP server accepted.")
    lines.append(f"marketplace_outbox_sent_total {stats.get('sent', 0):.0f}")
    lines += _counter("marketplace_outbox_send_failures_total", "Failed send attempts by cause.")
    lines += [
        f'marketplace_outbox_send_failures_total{{cause="{c}"}} {stats.get(f"failed:{c}", 0):.0f}'
        for c in CAUSES
    ]
    lines += _counter(
        "marketplace_outbox_requeued_total",
        "Failed messages put back to pending, by an operator or automatically.",
    )
    lines += [
        f'marketplace_outbox_requeued_total{{trigger="{t}"}} {stats.get(f"requeued:{t}", 0):.0f}'
        for t in ("operator", "automatic")
    ]
    lines += _gauge(
        "marketplace_worker_last_heartbeat_timestamp_seconds",
        "Unix time of the last heartbeat of any outbox worker (0: never).",
    )
    lines.append(
        f"marketplace_worker_last_heartbeat_timestamp_seconds {stats.get(HEARTBEAT, 0):.3f}"
    )
    return lines
