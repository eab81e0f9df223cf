"""Dashboard tables: a body's internal notes about a client organisation."""

from __future__ import annotations

from piccolo.columns import UUID, ForeignKey, OnDelete, Text, Timestamptz
from piccolo.table import Table

from marketplace.accounts.tables import CertificationBody, Organisation, User
from marketplace.core import clock


class ClientNote(Table):
    """A note a body keeps about one client: internal to the body, never shown to the client."""

    id = UUID(primary_key=True)
    body = ForeignKey(CertificationBody, null=False, on_delete=OnDelete.cascade, index=True)
    organisation = ForeignKey(Organisation, null=False, on_delete=OnDelete.cascade, index=True)
    author = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    text = Text()
    created_at = Timestamptz(default=clock.now)
