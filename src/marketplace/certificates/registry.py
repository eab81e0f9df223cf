"""The certificate register: reading certificates, their effective status, risk flag and history."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from marketplace.accounts.guards import Principal, require_role
from marketplace.accounts.roles import TenantKind
from marketplace.certificates.schemas import (
    CertificateEventOut,
    CertificateRecord,
    ManagedCertificateOut,
)
from marketplace.certificates.tables import Certificate, CertificateEvent
from marketplace.core import clock
from marketplace.core.errors import NotFound
from marketplace.rules.cycle import AuditKind, certificate_at_risk
from marketplace.scheduling.context import BODY_ALL, CLIENT_ALL, check_access
from marketplace.scheduling.tables import Audit, CertificationCycle

COLUMNS = (
    Certificate.body._.name.as_alias("body_name"),
    Certificate.accreditation_body._.name.as_alias("accreditation_body_name"),
    Certificate.standard._.title.as_alias("standard_title"),
)


def effective_status(row: Mapping[str, Any], today: dt.date | None = None) -> str:
    """Expiry needs no sweep: an active or suspended certificate past expires_on reads expired."""
    today = today or clock.today()
    if row["status"] in ("active", "suspended") and today > row["expires_on"]:
        return "expired"
    return str(row["status"])


def certificate_record(row: dict[str, Any]) -> CertificateRecord:
    """A selected row (all columns and COLUMNS) as a record with its effective status."""
    return msgspec.convert({**row, "effective_status": effective_status(row)}, CertificateRecord)


async def certificate_row(number: str) -> CertificateRecord:
    row: dict[str, Any] | None = (
        await Certificate.select(*Certificate.all_columns(), *COLUMNS)
        .where(Certificate.number == number.strip().upper())
        .first()
        .output(load_json=True)
        .run()
    )
    if row is None:
        raise NotFound("No certificate with this number.")
    return certificate_record(row)


async def at_risk(row: CertificateRecord) -> bool:
    """Surveillance missed: grounds for suspension (ISO/IEC 17021-1 9.1.3, 9.6.5)."""
    if row.effective_status != "active":
        return False
    cycle = (
        await CertificationCycle.select(CertificationCycle.decision_date)
        .where(CertificationCycle.id == row.cycle)
        .first()
        .run()
    )
    if not cycle or cycle["decision_date"] is None:
        return False
    done = {
        a["kind"]
        for a in await Audit.select(Audit.kind)
        .where((Audit.cycle == row.cycle) & (Audit.status == "completed"))
        .run()
    }
    return certificate_at_risk(
        cycle["decision_date"],
        clock.today(),
        AuditKind.surveillance1.value in done,
        AuditKind.surveillance2.value in done,
    )


def registry_fields(row: Mapping[str, Any]) -> dict[str, Any]:
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


def public_fields(row: CertificateRecord) -> dict[str, Any]:
    """``registry_fields`` of a record."""
    return registry_fields(msgspec.structs.asdict(row))


async def history(certificate_id: uuid.UUID) -> list[CertificateEventOut]:
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
    return msgspec.convert(rows, list[CertificateEventOut])


async def record_event(
    actor_id: uuid.UUID | None, certificate_id: uuid.UUID, action: str, status: str, reason: str
) -> None:
    """One line of the certificate's own history (granted, suspended, withdrawn, restored)."""
    await CertificateEvent.insert(
        CertificateEvent(
            certificate=certificate_id, action=action, status=status, reason=reason, actor=actor_id
        )
    ).run()


async def managed_out(
    row: CertificateRecord, *, with_history: bool = True
) -> ManagedCertificateOut:
    """The registry entry plus what the two parties see: risk flag, reason and history.

    A row from ``with_risk`` carries its flag already; a single row is asked here.
    """
    return msgspec.convert(
        {
            **public_fields(row),
            "id": row.id,
            "at_risk": row.at_risk if row.at_risk is not None else await at_risk(row),
            "status_reason": row.status_reason,
            "suspended_on": row.suspended_on,
            **({"history": await history(row.id)} if with_history else {}),
        },
        ManagedCertificateOut,
        strict=False,
    )


async def managed_for(principal: Principal, number: str) -> ManagedCertificateOut:
    """The managed view of a certificate, for members of its client or its body (else 404)."""
    row = await certificate_row(number)
    check_access(
        principal,
        row.organisation,
        row.body,
        client=CLIENT_ALL,
        body=BODY_ALL,
        what="No certificate with this number.",
    )
    return await managed_out(row)


async def certificates_for(
    *, organisation_id: uuid.UUID | None = None, body_id: uuid.UUID | None = None
) -> list[CertificateRecord]:
    where: Any = Certificate.id.is_not_null()
    if organisation_id is not None:
        where &= Certificate.organisation == organisation_id
    if body_id is not None:
        where &= Certificate.body == body_id
    rows: list[dict[str, Any]] = (
        await Certificate.select(*Certificate.all_columns(), *COLUMNS)
        .where(where)
        .order_by(Certificate.issued_on, ascending=False)
        .output(load_json=True)
        .run()
    )
    return [certificate_record(r) for r in rows]


async def risk_flags(rows: Sequence[tuple[uuid.UUID, str]]) -> list[bool]:
    """For each (cycle, effective status): an active certificate whose surveillance is missed.

    Two queries whatever the number of rows (ISO/IEC 17021-1 9.1.3, 9.6.5).
    """
    cycle_ids = [cycle for cycle, _ in rows]
    if not cycle_ids:
        return []
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
    flags = []
    for cycle, status in rows:
        decided = decisions.get(cycle)
        held = done.get(cycle, set())
        flags.append(
            status == "active"
            and decided is not None
            and certificate_at_risk(
                decided,
                today,
                AuditKind.surveillance1.value in held,
                AuditKind.surveillance2.value in held,
            )
        )
    return flags


async def with_risk(rows: list[CertificateRecord]) -> list[CertificateRecord]:
    """Mark each active certificate at risk when a surveillance audit is missed."""
    flags = await risk_flags([(r.cycle, r.effective_status) for r in rows])
    for r, flag in zip(rows, flags, strict=True):
        r.at_risk = flag
    return rows


async def body_certificates(principal: Principal, body_id: uuid.UUID) -> list[CertificateRecord]:
    """The body's certificates with the at-risk flag, for any member of the body."""
    require_role(principal, TenantKind.body, body_id, BODY_ALL, what="No such certification body.")
    return await with_risk(await certificates_for(body_id=body_id))
