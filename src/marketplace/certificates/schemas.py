"""Input and output shapes of the certificates API: decisions, registry entries, status changes."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal, TypedDict

import msgspec

Text = Annotated[str, msgspec.Meta(max_length=4000)]


class DecisionIn(msgspec.Struct, forbid_unknown_fields=True):
    decision: Literal["grant", "refuse"]
    scope: Text = ""
    decided_on: dt.date | None = None
    comment: Text = ""
    stage2_override_reason: Text = ""


class ReasonIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(max_length=2000)] = ""


class CertificateSiteOut(msgspec.Struct):
    """A certified site as printed on the certificate, each with its own scope."""

    name: str
    address: str
    country: str
    scope: str


class CertificateEventOut(msgspec.Struct):
    """One line of a certificate's history: granted, suspended, restored, withdrawn."""

    action: str
    status: str
    reason: str
    created_at: dt.datetime
    actor_name: str | None


class CertificateOut(msgspec.Struct):
    """The public registry entry (reference README's certificate fields)."""

    number: str
    status: str
    organisation: str
    organisation_address: str
    body: str
    accreditation_body: str | None
    accreditation_body_name: str | None
    standard: str
    scope: str
    iaf_sectors: list[int]
    sites: list[CertificateSiteOut]
    original_issued_on: dt.date
    issued_on: dt.date
    expires_on: dt.date


class ManagedCertificateOut(CertificateOut):
    """The registry entry plus what the two parties need: risk flag, reason, history."""

    id: uuid.UUID | None = None
    at_risk: bool = False
    status_reason: str = ""
    suspended_on: dt.date | None = None
    history: list[CertificateEventOut] = []


class CertificateRecord(msgspec.Struct, kw_only=True):
    """A certificate's row as services read it: columns, linked names, its effective status.

    ``at_risk`` is None until asked (``registry.at_risk`` for one, ``registry.with_risk`` for many).
    """

    id: uuid.UUID
    number: str
    cycle: uuid.UUID
    engagement: uuid.UUID
    organisation: uuid.UUID
    body: uuid.UUID
    accreditation_body: str | None
    accreditation_number: str
    standard: str
    organisation_name: str
    organisation_address: str
    scope: str
    iaf_sectors: list[int]
    sites: list[dict[str, Any]]  # the JSON column as stored; CertificateOut shapes it
    original_issued_on: dt.date
    issued_on: dt.date
    expires_on: dt.date
    status: str
    status_reason: str
    suspended_on: dt.date | None
    created_at: dt.datetime
    updated_at: dt.datetime
    body_name: str
    accreditation_body_name: str | None
    standard_title: str
    effective_status: str
    at_risk: bool | None = None


class CycleContext(msgspec.Struct, kw_only=True):
    """A certification cycle as the decision reads it, with its engagement's parties and standard."""

    id: uuid.UUID
    engagement: uuid.UUID
    number: int
    decision_date: dt.date | None
    expiry_date: dt.date | None
    status: str
    created_at: dt.datetime
    organisation_id: uuid.UUID
    body_id: uuid.UUID
    standard: str
    iaf_sector: int


class GateAudit(msgspec.Struct):
    """The audit a decision follows (stage 2, or the recertification audit)."""

    id: uuid.UUID
    kind: str
    status: str
    completed_on: dt.date | None
    ends_at: dt.datetime | None


class DecisionOut(msgspec.Struct):
    decision: str
    decision_id: uuid.UUID
    certificate: CertificateOut | None


class DecisionResult(TypedDict):
    """What ``decisions.decide`` answers: the decision, its row and the new certificate's number."""

    decision: str
    decision_id: uuid.UUID
    certificate: str | None
