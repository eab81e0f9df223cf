"""Review table: one review per engagement, with the body's single reply and moderation state."""

from __future__ import annotations

from piccolo.columns import UUID, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from marketplace.accounts.tables import CertificationBody, Organisation, User
from marketplace.core import clock
from marketplace.scheduling.tables import Engagement


class Review(Table):
    """A client's review of a body for one engagement; hidden reviews drop out of the ratings."""

    id = UUID(primary_key=True)
    body = ForeignKey(CertificationBody, null=False, on_delete=OnDelete.cascade, index=True)
    organisation = ForeignKey(Organisation, null=False, on_delete=OnDelete.cascade, index=True)
    # Unique: one review per engagement (also guarded in the service for a clear 409).
    engagement = ForeignKey(Engagement, null=False, on_delete=OnDelete.cascade, unique=True)
    author = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    rating = Integer()
    competence = Integer()
    communication = Integer()
    value = Integer()
    punctuality = Integer()
    text = Text(default="")
    status = Varchar(length=12, default="published", index=True)  # published | hidden
    hidden_reason = Text(default="")
    hidden_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    reply = Text(default="")
    replied_at = Timestamptz(null=True, default=None)
    replied_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=clock.now, index=True)
