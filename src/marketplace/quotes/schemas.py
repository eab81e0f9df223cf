"""Input and output shapes of the quotes API (audit-time estimate, requests, quotes, acceptance)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec

StandardCode = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
Currency = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$", description="ISO 4217")]
# Ranges (days > 0, money >= 0, 1-5 bodies ...) are checked by the services, which answer each
# broken rule with its own field message rather than the schema's generic one.


class StandardRecord(msgspec.Struct):
    """A standard as the audit-time baseline reads it (reference.tables.Standard)."""

    code: str
    title: str
    family: str
    uses_complexity: bool


class SampledSitesOut(msgspec.Struct):
    initial: int
    surveillance: int
    recertification: int


class AuditTimeOut(msgspec.Struct):
    standard: str
    family: str
    table_family: str  # the family whose table was read (QMS stands in for families without one)
    effective_personnel: int
    complexity: str | None
    sites: int
    table_days: float
    initial_days: float
    stage1_days: float
    stage2_days: float
    surveillance_days: float
    recertification_days: float
    minimum_initial_days: float
    cycle_days: float
    sampled_sites: SampledSitesOut
    basis: list[str]


class QuoteRequestIn(msgspec.Struct, forbid_unknown_fields=True):
    organisation_id: uuid.UUID
    standard: StandardCode
    body_ids: list[uuid.UUID]
    # Missing profile figures default to the organisation's own (sector, personnel, site count).
    iaf_sector: int | None = None
    effective_personnel: int | None = None
    sites: int | None = None
    shifts: int = 1
    complexity: str | None = None
    message: Annotated[str, msgspec.Meta(max_length=5000)] = ""
    desired_start: dt.date | None = None


class RecipientOut(msgspec.Struct):
    body_id: uuid.UUID
    body_name: str
    status: str
    decline_reason: str
    responded_at: dt.datetime | None


class QuoteLineIn(msgspec.Struct, forbid_unknown_fields=True):
    audit_kind: str
    auditor_days: float
    day_rate_minor: int
    fees_minor: int = 0
    travel_minor: int = 0


class QuoteLineOut(msgspec.Struct):
    audit_kind: str
    auditor_days: float
    day_rate_minor: int
    fees_minor: int
    travel_minor: int
    total_minor: int


class QuoteIn(msgspec.Struct, forbid_unknown_fields=True):
    body_id: uuid.UUID
    currency: Currency
    valid_until: dt.date
    lines: list[QuoteLineIn]
    message: Annotated[str, msgspec.Meta(max_length=5000)] = ""


class QuoteCreatedOut(msgspec.Struct):
    id: uuid.UUID
    status: str
    total_minor: int
    currency: str
    baseline_days: float
    quoted_days: float
    cycle_days: float
    below_baseline: bool


class QuoteOut(msgspec.Struct):
    id: uuid.UUID
    body_id: uuid.UUID
    body_name: str
    status: str
    currency: str
    valid_until: dt.date
    expired: bool
    total_minor: int
    baseline_days: float
    quoted_days: float
    cycle_days: float
    below_baseline: bool
    message: str
    engagement_id: uuid.UUID | None
    created_at: dt.datetime
    lines: list[QuoteLineOut]


class QuoteRequestOut(msgspec.Struct):
    id: uuid.UUID
    organisation_id: uuid.UUID
    organisation_name: str
    status: str
    standard: str
    iaf_sector: int
    effective_personnel: int
    sites: int
    shifts: int
    complexity: str | None
    desired_start: dt.date | None
    message: str
    table_days: float
    baseline_days: float
    created_at: dt.datetime
    recipients: list[RecipientOut]
    quotes: list[QuoteOut]


class InboxItemOut(msgspec.Struct):
    id: uuid.UUID
    organisation_name: str
    standard: str
    iaf_sector: int
    effective_personnel: int
    sites: int
    request_status: str
    status: str  # this body's recipient status
    baseline_days: float
    desired_start: dt.date | None
    created_at: dt.datetime
    quote_id: uuid.UUID | None


class DeclineIn(msgspec.Struct, forbid_unknown_fields=True):
    body_id: uuid.UUID
    reason: Annotated[str, msgspec.Meta(max_length=2000)]


class AcceptOut(msgspec.Struct):
    quote_id: uuid.UUID
    status: str
    engagement_id: uuid.UUID
    cycle_id: uuid.UUID


class RequestSummaryOut(msgspec.Struct):
    id: uuid.UUID
    status: str
    standard: str
    effective_personnel: int
    sites: int
    baseline_days: float
    desired_start: dt.date | None
    created_at: dt.datetime
    recipient_count: int
    answered_count: int
