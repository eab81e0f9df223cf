"""Findings tables: audit reports and their revisions, findings, corrective actions, evidence files."""

from __future__ import annotations

from piccolo.columns import (
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

from marketplace.accounts.tables import CertificationBody, Organisation, Site, User
from marketplace.core import clock
from marketplace.scheduling.tables import Audit


class BodyFindingPolicy(Table):
    """A body's own response times for findings; without a row the platform defaults apply."""

    id = UUID(primary_key=True)
    body = ForeignKey(CertificationBody, null=False, on_delete=OnDelete.cascade, unique=True)
    major_response_days = Integer(default=90)
    minor_plan_days = Integer(default=30)


class AuditReport(Table):
    """One revision of an audit's report: draft (editable), issued (frozen) or amended (superseded)."""

    id = UUID(primary_key=True)
    audit = ForeignKey(Audit, null=False, on_delete=OnDelete.cascade, index=True)
    # Copied from the engagement so tenant checks and lists need no joins through scheduling.
    organisation = ForeignKey(Organisation, null=False, on_delete=OnDelete.cascade, index=True)
    body = ForeignKey(CertificationBody, null=False, on_delete=OnDelete.cascade, index=True)
    revision = Integer(default=1)
    status = Varchar(length=10, default="draft", index=True)  # draft | issued | amended
    summary = Text(default="")
    scope = Text(default="")
    clauses_covered = Text(default="")
    recommendation = Text(default="")
    amendment_reason = Text(default="")
    # The revision this one replaces (a plain id: revisions are never deleted one by one).
    supersedes_id = UUID(null=True, default=None)
    issued_on = Date(null=True, default=None)
    issued_at = Timestamptz(null=True, default=None)
    issued_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    created_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=clock.now)
    updated_at = Timestamptz(default=clock.now)


class Finding(Table):
    """A graded finding of one report revision, with clause, requirement, evidence seen and site."""

    id = UUID(primary_key=True)
    report = ForeignKey(AuditReport, null=False, on_delete=OnDelete.cascade, index=True)
    number = Integer(default=1)  # order within the report, shown as "F1", "F2" ...
    grade = Varchar(length=12)  # major | minor | observation | ofi
    clause = Varchar(length=40)
    requirement = Text(default="")
    evidence = Text(default="")
    site = ForeignKey(Site, null=True, on_delete=OnDelete.set_null)
    # In an amendment, the finding of the previous revision this one restates.
    origin_id = UUID(null=True, default=None)
    created_at = Timestamptz(default=clock.now)


class CorrectiveAction(Table):
    """The client's answer to one major or minor nonconformity, and the body's review of it."""

    id = UUID(primary_key=True)
    finding = ForeignKey(Finding, null=False, on_delete=OnDelete.restrict, index=True)
    audit = ForeignKey(Audit, null=False, on_delete=OnDelete.cascade, index=True)
    organisation = ForeignKey(Organisation, null=False, on_delete=OnDelete.cascade, index=True)
    body = ForeignKey(CertificationBody, null=False, on_delete=OnDelete.cascade, index=True)
    # The grade in force: an overdue minor escalated by the body becomes a major here.
    grade = Varchar(length=12, index=True)
    escalated = Boolean(default=False)
    status = Varchar(length=12, default="open", index=True)
    issued_on = Date()
    due_on = Date(null=True, default=None)
    owner = ForeignKey(User, null=True, on_delete=OnDelete.set_null, index=True)
    correction = Text(default="")
    root_cause_method = Varchar(length=12, default="")  # five_whys | fishbone | other
    root_cause = Text(default="")
    action_plan = Text(default="")
    target_date = Date(null=True, default=None)
    submitted_at = Timestamptz(null=True, default=None)
    review_comment = Text(default="")
    reviewed_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    reviewed_at = Timestamptz(null=True, default=None)
    verification_comment = Text(default="")
    verified_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    closed_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=clock.now)
    updated_at = Timestamptz(default=clock.now)


class EvidenceFile(Table):
    """A file the client attached to a corrective action, stored outside the web root."""

    id = UUID(primary_key=True)
    corrective_action = ForeignKey(
        CorrectiveAction, null=False, on_delete=OnDelete.cascade, index=True
    )
    stored_name = Varchar(length=64, unique=True)  # random, made by the server
    filename = Varchar(length=200)  # the sanitised name shown and offered on download
    content_type = Varchar(length=100)
    size = Integer()
    sha256 = Varchar(length=64)
    uploaded_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=clock.now)
