"""Input and output shapes of the reviews API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec

Stars = Annotated[int, msgspec.Meta(ge=1, le=5)]


class SubRatings(msgspec.Struct, forbid_unknown_fields=True):
    competence: Stars
    communication: Stars
    value: Stars
    punctuality: Stars


class ReviewIn(msgspec.Struct, forbid_unknown_fields=True):
    engagement_id: uuid.UUID
    rating: Stars
    ratings: SubRatings
    text: Annotated[str, msgspec.Meta(max_length=5000)] = ""


class ReplyIn(msgspec.Struct, forbid_unknown_fields=True):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=5000)]


class HideIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


class ReviewableEngagement(msgspec.Struct):
    """An engagement of the caller's organisation with the body that may still be reviewed."""

    id: uuid.UUID
    organisation: uuid.UUID
    standard: str
    organisation_name: str


class ReviewOut(msgspec.Struct):
    id: uuid.UUID
    body_id: uuid.UUID
    organisation_id: uuid.UUID
    organisation_name: str
    engagement_id: uuid.UUID
    rating: int
    ratings: SubRatings
    text: str
    status: str
    reply: str
    replied_at: dt.datetime | None
    created_at: dt.datetime
