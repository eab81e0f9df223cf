"""Input and output shapes of the scheduling API: auditors, cycles, audits, slots and bookings."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Email = Annotated[
    str, msgspec.Meta(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
]
TimeZone = Annotated[str, msgspec.Meta(min_length=1, max_length=64, description="IANA time zone")]
Reason = Annotated[str, msgspec.Meta(max_length=2000)]
StandardCode = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
Sector = Annotated[int, msgspec.Meta(ge=1, le=39)]
Role = Literal["lead", "member", "expert"]


class QualificationIn(msgspec.Struct, forbid_unknown_fields=True):
    standard: StandardCode
    iaf_sector: Sector


class AuditorIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    email: Email
    time_zone: TimeZone = "UTC"
    lead: bool = False
    qualifications: Annotated[list[QualificationIn], msgspec.Meta(max_length=200)] = []
    user_id: uuid.UUID | None = None


class QualificationOut(msgspec.Struct):
    standard: str
    iaf_sector: int


class AuditorOut(msgspec.Struct):
    id: uuid.UUID
    body_id: uuid.UUID
    name: str
    email: str
    time_zone: str
    lead: bool
    active: bool
    user_id: uuid.UUID | None
    qualifications: list[QualificationOut]


class UnavailabilityIn(msgspec.Struct, forbid_unknown_fields=True):
    starts_at: dt.datetime
    ends_at: dt.datetime
    reason: Annotated[str, msgspec.Meta(max_length=200)] = ""


class UnavailabilityOut(msgspec.Struct):
    id: uuid.UUID
    auditor_id: uuid.UUID
    starts_at: dt.datetime
    ends_at: dt.datetime
    reason: str


class ConsultancyIn(msgspec.Struct, forbid_unknown_fields=True):
    organisation_id: uuid.UUID
    ended_on: dt.date


class ConsultancyOut(msgspec.Struct):
    id: uuid.UUID
    auditor_id: uuid.UUID
    organisation_id: uuid.UUID
    ended_on: dt.date


class TeamMemberIn(msgspec.Struct, forbid_unknown_fields=True):
    auditor_id: uuid.UUID
    role: Role


class ProposalIn(msgspec.Struct, forbid_unknown_fields=True):
    starts_at: dt.datetime
    ends_at: dt.datetime
    time_zone: TimeZone
    team: Annotated[list[TeamMemberIn], msgspec.Meta(max_length=20)]
    mode: Literal["onsite", "remote"] = "onsite"


class BookingRequestIn(msgspec.Struct, forbid_unknown_fields=True):
    starts_at: dt.datetime
    ends_at: dt.datetime


class RescheduleIn(msgspec.Struct, forbid_unknown_fields=True):
    starts_at: dt.datetime
    ends_at: dt.datetime
    reason: Reason = ""
    time_zone: TimeZone | None = None


class ReasonIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason = ""


class SettingsIn(msgspec.Struct, forbid_unknown_fields=True):
    self_service_booking: bool


class SettingsOut(msgspec.Struct):
    body_id: uuid.UUID
    self_service_booking: bool


class CycleAuditOut(msgspec.Struct):
    id: uuid.UUID
    kind: str
    window_start: dt.date | None
    window_end: dt.date | None
    status: str
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    window_state: str | None = None


class EngagementRecord(msgspec.Struct):
    """An engagement's row, for the services that work against it (billing invoices it)."""

    id: uuid.UUID
    organisation_id: uuid.UUID
    body_id: uuid.UUID
    standard: str
    iaf_sector: int
    status: str
    agreed_days: dict[str, float]
    started_on: dt.date
    created_by: uuid.UUID | None
    created_at: dt.datetime


class CycleOut(msgspec.Struct):
    id: uuid.UUID
    engagement_id: uuid.UUID
    number: int
    standard: str
    organisation_id: uuid.UUID
    body_id: uuid.UUID
    decision_date: dt.date | None
    expiry_date: dt.date | None
    certificate_at_risk: bool
    audits: list[CycleAuditOut]


class TeamMemberOut(msgspec.Struct):
    auditor_id: uuid.UUID
    name: str
    role: str
    status: str


class TeamRecipient(msgspec.Struct):
    """An audit team member the scheduling e-mail goes to: by account, or at the body's address."""

    auditor_id: uuid.UUID
    name: str
    role: str
    email: str
    user_id: uuid.UUID | None


class SiteOut(msgspec.Struct):
    id: uuid.UUID
    name: str
    time_zone: str
    central: bool


class EventOut(msgspec.Struct):
    sequence: int
    action: str
    status: str
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    reason: str
    actor_id: uuid.UUID | None
    created_at: dt.datetime


class AuditOut(msgspec.Struct):
    id: uuid.UUID
    cycle_id: uuid.UUID
    engagement_id: uuid.UUID
    organisation_id: uuid.UUID
    body_id: uuid.UUID
    standard: str
    iaf_sector: int
    kind: str
    status: str
    window_start: dt.date | None
    window_end: dt.date | None
    window_state: str | None
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    time_zone: str
    mode: str
    sequence: int
    requested_starts_at: dt.datetime | None
    requested_ends_at: dt.datetime | None
    completed_on: dt.date | None
    team: list[TeamMemberOut]
    sites: list[SiteOut]
    history: list[EventOut]


class SlotOut(msgspec.Struct):
    starts_at: dt.datetime
    ends_at: dt.datetime
    auditor_ids: list[uuid.UUID]


class BoardAuditOut(msgspec.Struct):
    """One row of the planning board or the client's programme."""

    id: uuid.UUID
    cycle_id: uuid.UUID
    kind: str
    status: str
    standard: str
    organisation_id: uuid.UUID
    organisation_name: str
    body_name: str
    window_start: dt.date | None
    window_end: dt.date | None
    window_state: str | None
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    time_zone: str
    completed_on: dt.date | None
    lead_name: str


class AgendaItemOut(msgspec.Struct):
    """One live assignment on an auditor's agenda, with the audit it belongs to."""

    audit_id: uuid.UUID
    role: str
    status: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    kind: str
    audit_status: str
    time_zone: str
    organisation_name: str
    standard: str
