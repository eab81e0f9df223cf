"""Scheduling tables: engagements, certification cycles, audits, auditors and their bookings."""

from __future__ import annotations

from piccolo.columns import (
    JSONB,
    UUID,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from marketplace.accounts.tables import CertificationBody, Organisation, User
from marketplace.core import clock
from marketplace.reference.tables import IafSector, Standard


class Engagement(Table):
    """A client certified (or being certified) by a body for one standard: active, completed or ended."""

    id = UUID(primary_key=True)
    organisation = ForeignKey(Organisation, null=False, on_delete=OnDelete.restrict, index=True)
    body = ForeignKey(CertificationBody, null=False, on_delete=OnDelete.restrict, index=True)
    standard = ForeignKey(Standard, null=False, on_delete=OnDelete.restrict)
    iaf_sector = ForeignKey(IafSector, null=False, on_delete=OnDelete.restrict)
    status = Varchar(length=20, default="active", index=True)  # active | completed | ended
    # Auditor days agreed per audit kind (from the accepted quote): {"stage1": 1.5, ...}
    agreed_days = JSONB(default={})
    started_on = Date()
    created_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=clock.now)


class CertificationCycle(Table):
    """One three-year cycle (ISO/IEC 17021-1 9.1.3): it starts on the certification decision date."""

    id = UUID(primary_key=True)
    engagement = ForeignKey(Engagement, null=False, on_delete=OnDelete.cascade, index=True)
    number = Integer(default=1)  # 1 = initial certification, 2.. = recertification cycles
    decision_date = Date(null=True, default=None)
    expiry_date = Date(null=True, default=None)
    status = Varchar(length=20, default="open")  # open | certified | refused | closed
    created_at = Timestamptz(default=clock.now)


class Audit(Table):
    """One audit of a cycle with its due window, booking status and times (stored in UTC)."""

    id = UUID(primary_key=True)
    cycle = ForeignKey(CertificationCycle, null=False, on_delete=OnDelete.cascade, index=True)
    kind = Varchar(
        length=20
    )  # stage1 | stage2 | surveillance1 | surveillance2 | recertification | special
    # Windows are unknown until their anchor exists (stage 2 after stage 1, surveillance after the decision).
    window_start = Date(null=True, default=None)
    window_end = Date(null=True, default=None)
    status = Varchar(
        length=20, default="planned", index=True
    )  # planned|requested|proposed|confirmed|completed|cancelled
    starts_at = Timestamptz(null=True, default=None)
    ends_at = Timestamptz(null=True, default=None)
    time_zone = Varchar(length=64, default="UTC")
    mode = Varchar(length=10, default="onsite")  # onsite | remote
    planned_days = JSONB(default=None, null=True)
    sequence = Integer(default=0)  # iCalendar SEQUENCE: incremented on every reschedule
    completed_on = Date(null=True, default=None)
    notes = Text(default="")
    created_at = Timestamptz(default=clock.now)
    updated_at = Timestamptz(default=clock.now)
    # A client's self-service booking request waiting for the body (status "requested").
    requested_starts_at = Timestamptz(null=True, default=None)
    requested_ends_at = Timestamptz(null=True, default=None)
    cancel_reason = Text(default="")


class SchedulingSettings(Table):
    """A body's scheduling preferences: whether clients may request offered slots themselves."""

    id = UUID(primary_key=True)
    body = ForeignKey(CertificationBody, null=False, on_delete=OnDelete.cascade, unique=True)
    self_service_booking = Boolean(default=False)


class Auditor(Table):
    """A person a body sends to audit; optionally linked to a user with the auditor role."""

    id = UUID(primary_key=True)
    body = ForeignKey(CertificationBody, null=False, on_delete=OnDelete.cascade, index=True)
    user = ForeignKey(User, null=True, on_delete=OnDelete.set_null, index=True)
    name = Varchar(length=200)
    email = Varchar(length=254, default="")
    time_zone = Varchar(length=64, default="UTC")
    lead = Boolean(default=False)  # may lead an audit team
    active = Boolean(default=True)
    created_at = Timestamptz(default=clock.now)


class Qualification(Table):
    """An auditor's competence for one standard in one IAF sector (ISO/IEC 17021-1 7.1)."""

    id = UUID(primary_key=True)
    auditor = ForeignKey(Auditor, null=False, on_delete=OnDelete.cascade, index=True)
    standard = ForeignKey(Standard, null=False, on_delete=OnDelete.restrict)
    iaf_sector = ForeignKey(IafSector, null=False, on_delete=OnDelete.restrict)


class Unavailability(Table):
    """Time an auditor cannot audit (leave, training, other work), stored in UTC, end exclusive."""

    id = UUID(primary_key=True)
    auditor = ForeignKey(Auditor, null=False, on_delete=OnDelete.cascade, index=True)
    starts_at = Timestamptz()
    ends_at = Timestamptz()
    reason = Varchar(length=200, default="")


class ConsultancyDeclaration(Table):
    """Consultancy an auditor gave a client: it bars them from auditing it for 2 years (17021-1 5.2)."""

    id = UUID(primary_key=True)
    auditor = ForeignKey(Auditor, null=False, on_delete=OnDelete.cascade, index=True)
    organisation = ForeignKey(Organisation, null=False, on_delete=OnDelete.cascade, index=True)
    ended_on = Date()
    created_at = Timestamptz(default=clock.now)


class AuditAssignment(Table):
    """An auditor on an audit's team for its whole span; `live` rows can never overlap per auditor."""

    id = UUID(primary_key=True)
    audit = ForeignKey(Audit, null=False, on_delete=OnDelete.cascade, index=True)
    auditor = ForeignKey(Auditor, null=False, on_delete=OnDelete.restrict, index=True)
    role = Varchar(length=10, default="member")  # lead | member | expert
    starts_at = Timestamptz()
    ends_at = Timestamptz()
    # held (a client's request reserving a lead) | active | released (superseded or cancelled)
    status = Varchar(length=10, default="active")
    live = Boolean(default=True)
    created_at = Timestamptz(default=clock.now)


class AuditEvent(Table):
    """One step in an audit's booking history: proposed, requested, confirmed, rescheduled ..."""

    id = UUID(primary_key=True)
    audit = ForeignKey(Audit, null=False, on_delete=OnDelete.cascade, index=True)
    sequence = Integer(default=0)
    action = Varchar(length=20)
    status = Varchar(length=20)
    starts_at = Timestamptz(null=True, default=None)
    ends_at = Timestamptz(null=True, default=None)
    reason = Text(default="")
    actor = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=clock.now)
