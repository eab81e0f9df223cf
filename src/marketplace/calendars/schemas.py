"""Input and output shapes of the calendars API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec

Scope = Literal["me", "organisation", "body", "auditor"]


class FeedIn(msgspec.Struct, forbid_unknown_fields=True):
    scope: Scope
    scope_id: uuid.UUID | None = None
    label: Annotated[str, msgspec.Meta(max_length=200)] = ""


class FeedCreatedOut(msgspec.Struct):
    """The only answer that carries the secret: it is not stored, so it cannot be shown again."""

    id: uuid.UUID
    scope: str
    scope_id: uuid.UUID
    label: str
    url: str
    webcal_url: str


class FeedOut(msgspec.Struct):
    id: uuid.UUID
    scope: str
    scope_id: uuid.UUID
    label: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
