"""Certificate tables: decisions, certificates, their status history and number sequences."""

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
from marketplace.reference.tables import AccreditationBody, Standard
from marketplace.scheduling.tables import CertificationCycle, Engagement


class CertificationDecision(Table):
    """A body's grant or refusal of certification for one cycle (ISO/IEC 17021-1 9.5)."""

    id = UUID(primary_key=True)
    cycle = ForeignKey(CertificationCycle, null=False, on_delete=OnDelete.cascade, unique=True)
    organisation = ForeignKey(Organisation, null=False, on_delete=OnDelete.cascade, index=True)
    body = ForeignKey(CertificationBody, null=False, on_delete=OnDelete.cascade, index=True)
    decision = Varchar(length=8)  # grant | refuse
    decided_on = Date()
    scope = Text(default="")
    comment = Text(default="")
    # The body's documented reason to decide more than 6 months after stage 2 (see services).
    stage2_override_reason = Text(default="")
    decided_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=clock.now)


class Certificate(Table):
    """An issued certificate with the fields the global registry of certifications records."""

    id = UUID(primary_key=True)
    number = Varchar(length=40, unique=True)
    cycle = ForeignKey(CertificationCycle, null=False, on_delete=OnDelete.restrict, unique=True)
    engagement = ForeignKey(Engagement, null=False, on_delete=OnDelete.restrict, index=True)
    organisation = ForeignKey(Organisation, null=False, on_delete=OnDelete.restrict, index=True)
    body = ForeignKey(CertificationBody, null=False, on_delete=OnDelete.restrict, index=True)
    accreditation_body = ForeignKey(AccreditationBody, null=True, on_delete=OnDelete.set_null)
    accreditation_number = Varchar(length=60, default="")
    standard = ForeignKey(Standard, null=False, on_delete=OnDelete.restrict)
    # Frozen copies, like an invoice's lines: the certificate says what was certified that day.
    organisation_name = Varchar(length=200, index=True)
    organisation_address = Text(default="")
    scope = Text()
    iaf_sectors = JSONB(default=[])
    sites = JSONB(default=[])
    original_issued_on = Date()
    issued_on = Date()
    expires_on = Date()
    status = Varchar(length=10, default="active", index=True)  # active|suspended|withdrawn|expired
    status_reason = Text(default="")
    suspended_on = Date(null=True, default=None)
    created_at = Timestamptz(default=clock.now)
    updated_at = Timestamptz(default=clock.now)


class CertificateEvent(Table):
    """One step in a certificate's history: granted, suspended, restored, withdrawn."""

    id = UUID(primary_key=True)
    certificate = ForeignKey(Certificate, null=False, on_delete=OnDelete.cascade, index=True)
    action = Varchar(length=12)
    status = Varchar(length=10)
    reason = Text(default="")
    actor = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=clock.now)


class CertificateSequence(Table):
    """The last number used per prefix and year; (prefix, year) is unique (hand-written index)."""

    id = UUID(primary_key=True)
    prefix = Varchar(length=8)
    year = Integer()
    last = Integer(default=0)
