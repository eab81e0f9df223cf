"""Shapes of the dashboards: the note a body writes, and every home and list as typed answers."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec

# Answers are built from query rows by keyword (`Struct(**row)`), which checks the names but
# not the types: raw SQL on SQLite hands dates back as text, and they encode the same either way.


class NoteIn(msgspec.Struct, forbid_unknown_fields=True):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]


class Metric(msgspec.Struct):
    """One dashboard number with the page (and API list) it counts."""

    key: str
    label: str
    count: int
    href: str
    api: str | None = None


# --- the body's home ---------------------------------------------------------------------------


class Cell(msgspec.Struct):
    """A count in a table of counts, linking to the list it counts."""

    count: int
    href: str


class MonthAudits(msgspec.Struct):
    month: str
    kinds: dict[str, Cell]
    total: int


class AuditsPerMonth(msgspec.Struct):
    months: list[MonthAudits]
    totals: dict[str, Cell]
    kinds: list[str]


class AuditorLoad(msgspec.Struct):
    id: uuid.UUID
    name: str
    booked_days: float
    capacity_days: int
    utilisation_pct: int
    open_audits: int
    href: str


class Stage2ToDecision(msgspec.Struct):
    decisions: int
    mean_days: float | None
    href: str


class ClauseCount(msgspec.Struct):
    clause: str
    count: int
    href: str


class RevenueMonth(msgspec.Struct):
    month: str
    invoiced: dict[str, int]
    collected: dict[str, int]


class Revenue(msgspec.Struct):
    currencies: list[str]
    currency: str
    months: list[RevenueMonth]
    href: str


class BodyDashboard(msgspec.Struct):
    body_id: uuid.UUID
    body_name: str
    role: str
    clients: Metric
    attention: list[Metric]
    audits_per_month: AuditsPerMonth
    utilisation: list[AuditorLoad]
    stage2_to_decision: Stage2ToDecision
    nonconformities_by_clause: list[ClauseCount]
    revenue: Revenue | None


class BodyAction(msgspec.Struct):
    """A row of the body's corrective action list."""

    id: uuid.UUID
    grade: str
    status: str
    issued_on: dt.date | None
    due_on: dt.date | None
    organisation_id: uuid.UUID
    organisation_name: str
    clause: str
    audit_id: uuid.UUID
    audit_kind: str
    overdue: bool


# --- a body's clients and client file ----------------------------------------------------------


class ClientRow(msgspec.Struct):
    id: uuid.UUID
    name: str
    country: str
    next_due: dt.date | None
    open_ncs: int
    overdue_invoices: int | None
    certificate_status: str
    standards: list[str]


class Note(msgspec.Struct):
    id: uuid.UUID
    text: str
    created_at: dt.datetime
    author_id: uuid.UUID | None
    author_name: str | None


class ClientOrganisation(msgspec.Struct):
    id: uuid.UUID
    name: str
    country: str
    iaf_sector: int
    effective_personnel: int


class ClientSite(msgspec.Struct):
    id: uuid.UUID
    organisation: uuid.UUID
    name: str
    address: str
    country: str
    time_zone: str
    headcount: int
    central: bool


class Contact(msgspec.Struct):
    role: str
    name: str
    email: str


class ClientAudit(msgspec.Struct):
    id: uuid.UUID
    cycle: uuid.UUID
    kind: str
    status: str
    window_start: dt.date | None
    window_end: dt.date | None
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    time_zone: str
    completed_on: dt.date | None


class ClientCycle(msgspec.Struct):
    id: uuid.UUID
    engagement: uuid.UUID
    number: int
    decision_date: dt.date | None
    expiry_date: dt.date | None
    status: str
    audits: list[ClientAudit]


class ClientEngagement(msgspec.Struct):
    id: uuid.UUID
    standard: str
    status: str
    started_on: dt.date
    cycles: list[ClientCycle]


class ClientReport(msgspec.Struct):
    id: uuid.UUID
    audit: uuid.UUID
    audit_kind: str
    revision: int
    status: str
    issued_on: dt.date | None
    grades: dict[str, int]


class CertificateStep(msgspec.Struct):
    certificate: uuid.UUID
    action: str
    status: str
    reason: str
    created_at: dt.datetime


class ClientCertificate(msgspec.Struct):
    id: uuid.UUID
    number: str
    standard: str
    status: str
    issued_on: dt.date
    expires_on: dt.date
    effective_status: str
    history: list[CertificateStep]


class ClientPayment(msgspec.Struct):
    invoice: uuid.UUID
    amount_minor: int
    currency: str
    state: str
    confirmed_at: dt.datetime | None


class ClientInvoice(msgspec.Struct):
    """An invoice as the billing list answers it (every column but seller and buyer)."""

    id: uuid.UUID
    body: uuid.UUID
    organisation: uuid.UUID
    engagement: uuid.UUID
    audit: uuid.UUID | None
    kind: str
    credit_for: uuid.UUID | None
    number: int | None
    status: str
    currency: str
    subtotal_minor: int
    tax_minor: int
    total_minor: int
    amount_paid_minor: int
    issued_on: dt.date | None
    due_on: dt.date | None
    notes: str
    payment_failure: str
    void_reason: str
    created_by: uuid.UUID | None
    created_at: dt.datetime
    issued_at: dt.datetime | None
    paid_at: dt.datetime | None
    voided_at: dt.datetime | None
    organisation_name: str
    body_name: str
    overdue: bool
    amount_due_minor: int
    body_id: uuid.UUID
    organisation_id: uuid.UUID
    payments: list[ClientPayment]


class ActivityEntry(msgspec.Struct):
    action: str
    entity_type: str
    entity_id: str
    created_at: dt.datetime
    actor_id: uuid.UUID | None


class ClientDetail(msgspec.Struct):
    """The whole relationship of a body with one client."""

    organisation: ClientOrganisation
    sites: list[ClientSite]
    contacts: list[Contact]
    engagements: list[ClientEngagement]
    audits: list[ClientAudit]
    reports: list[ClientReport]
    corrective_actions: list[Metric]
    certificates: list[ClientCertificate]
    invoices: list[ClientInvoice] | None
    notes: list[Note]
    activity: list[ActivityEntry]


# --- the client's home -------------------------------------------------------------------------


class NextAudit(msgspec.Struct):
    id: uuid.UUID
    kind: str
    status: str
    window_start: dt.date | None
    window_end: dt.date | None
    starts_at: dt.datetime | None
    time_zone: str
    standard: str
    body_name: str


class OwnerMetric(msgspec.Struct):
    """Open corrective actions of one owner, as a dashboard number."""

    owner_id: uuid.UUID
    owner_name: str
    key: str
    label: str
    count: int
    href: str
    api: str | None = None


class HeldCertificate(msgspec.Struct):
    number: str
    standard: str
    body_name: str
    status: str
    expires_on: dt.date
    days_to_expiry: int


class AmountDue(msgspec.Struct):
    currency: str
    amount_due_minor: int


class ReportNonconformities(msgspec.Struct):
    report_id: uuid.UUID
    issued_on: dt.date | None
    kind: str
    count: int
    href: str


class RepeatClause(msgspec.Struct):
    clause: str
    count: int
    audits: int
    href: str
    api: str


class Improvement(msgspec.Struct):
    per_report: list[ReportNonconformities]
    mean_days_to_close: float | None
    closed: Metric
    repeat_clauses: list[RepeatClause]


class AssessmentScore(msgspec.Struct):
    id: uuid.UUID
    standard: str
    percent: int | None
    level: str
    gap_count: int


class Stage1Panel(msgspec.Struct):
    ready: bool
    internal_audit_cycle: bool
    clauses_not_audited: list[str]
    management_review: bool
    last_management_review: dt.date | None
    completed_internal_audits: int
    management_reviews: int


class ReadinessSummary(msgspec.Struct):
    assessments: list[AssessmentScore]
    stage1: Stage1Panel


class OrganisationDashboard(msgspec.Struct):
    organisation_id: uuid.UUID
    organisation_name: str
    next_audits: list[NextAudit]
    programme_href: str
    actions: list[Metric]
    actions_by_owner: list[OwnerMetric]
    certificates: list[HeldCertificate]
    invoices: list[Metric]
    amounts_due: list[AmountDue]
    improvement: Improvement
    readiness: ReadinessSummary


# --- the auditor's home ------------------------------------------------------------------------


class AuditAhead(msgspec.Struct):
    id: uuid.UUID
    kind: str
    status: str
    starts_at: dt.datetime | None
    window_end: dt.date | None
    time_zone: str
    organisation_name: str


class ReportToWrite(msgspec.Struct):
    id: uuid.UUID
    kind: str
    completed_on: dt.date | None
    organisation_name: str


class AuditorBoard(msgspec.Struct):
    """One body's work for the auditor."""

    auditor_id: uuid.UUID
    body_id: uuid.UUID
    body_name: str
    assignments_ahead: Metric
    audits: list[AuditAhead]
    reports_to_write: Metric
    reports: list[ReportToWrite]
    actions_to_verify: Metric
    actions_to_review: Metric


class AuditorDashboard(msgspec.Struct):
    auditors: list[AuditorBoard]


# --- the platform administrator's home ---------------------------------------------------------


class Health(msgspec.Struct):
    database: str
    database_ms: float
    users: int
    organisations: int
    bodies: int
    last_activity_at: dt.datetime | None


class AdminDashboard(msgspec.Struct):
    queues: list[Metric]
    health: Health


class RecentReview(msgspec.Struct):
    id: uuid.UUID
    rating: int
    text: str
    created_at: dt.datetime
    body_name: str
    body_slug: str
    organisation_name: str


class RecentUser(msgspec.Struct):
    id: uuid.UUID
    name: str
    email: str
    created_at: dt.datetime
    is_active: bool


class Home(msgspec.Struct):
    """A dashboard the caller may open."""

    href: str
    label: str


class ClientFilters(msgspec.Struct, frozen=True):
    """The filters and sort of a body's client list, shared by the API, the page and the export."""

    q: str | None = None
    standard: str | None = None
    certificate_status: str | None = None
    due_before: dt.date | None = None
    open_ncs: bool | None = None
    overdue_invoices: bool | None = None
    sort: str | None = None

    def query(self) -> dict[str, object]:
        """The filters as they stand in the page's address (`true` for a ticked box)."""
        return {
            name: ("true" if value is True else value)
            for name in self.__struct_fields__
            if (value := getattr(self, name)) not in (None, "", False)
        }
