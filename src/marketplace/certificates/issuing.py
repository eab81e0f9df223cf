"""Issuing a certificate after a grant: its number, the frozen registry fields and the cycle's dates."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import uuid
from typing import Any

from marketplace.accounts.names import body_name, organisation_name
from marketplace.accounts.tables import Site
from marketplace.certificates.registry import record_event
from marketplace.certificates.schemas import CycleContext
from marketplace.certificates.tables import Certificate, CertificateSequence
from marketplace.core.activity import Tenant, log_action
from marketplace.directory.tables import Accreditation
from marketplace.rules.cycle import expiry_date
from marketplace.scheduling.engagements import apply_decision


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
    """The body's verified, unexpired accreditation for the standard, if it holds one."""
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


async def _parties(cycle: CycleContext) -> tuple[str, str, list[dict[str, Any]]]:
    """The body's name, the organisation's name and its sites (central first) to print."""
    sites: list[dict[str, Any]] = (
        await Site.select(Site.name, Site.address, Site.country, Site.central)
        .where(Site.organisation == cycle.organisation_id)
        .order_by(Site.central, ascending=False)
        .order_by(Site.name)
        .run()
    )
    return (
        await body_name(cycle.body_id),
        await organisation_name(cycle.organisation_id),
        sites,
    )


async def _original_issue(cycle: CycleContext) -> dt.date | None:
    """The first issue date of an earlier certificate for the same client, body and standard."""
    earlier = (
        await Certificate.select(Certificate.original_issued_on)
        .where(
            (Certificate.organisation == cycle.organisation_id)
            & (Certificate.body == cycle.body_id)
            & (Certificate.standard == cycle.standard)
        )
        .order_by(Certificate.original_issued_on)
        .first()
        .run()
    )
    return earlier["original_issued_on"] if earlier else None


async def issue_certificate(
    actor_id: uuid.UUID | None, cycle: CycleContext, decided_on: dt.date, scope: str
) -> str:
    """Fix the cycle's decision date (scheduling plans the windows) and issue the certificate.

    Valid 3 years from the decision (ISO/IEC 17021-1 9.1.3.2); call inside the decision's
    write transaction. Answers the new certificate's number.
    """
    await apply_decision(cycle.id, decided_on)
    body_name, org_name, sites = await _parties(cycle)
    accreditation = await _accreditation(cycle.body_id, cycle.standard, decided_on)
    original = await _original_issue(cycle)
    number = await next_number(body_name, decided_on.year)
    certificate = Certificate(
        number=number,
        cycle=cycle.id,
        engagement=cycle.engagement,
        organisation=cycle.organisation_id,
        body=cycle.body_id,
        accreditation_body=accreditation["accreditation_body"] if accreditation else None,
        accreditation_number=accreditation["number"] if accreditation else "",
        standard=cycle.standard,
        organisation_name=org_name,
        organisation_address=sites[0]["address"] if sites else "",
        scope=scope,
        iaf_sectors=[cycle.iaf_sector],
        sites=[
            {"name": s["name"], "address": s["address"], "country": s["country"], "scope": scope}
            for s in sites
        ],
        original_issued_on=original or decided_on,
        issued_on=decided_on,
        expires_on=expiry_date(decided_on),
        status="active",
    )
    await certificate.save().run()
    await record_event(actor_id, certificate.id, "granted", "active", "")
    await log_action(
        "marketplace.certificate.granted",
        actor_id=actor_id,
        entity_type="certificate",
        entity_id=certificate.id,
        tenant=Tenant("body", cycle.body_id),
        data={"number": number, "expires_on": str(certificate.expires_on)},
    )
    return number
