"""Certificate services: the certification decision gate, issuing, status changes and verification."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import uuid
from typing import Any

from marketplace.accounts.tables import CertificationBody, Organisation, Site
from marketplace.certificates.tables import (
    Certificate,
    CertificateEvent,
    CertificateSequence,
    CertificationDecision,
)
from marketplace.core import clock
from marketplace.core.activity import Tenant, entries_for_entity, log_action
from marketplace.core.db import is_postgres, write_transaction
from marketplace.core.errors import Conflict, Invalid, NotFound
from marketplace.findings.tables import AuditReport, CorrectiveAction
from marketplace.reference.tables import AccreditationBody, Standard
from marketplace.rules.cycle import (
    AuditKind,
    certificate_at_risk,
    expiry_date,
    suspension_limit,
)
from marketplace.rules.deadlines import stage2_repeat_deadline
from marketplace.scheduling.tables import Audit, CertificationCycle

STATUSES = ("active", "suspended", "withdrawn", "expired")


# --- reading a cycle -------------------------------------------------------------------------


async def cycle_context(cycle_id: uuid.UUID) -> dict[str, Any]:
    row: dict[str, Any] | None = (
        await CertificationCycle.select(
            *CertificationCycle.all_columns(),
            CertificationCycle.engagement._.organisation.as_alias("organisation_id"),
            CertificationCycle.engagement._.body.as_alias("body_id"),
            CertificationCycle.engagement._.standard.as_alias("standard"),
            CertificationCycle.engagement._.iaf_sector.as_alias("iaf_sector"),
        )
        .where(CertificationCycle.id == cycle_id)
        .first()
        .run()
    )
    if row is None:
        raise NotFound("No such certification cycle.")
    return row


def _last_day(audit: dict[str, Any]) -> dt.date | None:
    if audit["completed_on"] is not None:
        last: dt.date = audit["completed_on"]
        return last
    if audit["ends_at"] is not None:
        ended: dt.date = audit["ends_at"].date()
        return ended
    return None


async def gate_audit(cycle: dict[str, Any]) -> dict[str, Any] | None:
    """The audit a decision follows: stage 2 of an initial cycle, else the recertification audit."""
    kind = AuditKind.stage2 if cycle["number"] == 1 else AuditKind.recertification
    row: dict[str, Any] | None = (
        await Audit.select(Audit.id, Audit.kind, Audit.status, Audit.completed_on, Audit.ends_at)
        .where((Audit.cycle == cycle["id"]) & (Audit.kind == kind.value))
        .order_by(Audit.created_at, ascending=False)
        .first()
        .run()
    )
    return row


async def decision_status(cycle_id: uuid.UUID, on: dt.date | None = None) -> dict[str, Any]:
    """What stands between the cycle and a grant today (for the decision form and the API)."""
    cycle = await cycle_context(cycle_id)
    audit = await gate_audit(cycle)
    on = on or clock.today()
    last = _last_day(audit) if audit and audit["status"] == "completed" else None
    actions = (
        await CorrectiveAction.select(
            CorrectiveAction.id,
            CorrectiveAction.grade,
            CorrectiveAction.status,
            CorrectiveAction.closed_at,
        )
        .where(CorrectiveAction.audit == audit["id"])
        .run()
        if audit
        else []
    )
    deadline = stage2_repeat_deadline(last) if last else None
    decision = (
        await CertificationDecision.select()
        .where(CertificationDecision.cycle == cycle_id)
        .first()
        .run()
    )
    return {
        "cycle": cycle,
        "audit": audit,
        "last_day": last,
        "deadline": deadline,
        "open_majors": [a for a in actions if a["grade"] == "major" and a["status"] != "closed"],
        "open_minors": [
            a
            for a in actions
            if a["grade"] == "minor" and a["status"] not in ("accepted", "closed")
        ],
        "late_majors": [
            a
            for a in actions
            if a["grade"] == "major"
            and a["status"] == "closed"
            and deadline is not None
            and a["closed_at"] is not None
            and a["closed_at"].date() > deadline
        ],
        "stage2_expired": deadline is not None and on > deadline,
        "report_issued": bool(
            audit
            and await AuditReport.exists()
            .where((AuditReport.audit == audit["id"]) & (AuditReport.status == "issued"))
            .run()
        ),
        "decision": decision,
    }


# --- numbers ---------------------------------------------------------------------------------


def number_prefix(body_name: str) -> str:
    """Initials of the body's name in capitals ("Northbridge Certification" -> "NC"), 2 to 4 letters."""
    ascii_name = unicodedata.normalize("NFKD", body_name).encode("ascii", "ignore").decode()
    words = re.findall(r"[A-Za-z]+", ascii_name)
    initials = "".join(w[0] for w in words)[:4].upper()
    if len(initials) < 2:
        initials = "".join(words)[:3].upper()
    return initials if len(initials) >= 2 else "CB"


async def next_number(body_name: str, year: int) -> str:
    """PREFIX-YEAR-NNNNNN from a per-prefix, per-year sequence; call inside a write transaction.

    The increment is one UPDATE, so on PostgreSQL a concurrent decision waits on the row lock
    and then sees the new value; the unique index on the number is the last word.
    """
    prefix = number_prefix(body_name)
    where = (CertificateSequence.prefix == prefix) & (CertificateSequence.year == year)
    # The first number of a year: create the row, or leave the one a concurrent decision made.
    await (
        CertificateSequence.insert(CertificateSequence(prefix=prefix, year=year, last=0))
        .on_conflict(action="DO NOTHING")
        .run()
    )
    await (
        CertificateSequence.update({CertificateSequence.last: CertificateSequence.last + 1})
        .where(where)
        .run()
    )
    row = await CertificateSequence.select(CertificateSequence.last).where(where).first().run()
    last = int(row["last"]) if row else 1
    return f"{prefix}-{year}-{last:06d}"


async def _accreditation(body_id: uuid.UUID, standard: str, on: dt.date) -> dict[str, Any] | None:
    """The body's verified, unexpired accreditation for the standard, when directory has them."""
    try:
        from marketplace.directory.tables import Accreditation
    except ImportError:  # pragma: no cover - directory ships Accreditation today
        return None
    row: dict[str, Any] | None = (
        await Accreditation.select(Accreditation.accreditation_body, Accreditation.number)
        .where(
            (Accreditation.body == body_id)
            & (Accreditation.standard == standard)
            & (Accreditation.status == "verified")
            & (Accreditation.valid_until >= on)
        )
        .order_by(Accreditation.valid_until, ascending=False)
        .first()
        .run()
    )
    return row


# --- the decision ----------------------------------------------------------------------------


async def decide(
    actor_id: uuid.UUID | None,
    cycle_id: uuid.UUID,
    *,
    decision: str,
    decided_on: dt.date | None,
    scope: str,
    comment: str = "",
    stage2_override_reason: str = "",
) -> dict[str, Any]:
    """Grant or refuse certification after stage 2 (ISO/IEC 17021-1:2015 9.5).

    - Stage 2 (the recertification audit in later cycles) must be completed, and the decision
      cannot predate its last day nor lie in the future.
    - Grant needs the stage 2 report issued, every major from it verified (closed) (9.5.3,
      409 ``open_major_nonconformities``) and every minor's plan accepted (reference README:
      an accepted plan is enough; 409 ``open_minor_nonconformities``).
    - A major verified more than 6 months after the last day of stage 2 means stage 2 must be
      repeated (9.5.3.2, ``rules.deadlines.stage2_repeat_deadline``): 409 ``stage2_expired``.
      A grant decided more than 6 months after stage 2 without such a major is also refused
      with ``stage2_expired`` unless the body records a ``stage2_override_reason`` (its own
      judgement that the evidence is still current, as the reference allows for stage 1).
    - A grant sets the cycle's decision date, which fixes expiry (+3 years, 9.1.3.2) and the
      surveillance windows, and issues the certificate.
    """
    if decision not in ("grant", "refuse"):
        raise Invalid.field("decision", "Choose grant or refuse.")
    today = clock.today()
    decided_on = decided_on or today
    if decided_on > today:
        raise Invalid.field("decided_on", "A decision cannot be dated in the future.")
    if decision == "grant" and not scope.strip():
        raise Invalid.field("scope", "State the scope of certification.")
    async with write_transaction():
        state = await decision_status(cycle_id, decided_on)
        cycle = state["cycle"]
        if state["decision"] is not None or cycle["decision_date"] is not None:
            raise Conflict(
                "This cycle already has a certification decision.", code="already_decided"
            )
        if state["last_day"] is None:
            raise Conflict(
                "The decision follows a completed stage 2 audit.", code="stage2_not_completed"
            )
        if decided_on < state["last_day"]:
            raise Invalid.field("decided_on", "A decision cannot predate the end of stage 2.")
        if decision == "grant":
            if not state["report_issued"]:
                raise Conflict("Issue the stage 2 report first.", code="report_not_issued")
            if state["open_majors"]:
                raise Conflict(
                    f"{len(state['open_majors'])} major nonconformities from stage 2 are not verified.",
                    code="open_major_nonconformities",
                )
            if state["open_minors"]:
                raise Conflict(
                    f"{len(state['open_minors'])} minor nonconformities have no accepted action plan.",
                    code="open_minor_nonconformities",
                )
            if state["late_majors"] or (
                state["stage2_expired"] and not stage2_override_reason.strip()
            ):
                raise Conflict(
                    f"More than 6 months passed since stage 2 ended on {state['last_day']}; "
                    "stage 2 must be repeated.",
                    code="stage2_expired",
                )
        record = CertificationDecision(
            cycle=cycle_id,
            organisation=cycle["organisation_id"],
            body=cycle["body_id"],
            decision=decision,
            decided_on=decided_on,
            scope=scope,
            comment=comment,
            stage2_override_reason=stage2_override_reason if state["stage2_expired"] else "",
            decided_by=actor_id,
        )
        await record.save().run()
        body_tenant = Tenant("body", cycle["body_id"])
        if decision == "refuse":
            await (
                CertificationCycle.update({CertificationCycle.status: "refused"})
                .where(CertificationCycle.id == cycle_id)
                .run()
            )
            await log_action(
                "marketplace.certification.refused",
                actor_id=actor_id,
                entity_type="cycle",
                entity_id=cycle_id,
                tenant=body_tenant,
                data={"decided_on": str(decided_on), "comment": comment},
            )
            return {"decision": "refuse", "decision_id": record.id, "certificate": None}
        number = await _issue_certificate(actor_id, cycle, decided_on, scope)
        await log_action(
            "marketplace.certification.granted",
            actor_id=actor_id,
            entity_type="cycle",
            entity_id=cycle_id,
            tenant=body_tenant,
            data={
                "decided_on": str(decided_on),
                "certificate": number,
                "stage2_override_reason": record.stage2_override_reason,
            },
        )
    return {"decision": "grant", "decision_id": record.id, "certificate": number}


async def _record_decision_date(cycle_id: uuid.UUID, decided_on: dt.date) -> None:
    """Scheduling owns the cycle's dates and windows; its apply_decision plans the rest."""
    from marketplace.scheduling import engagements as scheduling

    apply = getattr(scheduling, "apply_decision", None)
    if apply is not None:
        await apply(cycle_id, decided_on)
        return
    await (
        CertificationCycle.update(  # pragma: no cover - fallback while scheduling lacked it
            {
                CertificationCycle.decision_date: decided_on,
                CertificationCycle.expiry_date: expiry_date(decided_on),
                CertificationCycle.status: "certified",
            }
        )
        .where(CertificationCycle.id == cycle_id)
        .run()
    )


async def _issue_certificate(
    actor_id: uuid.UUID | None, cycle: dict[str, Any], decided_on: dt.date, scope: str
) -> str:
    await _record_decision_date(cycle["id"], decided_on)
    body = (
        await CertificationBody.select(CertificationBody.name)
        .where(CertificationBody.id == cycle["body_id"])
        .first()
        .run()
    )
    org = (
        await Organisation.select(Organisation.name)
        .where(Organisation.id == cycle["organisation_id"])
        .first()
        .run()
    )
    sites = (
        await Site.select(Site.name, Site.address, Site.country, Site.central)
        .where(Site.organisation == cycle["organisation_id"])
        .order_by(Site.central, ascending=False)
        .order_by(Site.name)
        .run()
    )
    accreditation = await _accreditation(cycle["body_id"], cycle["standard"], decided_on)
    earlier = (
        await Certificate.select(Certificate.original_issued_on)
        .where(
            (Certificate.organisation == cycle["organisation_id"])
            & (Certificate.body == cycle["body_id"])
            & (Certificate.standard == cycle["standard"])
        )
        .order_by(Certificate.original_issued_on)
        .first()
        .run()
    )
    number = await next_number(body["name"] if body else "", decided_on.year)
    certificate = Certificate(
        number=number,
        cycle=cycle["id"],
        engagement=cycle["engagement"],
        organisation=cycle["organisation_id"],
        body=cycle["body_id"],
        accreditation_body=accreditation["accreditation_body"] if accreditation else None,
        accreditation_number=accreditation["number"] if accreditation else "",
        standard=cycle["standard"],
        organisation_name=org["name"] if org else "",
        organisation_address=sites[0]["address"] if sites else "",
        scope=scope,
        iaf_sectors=[cycle["iaf_sector"]],
        sites=[
            {"name": s["name"], "address": s["address"], "country": s["country"], "scope": scope}
            for s in sites
        ],
        original_issued_on=earlier["original_issued_on"] if earlier else decided_on,
        issued_on=decided_on,
        expires_on=expiry_date(decided_on),
        status="active",
    )
    await certificate.save().run()
    await _event(actor_id, certificate.id, "granted", "active", "")
    await log_action(
        "marketplace.certificate.granted",
        actor_id=actor_id,
        entity_type="certificate",
        entity_id=certificate.id,
        tenant=Tenant("body", cycle["body_id"]),
        data={"number": number, "expires_on": str(certificate.expires_on)},
    )
    return number


async def _event(
    actor_id: uuid.UUID | None, certificate_id: uuid.UUID, action: str, status: str, reason: str
) -> None:
    await CertificateEvent.insert(
        CertificateEvent(
            certificate=certificate_id, action=action, status=status, reason=reason, actor=actor_id
        )
    ).run()


# --- reading certificates --------------------------------------------------------------------


def effective_status(row: dict[str, Any], today: dt.date | None = None) -> str:
    """Expiry needs no sweep: an active or suspended certificate past expires_on reads expired."""
    today = today or clock.today()
    if row["status"] in ("active", "suspended") and today > row["expires_on"]:
        return "expired"
    return str(row["status"])


_COLUMNS = (
    Certificate.body._.name.as_alias("body_name"),
    Certificate.accreditation_body._.name.as_alias("accreditation_body_name"),
    Certificate.standard._.title.as_alias("standard_title"),
)


async def certificate_row(number: str) -> dict[str, Any]:
    row: dict[str, Any] | None = (
        await Certificate.select(*Certificate.all_columns(), *_COLUMNS)
        .where(Certificate.number == number.strip().upper())
        .first()
        .output(load_json=True)
        .run()
    )
    if row is None:
        raise NotFound("No certificate with this number.")
    row["effective_status"] = effective_status(row)
    return row


async def at_risk(row: dict[str, Any]) -> bool:
    """Surveillance missed: grounds for suspension (ISO/IEC 17021-1 9.1.3, 9.6.5)."""
    if row["effective_status"] != "active":
        return False
    cycle = (
        await CertificationCycle.select(CertificationCycle.decision_date)
        .where(CertificationCycle.id == row["cycle"])
        .first()
        .run()
    )
    if not cycle or cycle["decision_date"] is None:
        return False
    done = {
        a["kind"]
        for a in await Audit.select(Audit.kind)
        .where((Audit.cycle == row["cycle"]) & (Audit.status == "completed"))
        .run()
    }
    return certificate_at_risk(
        cycle["decision_date"],
        clock.today(),
        AuditKind.surveillance1.value in done,
        AuditKind.surveillance2.value in done,
    )


def registry_fields(row: dict[str, Any]) -> dict[str, Any]:
    """Exactly what the public registry shows (reference README, API.md), nothing internal."""
    return {
        "number": row["number"],
        "status": row["effective_status"],
        "organisation": row["organisation_name"],
        "organisation_address": row["organisation_address"],
        "body": row["body_name"],
        "accreditation_body": row["accreditation_body"],
        "accreditation_body_name": row["accreditation_body_name"],
        "standard": row["standard"],
        "scope": row["scope"],
        "iaf_sectors": row["iaf_sectors"],
        "sites": row["sites"],
        "original_issued_on": row["original_issued_on"],
        "issued_on": row["issued_on"],
        "expires_on": row["expires_on"],
    }


async def history(certificate_id: uuid.UUID) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (
        await CertificateEvent.select(
            CertificateEvent.action,
            CertificateEvent.status,
            CertificateEvent.reason,
            CertificateEvent.created_at,
            CertificateEvent.actor._.name.as_alias("actor_name"),
        )
        .where(CertificateEvent.certificate == certificate_id)
        .order_by(CertificateEvent.created_at)
        .run()
    )
    return rows


async def activity(certificate_id: uuid.UUID) -> list[dict[str, Any]]:
    return await entries_for_entity("certificate", certificate_id)


def _contains(column: Any, pattern: str) -> Any:
    # SQLite's LIKE already ignores ASCII case (and Piccolo warns on ilike there).
    return column.ilike(pattern) if is_postgres() else column.like(pattern)


async def search(q: str, limit: int = 50) -> list[dict[str, Any]]:
    """Public search by certificate number (exact) or certified organisation name (contains)."""
    q = q.strip()
    if not q:
        return []
    if len(q) > 200:
        raise Invalid.field("q", "Search with at most 200 characters.")
    pattern = "%" + q.replace("\\", "").replace("%", "").replace("_", " ") + "%"
    rows: list[dict[str, Any]] = (
        await Certificate.select(*Certificate.all_columns(), *_COLUMNS)
        .where(
            (Certificate.number == q.upper()) | _contains(Certificate.organisation_name, pattern)
        )
        .order_by(Certificate.organisation_name)
        .limit(limit)
        .output(load_json=True)
        .run()
    )
    for r in rows:
        r["effective_status"] = effective_status(r)
    return rows


async def certificates_for(
    *, organisation_id: uuid.UUID | None = None, body_id: uuid.UUID | None = None
) -> list[dict[str, Any]]:
    where: Any = Certificate.id.is_not_null()
    if organisation_id is not None:
        where &= Certificate.organisation == organisation_id
    if body_id is not None:
        where &= Certificate.body == body_id
    rows: list[dict[str, Any]] = (
        await Certificate.select(*Certificate.all_columns(), *_COLUMNS)
        .where(where)
        .order_by(Certificate.issued_on, ascending=False)
        .output(load_json=True)
        .run()
    )
    for r in rows:
        r["effective_status"] = effective_status(r)
    return rows


async def with_risk(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mark each active certificate at risk when a surveillance audit is missed, in two queries."""
    cycle_ids = [r["cycle"] for r in rows]
    if not cycle_ids:
        return rows
    decisions = {
        c["id"]: c["decision_date"]
        for c in await CertificationCycle.select(
            CertificationCycle.id, CertificationCycle.decision_date
        )
        .where(CertificationCycle.id.is_in(cycle_ids))
        .run()
    }
    done: dict[Any, set[str]] = {}
    for a in (
        await Audit.select(Audit.cycle, Audit.kind)
        .where(Audit.cycle.is_in(cycle_ids) & (Audit.status == "completed"))
        .run()
    ):
        done.setdefault(a["cycle"], set()).add(a["kind"])
    today = clock.today()
    for r in rows:
        decided = decisions.get(r["cycle"])
        held = done.get(r["cycle"], set())
        r["at_risk"] = (
            r["effective_status"] == "active"
            and decided is not None
            and certificate_at_risk(
                decided,
                today,
                AuditKind.surveillance1.value in held,
                AuditKind.surveillance2.value in held,
            )
        )
    return rows


async def standard_title(code: str) -> str:
    row = await Standard.select(Standard.title).where(Standard.code == code).first().run()
    return str(row["title"]) if row else code


async def accreditation_body_name(code: str | None) -> str | None:
    if not code:
        return None
    row = (
        await AccreditationBody.select(AccreditationBody.name)
        .where(AccreditationBody.code == code)
        .first()
        .run()
    )
    return str(row["name"]) if row else code


# --- status changes --------------------------------------------------------------------------


async def _change(
    actor_id: uuid.UUID | None,
    number: str,
    action: str,
    status: str,
    reason: str,
    extra: dict[Any, Any] | None = None,
) -> None:
    row = await certificate_row(number)
    await (
        Certificate.update(
            {
                Certificate.status: status,
                Certificate.status_reason: reason,
                Certificate.updated_at: clock.now(),
                **(extra or {}),
            }
        )
        .where(Certificate.id == row["id"])
        .run()
    )
    await _event(actor_id, row["id"], action, status, reason)
    await log_action(
        f"marketplace.certificate.{action}",
        actor_id=actor_id,
        entity_type="certificate",
        entity_id=row["id"],
        tenant=Tenant("body", row["body"]),
        data={"number": row["number"], "reason": reason},
    )


def _reason(reason: str) -> str:
    if not reason.strip():
        raise Invalid.field("reason", "Give the reason; it is kept in the certificate's history.")
    return reason.strip()


async def suspend(actor_id: uuid.UUID | None, number: str, reason: str) -> None:
    """Suspend an active certificate (ISO/IEC 17021-1:2015 9.6.5: missed surveillance, failures).

    A suspended certificate is temporarily invalid; it is restored or withdrawn within 6 months.
    """
    reason = _reason(reason)
    async with write_transaction():
        row = await certificate_row(number)
        if row["effective_status"] != "active":
            raise Conflict(
                f"Only an active certificate can be suspended; this one is {row['effective_status']}.",
                code="not_active",
            )
        await _change(
            actor_id,
            number,
            "suspended",
            "suspended",
            reason,
            {Certificate.suspended_on: clock.today()},
        )


async def withdraw(actor_id: uuid.UUID | None, number: str, reason: str) -> None:
    """Withdraw an active or suspended certificate; withdrawal is final (ISO/IEC 17021-1 9.6.5)."""
    reason = _reason(reason)
    async with write_transaction():
        row = await certificate_row(number)
        status = row["effective_status"]
        if status == "withdrawn":
            raise Conflict(
                "This certificate is already withdrawn; that is final.", code="withdrawn_final"
            )
        if status == "expired":
            raise Conflict("An expired certificate cannot be withdrawn.", code="expired")
        await _change(actor_id, number, "withdrawn", "withdrawn", reason)


async def restore(actor_id: uuid.UUID | None, number: str, reason: str) -> None:
    """Restore a suspended certificate within 6 months of its suspension (ISO/IEC 17021-1 9.6.5).

    Past that limit (``rules.cycle.suspension_limit``) the body withdraws or reduces the scope
    instead; a withdrawn or expired certificate is never restored this way.
    """
    reason = _reason(reason)
    async with write_transaction():
        row = await certificate_row(number)
        status = row["effective_status"]
        if status != "suspended":
            raise Conflict(
                f"Only a suspended certificate can be restored; this one is {status}.",
                code="not_suspended",
            )
        if row["suspended_on"] and clock.today() > suspension_limit(row["suspended_on"]):
            raise Conflict(
                "The suspension is older than 6 months: withdraw the certificate or reduce its scope.",
                code="suspension_limit_passed",
            )
        await _change(
            actor_id, number, "restored", "active", reason, {Certificate.suspended_on: None}
        )
