"""Readiness tables: gap self-assessments, internal actions and audits, management reviews, the document room."""

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
from marketplace.findings.tables import AuditReport
from marketplace.reference.tables import Standard

# --- gap self-assessment -------------------------------------------------------------------------


class GapAssessment(Table):
    """An organisation's self-assessment against one standard's clauses 4 to 10 (one per standard)."""

    id = UUID(primary_key=True)
    organisation = ForeignKey(Organisation, null=False, on_delete=OnDelete.cascade, index=True)
    standard = ForeignKey(Standard, null=False, on_delete=OnDelete.restrict)
    created_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=clock.now)
    updated_at = Timestamptz(default=clock.now)


class GapItem(Table):
    """One clause of an assessment with its rating, note, owner and target date."""

    id = UUID(primary_key=True)
    assessment = ForeignKey(GapAssessment, null=False, on_delete=OnDelete.cascade, index=True)
    clause = Varchar(length=12)
    title = Varchar(length=200)
    rating = Varchar(length=16, default="missing")  # in_place | partly | missing | not_applicable
    note = Text(default="")
    owner = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    target_date = Date(null=True, default=None)
    updated_at = Timestamptz(default=clock.now)


class ReadinessSnapshot(Table):
    """The assessment's scores as they stood at the end of a day with changes: the progress chart."""

    id = UUID(primary_key=True)
    assessment = ForeignKey(GapAssessment, null=False, on_delete=OnDelete.cascade, index=True)
    taken_on = Date()
    overall = Integer(null=True, default=None)
    groups = JSONB(default={})  # {"4": 75, "5": null, ...}


class InternalAction(Table):
    """An internal action to close a gap (or any other improvement), with owner and due date."""

    id = UUID(primary_key=True)
    organisation = ForeignKey(Organisation, null=False, on_delete=OnDelete.cascade, index=True)
    gap_item = ForeignKey(GapItem, null=True, on_delete=OnDelete.set_null, index=True)
    clause = Varchar(length=12, default="")
    title = Varchar(length=200)
    owner = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    due_on = Date(null=True, default=None)
    status = Varchar(length=10, default="open")  # open | done
    created_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=clock.now)
    done_at = Timestamptz(null=True, default=None)


# --- document room ---------------------------------------------------------------------------


class ControlledDocument(Table):
    """Documented information under control (ISO 9001:2015 7.5): policy, procedure, work instruction, record."""

    id = UUID(primary_key=True)
    organisation = ForeignKey(Organisation, null=False, on_delete=OnDelete.cascade, index=True)
    code = Varchar(length=40)
    title = Varchar(length=200)
    doc_type = Varchar(length=20)  # policy | procedure | work_instruction | record
    clause = Varchar(length=12, default="")
    owner = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    next_review_on = Date(null=True, default=None)
    retention_months = Integer(null=True, default=None)  # records only
    created_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=clock.now)
    updated_at = Timestamptz(default=clock.now)


class DocumentVersion(Table):
    """One version: a draft is edited; once approved it is frozen and only superseded by a newer one."""

    id = UUID(primary_key=True)
    document = ForeignKey(ControlledDocument, null=False, on_delete=OnDelete.cascade, index=True)
    number = Integer()
    status = Varchar(length=12, default="draft")  # draft | approved | superseded
    author = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    approver = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    approved_on = Date(null=True, default=None)
    effective_on = Date(null=True, default=None)
    change_summary = Text(default="")
    # The file, checked and stored like evidence (findings.evidence); empty until uploaded.
    stored_name = Varchar(length=64, null=True, default=None, unique=True)
    filename = Varchar(length=200, default="")
    content_type = Varchar(length=100, default="")
    size = Integer(default=0)
    sha256 = Varchar(length=64, default="")
    created_at = Timestamptz(default=clock.now)
    updated_at = Timestamptz(default=clock.now)


class GapItemDocument(Table):
    """A document linked to a clause of a self-assessment as its evidence."""

    id = UUID(primary_key=True)
    gap_item = ForeignKey(GapItem, null=False, on_delete=OnDelete.cascade, index=True)
    document = ForeignKey(ControlledDocument, null=False, on_delete=OnDelete.cascade, index=True)


class DocumentShare(Table):
    """A document shared with the organisation's certification body; withdrawn shares stay on record."""

    id = UUID(primary_key=True)
    document = ForeignKey(ControlledDocument, null=False, on_delete=OnDelete.cascade, index=True)
    organisation = ForeignKey(Organisation, null=False, on_delete=OnDelete.cascade, index=True)
    body = ForeignKey(CertificationBody, null=False, on_delete=OnDelete.cascade, index=True)
    shared_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    shared_at = Timestamptz(default=clock.now)
    withdrawn_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    withdrawn_at = Timestamptz(null=True, default=None, index=True)


class DocumentAccess(Table):
    """Who viewed or downloaded which version, when, from which side (append-only)."""

    id = UUID(primary_key=True)
    document = ForeignKey(ControlledDocument, null=False, on_delete=OnDelete.cascade, index=True)
    version = ForeignKey(DocumentVersion, null=True, on_delete=OnDelete.cascade)
    user = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    side = Varchar(length=12)  # organisation | body
    body = ForeignKey(CertificationBody, null=True, on_delete=OnDelete.set_null)
    action = Varchar(length=10)  # view | download
    at = Timestamptz(default=clock.now)


class DocumentComment(Table):
    """A certification body's comment on one version of a shared document."""

    id = UUID(primary_key=True)
    document = ForeignKey(ControlledDocument, null=False, on_delete=OnDelete.cascade, index=True)
    version = ForeignKey(DocumentVersion, null=False, on_delete=OnDelete.cascade)
    body = ForeignKey(CertificationBody, null=False, on_delete=OnDelete.cascade)
    author = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    text = Text()
    created_at = Timestamptz(default=clock.now)


# --- internal audits and management review ---------------------------------------------------


class InternalAudit(Table):
    """An internal audit (ISO 9001:2015 9.2): scope, clauses, auditor, date; shared with a body or not."""

    id = UUID(primary_key=True)
    organisation = ForeignKey(Organisation, null=False, on_delete=OnDelete.cascade, index=True)
    scope = Text()
    clauses = JSONB(default=[])  # ["4", "5.2", ...]
    auditor_name = Varchar(length=200)
    planned_on = Date()
    status = Varchar(length=10, default="planned")  # planned | completed
    completed_on = Date(null=True, default=None)
    summary = Text(default="")
    shared_body = ForeignKey(CertificationBody, null=True, on_delete=OnDelete.set_null, index=True)
    created_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=clock.now)


class InternalFinding(Table):
    """A graded internal finding and its corrective action, answered and reviewed inside the client."""

    id = UUID(primary_key=True)
    internal_audit = ForeignKey(InternalAudit, null=False, on_delete=OnDelete.cascade, index=True)
    number = Integer(default=1)
    grade = Varchar(length=12)  # major | minor | observation | ofi
    clause = Varchar(length=40)
    requirement = Text(default="")
    evidence = Text(default="")
    # The corrective action (major and minor only): open|submitted|accepted|rejected|closed, or "none".
    status = Varchar(length=12, default="open")
    due_on = Date(null=True, default=None)
    owner = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    correction = Text(default="")
    root_cause_method = Varchar(length=12, default="")
    root_cause = Text(default="")
    action_plan = Text(default="")
    target_date = Date(null=True, default=None)
    review_comment = Text(default="")
    closed_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=clock.now)
    updated_at = Timestamptz(default=clock.now)


class ManagementReview(Table):
    """A management review (ISO 9001:2015 9.3): date, attendees, inputs covered, decisions."""

    id = UUID(primary_key=True)
    organisation = ForeignKey(Organisation, null=False, on_delete=OnDelete.cascade, index=True)
    held_on = Date()
    attendees = Text()
    inputs = JSONB(default=[])  # codes from services.REVIEW_INPUTS
    decisions = Text(default="")
    created_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=clock.now)


# --- stage 1 with the room --------------------------------------------------------------------


class Stage1Reference(Table):
    """A stage 1 report's reference to a shared document (and version) and/or a clause."""

    id = UUID(primary_key=True)
    report = ForeignKey(AuditReport, null=False, on_delete=OnDelete.cascade, index=True)
    document = ForeignKey(ControlledDocument, null=True, on_delete=OnDelete.set_null)
    version = ForeignKey(DocumentVersion, null=True, on_delete=OnDelete.set_null)
    clause = Varchar(length=12, default="")
    note = Text(default="")
    created_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=clock.now)
