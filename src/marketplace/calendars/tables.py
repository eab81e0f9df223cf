"""Calendar tables: private subscription feeds, each a hashed secret bound to one scope."""

from __future__ import annotations

from piccolo.columns import UUID, ForeignKey, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from marketplace.accounts.tables import User
from marketplace.core import clock


class CalendarFeed(Table):
    """A private feed URL: only the SHA-256 of its secret is kept, so a leaked database leaks no URL."""

    id = UUID(primary_key=True)
    owner = ForeignKey(User, null=False, on_delete=OnDelete.cascade, index=True)
    scope = Varchar(length=20)  # me | organisation | body | auditor
    # The organisation, body, auditor or (for "me") user the feed shows; a plain id, since it
    # points at a different table per scope. Access is re-checked on every fetch.
    scope_id = UUID()
    token_hash = Varchar(length=64, unique=True)
    label = Varchar(length=200, default="")
    created_at = Timestamptz(default=clock.now)
    revoked_at = Timestamptz(null=True, default=None)
    last_used_at = Timestamptz(null=True, default=None)
