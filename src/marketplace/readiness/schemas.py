"""Input and output shapes of the readiness API: assessments, documents, internal audits, stage 1."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec

RatingName = Literal["in_place", "partly", "missing", "not_applicable"]
DocType = Literal["policy", "procedure", "work_instruction", "record"]
GradeName = Literal["major", "minor", "observation", "ofi"]
Method = Literal["five_whys", "fishbone", "other"]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
ClauseText = Annotated[str, msgspec.Meta(max_length=12)]
LongText = Annotated[str, msgspec.Meta(max_length=20000)]
Comment = Annotated[str, msgspec.Meta(max_length=4000)]
Retention = Annotated[int, msgspec.Meta(ge=1, le=1200)]


class StandardRef(msgspec.Struct):
    """A standard a self-assessment can be run against."""

    code: str
    title: str


class AssessmentIn(msgspec.Struct, forbid_unknown_fields=True):
    standard: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]


class GapItemPatch(msgspec.Struct, forbid_unknown_fields=True):
    rating: RatingName | None = None
    note: LongText | None = None
    owner_id: uuid.UUID | None = None
    target_date: dt.date | None = None
    document_ids: Annotated[list[uuid.UUID], msgspec.Meta(max_length=50)] | None = None


class ActionIn(msgspec.Struct, forbid_unknown_fields=True):
    owner_id: uuid.UUID | None = None
    due_on: dt.date | None = None
    title: Annotated[str, msgspec.Meta(max_length=200)] = ""


class DocumentRefOut(msgspec.Struct):
    id: uuid.UUID
    code: str
    title: str


class AssessmentRecord(msgspec.Struct, kw_only=True):
    """A self-assessment's row as services read it."""

    id: uuid.UUID
    organisation: uuid.UUID
    standard: str
    created_by: uuid.UUID | None
    created_at: dt.datetime
    updated_at: dt.datetime


class GapItemRecord(msgspec.Struct, kw_only=True):
    """One clause of a self-assessment as services read it, with the assessment's organisation."""

    id: uuid.UUID
    assessment: uuid.UUID
    organisation_id: uuid.UUID
    clause: str
    title: str
    rating: str
    note: str
    owner: uuid.UUID | None
    target_date: dt.date | None
    updated_at: dt.datetime


class GapItemOut(msgspec.Struct):
    id: uuid.UUID
    clause: str
    title: str
    rating: str
    note: str
    owner_id: uuid.UUID | None
    owner_name: str | None
    target_date: dt.date | None
    documents: list[DocumentRefOut] = []


class ScoreOut(msgspec.Struct):
    percent: int | None
    counts: dict[str, int]


class SnapshotOut(msgspec.Struct):
    taken_on: dt.date
    overall: int | None
    groups: dict[str, int | None]


class AssessmentOut(msgspec.Struct):
    id: uuid.UUID
    standard: str
    overall: ScoreOut
    groups: dict[str, ScoreOut]
    level: str
    gap_count: int = 0
    items: list[GapItemOut] = []
    gaps: list[GapItemOut] = []
    history: list[SnapshotOut] = []


class ActionOut(msgspec.Struct):
    id: uuid.UUID
    title: str
    clause: str
    status: str
    owner_id: uuid.UUID | None
    owner_name: str | None
    due_on: dt.date | None
    overdue: bool
    gap_item_id: uuid.UUID | None


class Stage1Out(msgspec.Struct):
    ready: bool
    internal_audit_cycle: bool
    clauses_not_audited: list[str]
    management_review: bool
    last_management_review: dt.date | None
    completed_internal_audits: int
    management_reviews: int


class Stage2ItemOut(msgspec.Struct):
    """A stage 1 area of concern: the corrective action an issued stage 1 report opened."""

    id: uuid.UUID
    grade: str
    status: str
    due_on: dt.date | None
    clause: str
    requirement: str
    body_name: str | None


class ReadinessOut(msgspec.Struct):
    organisation_id: uuid.UUID
    assessments: list[AssessmentOut]
    stage1: Stage1Out
    stage2_preparation: list[Stage2ItemOut]


class DocumentIn(msgspec.Struct, forbid_unknown_fields=True):
    code: Code
    title: Title
    doc_type: DocType
    clause: ClauseText = ""
    owner_id: uuid.UUID | None = None
    next_review_on: dt.date | None = None
    retention_months: Retention | None = None
    change_summary: Comment = ""


class DocumentPatch(msgspec.Struct, forbid_unknown_fields=True):
    title: Title | None = None
    clause: ClauseText | None = None
    owner_id: uuid.UUID | None = None
    next_review_on: dt.date | None = None
    retention_months: Retention | None = None


class VersionIn(msgspec.Struct, forbid_unknown_fields=True):
    change_summary: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]


class VersionPatch(msgspec.Struct, forbid_unknown_fields=True):
    change_summary: Comment | None = None
    author_id: uuid.UUID | None = None


class ApproveIn(msgspec.Struct, forbid_unknown_fields=True):
    effective_on: dt.date | None = None


class VersionOut(msgspec.Struct):
    id: uuid.UUID
    number: int
    status: str
    author_id: uuid.UUID | None
    author_name: str | None
    approver_id: uuid.UUID | None
    approver_name: str | None
    approved_on: dt.date | None
    effective_on: dt.date | None
    change_summary: str
    filename: str
    content_type: str
    size: int
    sha256: str


class CommentOut(msgspec.Struct):
    id: uuid.UUID
    version_id: uuid.UUID
    version_number: int | None
    body_id: uuid.UUID
    body_name: str | None
    author_name: str | None
    text: str
    created_at: dt.datetime


class BodyRef(msgspec.Struct):
    """A certification body the organisation may share with (it has an engagement with it)."""

    id: uuid.UUID
    name: str


class ShareRecord(msgspec.Struct, kw_only=True):
    """A document share as services read it, with the body's name and the document's code."""

    id: uuid.UUID
    document: uuid.UUID
    organisation: uuid.UUID
    body: uuid.UUID
    body_name: str | None = None
    code: str | None = None
    title: str | None = None
    shared_by: uuid.UUID | None
    shared_at: dt.datetime
    withdrawn_by: uuid.UUID | None
    withdrawn_at: dt.datetime | None


class ShareOut(msgspec.Struct):
    id: uuid.UUID
    document_id: uuid.UUID
    body_id: uuid.UUID
    body_name: str | None
    shared_at: dt.datetime
    withdrawn_at: dt.datetime | None


class DocumentOut(msgspec.Struct):
    id: uuid.UUID
    organisation_id: uuid.UUID
    code: str
    title: str
    doc_type: str
    clause: str
    owner_id: uuid.UUID | None
    next_review_on: dt.date | None
    retention_months: int | None
    retention_ends_on: dt.date | None
    past_retention: bool
    review_due: bool
    current_version: VersionOut | None
    versions: list[VersionOut] = []
    comments: list[CommentOut] = []
    shares: list[ShareOut] = []
    organisation_name: str | None = None


class SharedDocumentOut(msgspec.Struct):
    """A document as listed for the body it is shared with: the version in force, no drafts."""

    id: uuid.UUID
    organisation_id: uuid.UUID
    organisation_name: str
    code: str
    title: str
    doc_type: str
    clause: str
    shared_at: dt.datetime
    current_version: VersionOut | None


class FileOut(msgspec.Struct):
    version_id: uuid.UUID
    filename: str
    size: int
    sha256: str
    content_type: str


class DocumentRecord(msgspec.Struct, kw_only=True):
    """A controlled document's register row as services read it."""

    id: uuid.UUID
    organisation: uuid.UUID
    code: str
    title: str
    doc_type: str
    clause: str
    owner: uuid.UUID | None
    next_review_on: dt.date | None
    retention_months: int | None
    created_by: uuid.UUID | None
    created_at: dt.datetime
    updated_at: dt.datetime


class VersionRecord(msgspec.Struct, kw_only=True):
    """A document version's row as services read it, with where its file is stored."""

    id: uuid.UUID
    document: uuid.UUID
    number: int
    status: str
    author: uuid.UUID | None
    approver: uuid.UUID | None
    approved_on: dt.date | None
    effective_on: dt.date | None
    change_summary: str
    stored_name: str | None
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: dt.datetime
    updated_at: dt.datetime


class AccessOut(msgspec.Struct):
    id: uuid.UUID
    action: str
    side: str
    at: dt.datetime
    user_id: uuid.UUID | None
    user_name: str | None
    body_id: uuid.UUID | None
    body_name: str | None
    version_id: uuid.UUID | None
    version_number: int | None


class ShareIn(msgspec.Struct, forbid_unknown_fields=True):
    body_id: uuid.UUID
    document_ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=200)]


class SharedOut(msgspec.Struct):
    shared: list[uuid.UUID]
    shares: list[ShareOut]


class CommentIn(msgspec.Struct, forbid_unknown_fields=True):
    version_id: uuid.UUID
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]


class InternalAuditIn(msgspec.Struct, forbid_unknown_fields=True):
    scope: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
    clauses: Annotated[list[ClauseText], msgspec.Meta(min_length=1, max_length=60)]
    auditor_name: Title
    planned_on: dt.date


class CompleteIn(msgspec.Struct, forbid_unknown_fields=True):
    completed_on: dt.date | None = None
    summary: LongText = ""


class InternalShareIn(msgspec.Struct, forbid_unknown_fields=True):
    body_id: uuid.UUID | None


class InternalFindingIn(msgspec.Struct, forbid_unknown_fields=True):
    grade: GradeName
    clause: Annotated[str, msgspec.Meta(min_length=1, max_length=12)]
    requirement: LongText = ""
    evidence: LongText = ""


class InternalFindingPatch(msgspec.Struct, forbid_unknown_fields=True):
    owner_id: uuid.UUID | None = None
    correction: LongText | None = None
    root_cause_method: Method | None = None
    root_cause: LongText | None = None
    action_plan: LongText | None = None
    target_date: dt.date | None = None


class StepIn(msgspec.Struct, forbid_unknown_fields=True):
    step: Literal["submit", "accept", "reject", "verify", "not_effective"]
    comment: Comment = ""


class InternalFindingOut(msgspec.Struct):
    id: uuid.UUID
    number: int
    grade: str
    clause: str
    requirement: str
    evidence: str
    status: str
    due_on: dt.date | None
    owner_id: uuid.UUID | None
    owner_name: str | None
    correction: str
    root_cause_method: str
    root_cause: str
    action_plan: str
    target_date: dt.date | None
    review_comment: str
    internal_audit_id: uuid.UUID


class InternalFindingRow(msgspec.Struct, kw_only=True):
    """An internal finding as services read it (its columns plus the owner's name)."""

    id: uuid.UUID
    internal_audit: uuid.UUID
    number: int
    grade: str
    clause: str
    requirement: str
    evidence: str
    status: str
    due_on: dt.date | None
    owner: uuid.UUID | None
    owner_name: str | None = None
    correction: str
    root_cause_method: str
    root_cause: str
    action_plan: str
    target_date: dt.date | None
    review_comment: str
    closed_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    overdue: bool = False


class InternalFindingDetail(InternalFindingRow, kw_only=True):
    """A finding read on its own (internal_finding_row): with its audit's tenant and share."""

    organisation_id: uuid.UUID
    shared_body: uuid.UUID | None


class InternalAuditRow(msgspec.Struct, kw_only=True):
    """An internal audit as services read it: columns, names of the linked rows, its findings."""

    id: uuid.UUID
    organisation: uuid.UUID
    organisation_name: str | None = None
    scope: str
    clauses: list[str]
    auditor_name: str
    planned_on: dt.date
    status: str
    completed_on: dt.date | None
    summary: str
    shared_body: uuid.UUID | None
    shared_body_name: str | None = None
    created_by: uuid.UUID | None
    created_at: dt.datetime
    findings: list[InternalFindingRow] = []
    finding_count: int = 0


class InternalAuditOut(msgspec.Struct):
    id: uuid.UUID
    organisation_id: uuid.UUID
    scope: str
    clauses: list[str]
    auditor_name: str
    planned_on: dt.date
    status: str
    completed_on: dt.date | None
    summary: str
    shared_body_id: uuid.UUID | None
    shared_body_name: str | None
    findings: list[InternalFindingOut] = []
    finding_count: int = 0


class ManagementReviewIn(msgspec.Struct, forbid_unknown_fields=True):
    held_on: dt.date
    attendees: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
    inputs: Annotated[list[str], msgspec.Meta(max_length=20)] = []
    decisions: LongText = ""


class ManagementReviewOut(msgspec.Struct):
    id: uuid.UUID
    held_on: dt.date
    attendees: str
    inputs: list[str]
    missing_inputs: list[str]
    decisions: str


class ReferenceIn(msgspec.Struct, forbid_unknown_fields=True):
    document_id: uuid.UUID | None = None
    version_id: uuid.UUID | None = None
    clause: ClauseText = ""
    note: Comment = ""


class ReportForReference(msgspec.Struct):
    """What adding a stage 1 reference needs to know of the report."""

    id: uuid.UUID
    status: str
    organisation: uuid.UUID
    body: uuid.UUID
    audit: uuid.UUID
    audit_kind: str | None


class Stage1ReportRef(msgspec.Struct):
    """One of the body's stage 1 reports for a client, as a link on a shared document's page."""

    id: uuid.UUID
    status: str
    revision: int


class ReferenceOut(msgspec.Struct):
    id: uuid.UUID
    report_id: uuid.UUID
    document_id: uuid.UUID | None
    document_code: str | None
    document_title: str | None
    version_id: uuid.UUID | None
    version_number: int | None
    clause: str
    note: str
