"""Input and output shapes of notification preferences and the outbox view."""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec


class PreferenceOut(msgspec.Struct):
    kind: str
    label: str
    description: str
    email: bool


class PreferencesOut(msgspec.Struct):
    preferences: list[PreferenceOut]


class PreferenceIn(msgspec.Struct, forbid_unknown_fields=True):
    kind: str
    email: bool


class PreferencesIn(msgspec.Struct, forbid_unknown_fields=True):
    preferences: list[PreferenceIn]


class OutboxMessageOut(msgspec.Struct):
    id: uuid.UUID
    kind: str
    template: str
    email: str
    status: str
    attempts: int
    next_attempt_at: dt.datetime
    sent_at: dt.datetime | None
    last_error: str
    created_at: dt.datetime


class OutboxCountsOut(msgspec.Struct):
    pending: int
    sending: int
    sent: int
    failed: int


class RequeuedOut(msgspec.Struct):
    """How many failed messages were given a fresh set of attempts."""

    requeued: int
