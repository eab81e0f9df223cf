"""Input and output shapes of the findings API: reports, findings, corrective actions, evidence."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

import msgspec

GradeName = Literal["major", "minor", "observation", "ofi"]
Method = Literal["five_whys", "fishbone", "other"]
LongText = Annotated[str, msgspec.Meta(max_length=20000)]
Comment = Annotated[str, msgspec.Meta(max_length=4000)]
Clause = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]


class FindingIn(msgspec.Struct, forbid_unknown_fields=True):
    grade: GradeName
    clause: Clause
    requirement: LongText = ""
    evidence: LongText = ""
    site_id: uuid.UUID | None = None


class ReportIn(msgspec.Struct, forbid_unknown_fields=True):
    summary: LongText = ""
    recommendation: LongText = ""
    scope: LongText = ""
    clauses_covered: LongText = ""
    findings: Annotated[list[FindingIn], msgspec.Meta(max_length=500)] = []


class ReportPatch(msgspec.Struct, forbid_unknown_fields=True):
    summary: LongText | None = None
    recommendation: LongText | None = None
    scope: LongText | None = None
    clauses_covered: LongText | None = None
    findings: Annotated[list[FindingIn], msgspec.Meta(max_length=500)] | None = None


class AmendIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]


class FindingOut(msgspec.Struct):
    id: uuid.UUID
    number: int
    grade: str
    clause: str
    requirement: str
    evidence: str
    site_id: uuid.UUID | None
    site_name: str | None = None
    corrective_action_id: uuid.UUID | None = None
    origin_id: uuid.UUID | None = None  # in an amendment: the finding it restates


class RevisionOut(msgspec.Struct):
    """One revision of an audit's report, as the list of revisions shows it."""

    id: uuid.UUID
    revision: int
    status: str
    issued_on: dt.date | None


class SiteRef(msgspec.Struct):
    """A site of the client organisation a finding may name."""

    id: uuid.UUID
    name: str


class ReportOut(msgspec.Struct):
    id: uuid.UUID
    audit_id: uuid.UUID
    organisation_id: uuid.UUID
    body_id: uuid.UUID
    revision: int
    status: str
    summary: str
    scope: str
    clauses_covered: str
    recommendation: str
    amendment_reason: str
    supersedes_id: uuid.UUID | None
    issued_on: dt.date | None
    findings: list[FindingOut]
    revisions: list[RevisionOut] = []


class CorrectiveActionPatch(msgspec.Struct, forbid_unknown_fields=True):
    owner_id: uuid.UUID | None = None
    correction: LongText | None = None
    root_cause_method: Method | None = None
    root_cause: LongText | None = None
    action_plan: LongText | None = None
    target_date: dt.date | None = None


class ReviewIn(msgspec.Struct, forbid_unknown_fields=True):
    decision: Literal["accept", "reject"]
    comment: Comment = ""


class VerifyIn(msgspec.Struct, forbid_unknown_fields=True):
    effective: bool
    comment: Comment = ""


class EscalateIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Comment = ""


class PolicyIn(msgspec.Struct, forbid_unknown_fields=True):
    major_response_days: Annotated[int, msgspec.Meta(ge=1, le=730)] = 90
    minor_plan_days: Annotated[int, msgspec.Meta(ge=1, le=730)] = 30


class EvidenceOut(msgspec.Struct):
    id: uuid.UUID
    filename: str
    size: int
    sha256: str
    content_type: str = ""
    created_at: dt.datetime | None = None


class CorrectiveActionOut(msgspec.Struct):
    id: uuid.UUID
    finding_id: uuid.UUID
    audit_id: uuid.UUID
    organisation_id: uuid.UUID
    body_id: uuid.UUID
    grade: str
    escalated: bool
    status: str
    issued_on: dt.date
    due_on: dt.date | None
    overdue: bool
    owner_id: uuid.UUID | None
    correction: str
    root_cause_method: str
    root_cause: str
    action_plan: str
    target_date: dt.date | None
    review_comment: str
    verification_comment: str
    finding: dict[str, Any] | None = None
    evidence: list[EvidenceOut] = []
    history: list[dict[str, Any]] = []
    owner_name: str | None = None


class TrackerRow(msgspec.Struct):
    """One line of the client's tracker page and CSV export."""

    id: uuid.UUID
    grade: str
    escalated: bool
    status: str
    clause: str
    requirement: str
    body_name: str
    owner_name: str | None
    issued_on: dt.date
    due_on: dt.date | None
    overdue: bool
    target_date: dt.date | None


class CorrectiveActionView(CorrectiveActionOut):
    """The page's view of an action: the API's fields and the clause and body it is about."""

    clause: str = ""
    body_name: str = ""


class EvidenceFileRecord(msgspec.Struct):
    """An evidence file's row with the tenants of its corrective action (who may download it)."""

    id: uuid.UUID
    corrective_action_id: uuid.UUID
    organisation_id: uuid.UUID
    body_id: uuid.UUID
    stored_name: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: uuid.UUID | None
    created_at: dt.datetime
