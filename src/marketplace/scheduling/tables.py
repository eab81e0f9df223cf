"""Scheduling tables: an engagement between a client and a body, its certification cycles and their audits."""

from __future__ import annotations

from piccolo.columns import (
    JSONB,
    UUID,
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
