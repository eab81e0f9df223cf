"""Outbox and preference tables: what is to be sent, and who wants which notifications."""

from __future__ import annotations

from piccolo.columns import (
    JSONB,
    UUID,
    Boolean,
    DoublePrecision,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from marketplace.accounts.tables import User
from marketplace.core import clock


class OutboxMessage(Table):
    """One e-mail to one recipient, written in the same transaction as its cause, sent by a worker.

    pending -> sending (claimed with a lease) -> sent | pending again (retry) | failed.
    """

    id = UUID(primary_key=True)
    kind = Varchar(length=60, index=True)  # the preference it belongs to
    template = Varchar(length=80)  # templates/email/<template>.txt and .html
    # The user it is for (null for an invitation to an address without an account); the address
    # is resolved when the message is written, so the e-mail goes where the user was then.
    user = ForeignKey(User, null=True, on_delete=OnDelete.cascade, index=True)
    email = Varchar(length=254)
    data = JSONB(default={})
    status = Varchar(length=10, default="pending", index=True)
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(default=clock.now, index=True)
    locked_by = Varchar(length=100, null=True, default=None)
    locked_until = Timestamptz(null=True, default=None)
    sent_at = Timestamptz(null=True, default=None)
    last_error = Text(default="")
    # Why the last attempt failed, in a word (notifications.metrics.cause_of): "connection" and
    # "timeout" failures go back to pending by themselves once the server answers again.
    failure_cause = Varchar(length=20, default="")
    # Sweeps repeat themselves; the key makes "remind once" a database fact (null: no dedupe).
    dedupe_key = Varchar(length=200, null=True, default=None, unique=True)
    created_at = Timestamptz(default=clock.now, index=True)


class NotificationPreference(Table):
    """A user's choice for one kind of notification; no row means the default (e-mail on)."""

    id = UUID(primary_key=True)
    user = ForeignKey(User, null=False, on_delete=OnDelete.cascade, index=True)
    kind = Varchar(length=60)
    email = Boolean(default=True)
    updated_at = Timestamptz(default=clock.now)


class SweepRun(Table):
    """When each periodic sweep is next due; claimed with one conditional UPDATE so that of
    several workers only one runs a sweep per interval."""

    id = UUID(primary_key=True)
    name = Varchar(length=80, unique=True)
    next_run_at = Timestamptz(default=clock.now)
    last_started_at = Timestamptz(null=True, default=None)
    last_finished_at = Timestamptz(null=True, default=None)
    last_result = Text(default="")


class WorkerStat(Table):
    """Running totals the workers keep in the database, so that `/metrics` of any app process
    shows them (the worker may run in another process or host): sends, failures by cause,
    requeues, and the last heartbeat (as a Unix time)."""

    id = UUID(primary_key=True)
    name = Varchar(length=60, unique=True)  # "sent", "failed:connection", "heartbeat" ...
    value = DoublePrecision(default=0.0)
    updated_at = Timestamptz(default=clock.now)
