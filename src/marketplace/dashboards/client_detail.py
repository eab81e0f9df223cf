"""A body's client file: the whole relationship with one client, in a bounded number of queries."""

from __future__ import annotations

import uuid
from typing import Any

from piccolo.query.functions.aggregate import Count

from marketplace.accounts.guards import Principal
from marketplace.accounts.tables import Membership, Site
from marketplace.billing.invoices import list_invoices
from marketplace.billing.tables import Payment
from marketplace.certificates.registry import effective_status
from marketplace.certificates.tables import Certificate, CertificateEvent
from marketplace.core import clock
from marketplace.core.tables import ActivityLog
from marketplace.dashboards import access
from marketplace.dashboards.clients import notes_of, require_client
from marketplace.dashboards.schemas import (
    ActivityEntry,
    CertificateStep,
    ClientAudit,
    ClientCertificate,
    ClientCycle,
    ClientDetail,
    ClientEngagement,
    ClientInvoice,
    ClientOrganisation,
    ClientPayment,
    ClientReport,
    ClientSite,
    Contact,
    Metric,
)
from marketplace.dashboards.sql import NO_ID, ROW_LIMIT
from marketplace.findings.tables import AuditReport, CorrectiveAction, Finding
from marketplace.findings.tracker import STATUSES
from marketplace.scheduling.tables import Audit, CertificationCycle, Engagement


async def client_detail(
    principal: Principal, body_id: uuid.UUID, organisation_id: uuid.UUID
) -> ClientDetail:
    """The body's file on one client (home roles; invoices for the billing roles only)."""
    show_invoices = access.sees_invoices(access.home_role(principal, body_id))
    org = await require_client(body_id, organisation_id)
    engagements, audits = await _programme(body_id, organisation_id)
    reports = await _reports(body_id, organisation_id)
    certs = await _certificates(body_id, organisation_id)
    invoices = await _invoices(body_id, organisation_id) if show_invoices else None
    notes = await notes_of(body_id, organisation_id)
    entity_ids = [
        *(e.id for e in engagements),
        *(c.id for e in engagements for c in e.cycles),
        *(a.id for a in audits),
        *(r.id for r in reports),
        *(c.id for c in certs),
        *(i.id for i in invoices or []),
        *(n.id for n in notes),
    ]
    return ClientDetail(
        organisation=ClientOrganisation(
            id=org["id"],
            name=org["name"],
            country=org["country"],
            iaf_sector=org["iaf_sector"],
            effective_personnel=org["effective_personnel"],
        ),
        sites=[
            ClientSite(**s)
            for s in await Site.select()
            .where(Site.organisation == organisation_id)
            .order_by(Site.name)
            .run()
        ],
        contacts=await _contacts(organisation_id),
        engagements=engagements,
        audits=audits,
        reports=reports,
        corrective_actions=await _action_counts(body_id, organisation_id),
        certificates=certs,
        invoices=invoices,
        notes=notes,
        activity=await _activity(body_id, organisation_id, entity_ids, show_invoices),
    )


async def _contacts(organisation_id: uuid.UUID) -> list[Contact]:
    rows = (
        await Membership.select(
            Membership.role,
            Membership.user._.name.as_alias("name"),
            Membership.user._.email.as_alias("email"),
        )
        .where(Membership.organisation == organisation_id)
        .order_by(Membership.user._.name)
        .limit(ROW_LIMIT)
        .run()
    )
    return [Contact(**r) for r in rows]


async def _programme(
    body_id: uuid.UUID, organisation_id: uuid.UUID
) -> tuple[list[ClientEngagement], list[ClientAudit]]:
    """The client's engagements with their cycles and audits nested, and the audits alone."""
    engagements = (
        await Engagement.select(
            Engagement.id, Engagement.standard, Engagement.status, Engagement.started_on
        )
        .where((Engagement.body == body_id) & (Engagement.organisation == organisation_id))
        .order_by(Engagement.started_on)
        .run()
    )
    cycles = (
        await CertificationCycle.select(
            CertificationCycle.id,
            CertificationCycle.engagement,
            CertificationCycle.number,
            CertificationCycle.decision_date,
            CertificationCycle.expiry_date,
            CertificationCycle.status,
        )
        .where(CertificationCycle.engagement.is_in([e["id"] for e in engagements]))
        .order_by(CertificationCycle.number)
        .run()
    )
    audits = [
        ClientAudit(**a)
        for a in await Audit.select(
            Audit.id,
            Audit.cycle,
            Audit.kind,
            Audit.status,
            Audit.window_start,
            Audit.window_end,
            Audit.starts_at,
            Audit.ends_at,
            Audit.time_zone,
            Audit.completed_on,
        )
        .where(Audit.cycle.is_in([c["id"] for c in cycles] or [NO_ID]))
        .order_by(Audit.window_end)
        .limit(ROW_LIMIT)
        .run()
    ]
    by_cycle: dict[Any, list[ClientAudit]] = {}
    for a in audits:
        by_cycle.setdefault(a.cycle, []).append(a)
    by_engagement: dict[Any, list[ClientCycle]] = {}
    for c in cycles:
        by_engagement.setdefault(c["engagement"], []).append(
            ClientCycle(**c, audits=by_cycle.get(c["id"], []))
        )
    nested = [ClientEngagement(**e, cycles=by_engagement.get(e["id"], [])) for e in engagements]
    return nested, audits


async def _reports(body_id: uuid.UUID, organisation_id: uuid.UUID) -> list[ClientReport]:
    """The client's audit reports, newest first, with their findings counted by grade."""
    reports = (
        await AuditReport.select(
            AuditReport.id,
            AuditReport.audit,
            AuditReport.audit._.kind.as_alias("audit_kind"),
            AuditReport.revision,
            AuditReport.status,
            AuditReport.issued_on,
        )
        .where((AuditReport.body == body_id) & (AuditReport.organisation == organisation_id))
        .order_by(AuditReport.created_at, ascending=False)
        .limit(ROW_LIMIT)
        .run()
    )
    grade_counts: dict[Any, dict[str, int]] = {}
    if reports:
        for g in (
            await Finding.select(Finding.report, Finding.grade, Count())
            .where(Finding.report.is_in([r["id"] for r in reports]))
            .group_by(Finding.report, Finding.grade)
            .run()
        ):
            grade_counts.setdefault(g["report"], {})[g["grade"]] = int(g["count"])
    return [ClientReport(**r, grades=grade_counts.get(r["id"], {})) for r in reports]


def _client_actions_where(body_id: uuid.UUID, organisation_id: uuid.UUID) -> Any:
    return (CorrectiveAction.body == body_id) & (CorrectiveAction.organisation == organisation_id)


async def _action_counts(body_id: uuid.UUID, organisation_id: uuid.UUID) -> list[Metric]:
    """The client's corrective actions counted per status, each linking to its list."""
    ca_status = {
        s["status"]: int(s["count"])
        for s in await CorrectiveAction.select(CorrectiveAction.status, Count())
        .where(_client_actions_where(body_id, organisation_id))
        .group_by(CorrectiveAction.status)
        .run()
    }
    base = f"/manage/bodies/{body_id}"
    return [
        Metric(
            f"actions_{s}",
            s,
            ca_status.get(s, 0),
            f"{base}/corrective-actions?organisation={organisation_id}&status={s}",
        )
        for s in STATUSES
    ]


async def _certificates(body_id: uuid.UUID, organisation_id: uuid.UUID) -> list[ClientCertificate]:
    """The client's certificates from the body, newest first, each with its history."""
    certs = (
        await Certificate.select(
            Certificate.id,
            Certificate.number,
            Certificate.standard,
            Certificate.status,
            Certificate.issued_on,
            Certificate.expires_on,
        )
        .where((Certificate.body == body_id) & (Certificate.organisation == organisation_id))
        .order_by(Certificate.issued_on, ascending=False)
        .run()
    )
    events: dict[Any, list[CertificateStep]] = {}
    if certs:
        for ev in (
            await CertificateEvent.select(
                CertificateEvent.certificate,
                CertificateEvent.action,
                CertificateEvent.status,
                CertificateEvent.reason,
                CertificateEvent.created_at,
            )
            .where(CertificateEvent.certificate.is_in([c["id"] for c in certs]))
            .order_by(CertificateEvent.created_at)
            .limit(ROW_LIMIT)
            .run()
        ):
            events.setdefault(ev["certificate"], []).append(CertificateStep(**ev))
    today = clock.today()
    return [
        ClientCertificate(
            **c,
            effective_status=effective_status(c, today),
            history=events.get(c["id"], []),
        )
        for c in certs
    ]


async def _invoices(body_id: uuid.UUID, organisation_id: uuid.UUID) -> list[ClientInvoice]:
    """The client's invoices from the body, newest first, each with its payments."""
    invoices, _ = await list_invoices(
        body_id=body_id, organisation_id=organisation_id, limit=ROW_LIMIT
    )
    payments: dict[Any, list[ClientPayment]] = {}
    if invoices:
        for pay in (
            await Payment.select(
                Payment.invoice,
                Payment.amount_minor,
                Payment.currency,
                Payment.state,
                Payment.confirmed_at,
            )
            .where(Payment.invoice.is_in([i["id"] for i in invoices]))
            .order_by(Payment.created_at)
            .run()
        ):
            payments.setdefault(pay["invoice"], []).append(ClientPayment(**pay))
    return [ClientInvoice(**i, payments=payments.get(i["id"], [])) for i in invoices]


async def _activity(
    body_id: uuid.UUID,
    organisation_id: uuid.UUID,
    entity_ids: list[uuid.UUID],
    show_invoices: bool,
) -> list[ActivityEntry]:
    """The body's last 50 logged changes to anything of this client's file."""
    ca_ids = [
        str(r["id"])
        for r in await CorrectiveAction.select(CorrectiveAction.id)
        .where(_client_actions_where(body_id, organisation_id))
        .limit(ROW_LIMIT)
        .run()
    ]
    activity = (
        await ActivityLog.select(
            ActivityLog.action,
            ActivityLog.entity_type,
            ActivityLog.entity_id,
            ActivityLog.created_at,
            ActivityLog.actor_id,
        )
        .where(
            (ActivityLog.tenant_kind == "body")
            & (ActivityLog.tenant_id == body_id)
            & ActivityLog.entity_id.is_in([str(x) for x in entity_ids] + ca_ids or ["-"])
        )
        .order_by(ActivityLog.created_at, ascending=False)
        .limit(50)
        .run()
    )
    return [ActivityEntry(**a) for a in activity if show_invoices or a["entity_type"] != "invoice"]
