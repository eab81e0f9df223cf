"""Demo scheduling data: auditors for every body, and Northbridge's clients at every stage of the cycle."""

from __future__ import annotations

import datetime as dt
import random
import sys
import uuid
from typing import Any

from piccolo.table import Table

from marketplace.accounts.tables import CertificationBody, Organisation, Site, User
from marketplace.core import clock
from marketplace.core.db import write_transaction
from marketplace.core.errors import Conflict
from marketplace.scheduling.auditors import set_settings
from marketplace.scheduling.booking import TeamMember, complete_audit, confirm_audit, propose_audit
from marketplace.scheduling.engagements import StartedEngagement, apply_decision, start_engagement
from marketplace.scheduling.tables import Auditor, Qualification, Unavailability

STANDARDS = ("ISO 9001:2015", "ISO 14001:2015", "ISO 45001:2018", "ISO/IEC 27001:2022")
NORTHBRIDGE = "Northbridge Certification"
DEMO_AUDITOR = "auditor@demo.certmarket.test"
DEMO_CLIENT_ORG = "Acme Precision Ltd"
AUDITORS_PER_BODY = 3
NORTHBRIDGE_AUDITORS = 8
ZONES = {
    "GB": "Europe/London",
    "IE": "Europe/Dublin",
    "DE": "Europe/Berlin",
    "FR": "Europe/Paris",
    "NL": "Europe/Amsterdam",
    "ES": "Europe/Madrid",
    "IT": "Europe/Rome",
    "US": "America/New_York",
    "CA": "America/Toronto",
    "AU": "Australia/Sydney",
    "IN": "Asia/Kolkata",
    "SE": "Europe/Stockholm",
    "PL": "Europe/Warsaw",
    "BR": "America/Sao_Paulo",
    "JP": "Asia/Tokyo",
}
FIRST = ("Alex", "Sam", "Jordan", "Morgan", "Robin", "Kai", "Noor", "Priya", "Lena", "Tomás")
LAST = ("Patel", "Okafor", "Schmidt", "Moreau", "Rossi", "Kowalski", "Tanaka", "Silva", "Berg")


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _weekday(day: dt.date) -> dt.date:
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def _at(day: dt.date, hour: int, tz: str) -> dt.datetime:
    from zoneinfo import ZoneInfo

    return dt.datetime.combine(day, dt.time(hour), tzinfo=ZoneInfo(tz))


async def _insert(table: type[Table], rows: list[Table], chunk: int = 300) -> None:
    for i in range(0, len(rows), chunk):
        await table.insert(*rows[i : i + chunk]).run()


async def generate(rng: random.Random, progress: bool) -> None:
    """Auditors with qualifications and time off everywhere; cycles at every stage for Northbridge."""
    bodies = await CertificationBody.select(
        CertificationBody.id, CertificationBody.name, CertificationBody.country
    ).run()
    orgs = await Organisation.select(
        Organisation.id, Organisation.name, Organisation.iaf_sector
    ).run()
    northbridge = next((b for b in bodies if b["name"] == NORTHBRIDGE), None)
    demo_user = await User.select(User.id).where(User.email == DEMO_AUDITOR).first().run()
    today = clock.today()
    auditors: list[Table] = []
    qualifications: list[Table] = []
    time_off: list[Table] = []
    northbridge_leads: list[uuid.UUID] = []
    sectors = sorted({o["iaf_sector"] for o in orgs}) or [28]

    for body in bodies:
        is_nb = northbridge is not None and body["id"] == northbridge["id"]
        tz = ZONES.get(body["country"], "UTC")
        for i in range(NORTHBRIDGE_AUDITORS if is_nb else AUDITORS_PER_BODY):
            auditor_id = _uuid(rng)
            linked = is_nb and i == 0 and demo_user is not None
            name = "Avery Auditor" if linked else f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            lead = i < (6 if is_nb else 2)
            auditors.append(
                Auditor(
                    id=auditor_id,
                    body=body["id"],
                    user=demo_user["id"] if linked and demo_user else None,
                    name=name,
                    email=f"auditor{i}.{str(body['id'])[:8]}@auditors.example",
                    time_zone=tz,
                    lead=lead,
                )
            )
            # Northbridge's auditors cover every client sector for the demo's standards.
            pairs = (
                {(s, n) for s in STANDARDS[:3] for n in sectors}
                if is_nb
                else {(rng.choice(STANDARDS), rng.randint(1, 39)) for _ in range(rng.randint(2, 4))}
            )
            qualifications += [
                Qualification(auditor=auditor_id, standard=s, iaf_sector=n) for s, n in pairs
            ]
            if is_nb and lead:
                northbridge_leads.append(auditor_id)
            if rng.random() < 0.5:
                start = _weekday(today + dt.timedelta(days=rng.randint(3, 120)))
                time_off.append(
                    Unavailability(
                        auditor=auditor_id,
                        starts_at=_at(start, 0, tz),
                        ends_at=_at(start + dt.timedelta(days=rng.randint(1, 10)), 0, tz),
                        reason=rng.choice(["Annual leave", "Training", "Witness audit"]),
                    )
                )
    async with write_transaction():
        await _insert(Auditor, auditors)
        await _insert(Qualification, qualifications)
        await _insert(Unavailability, time_off)
    if progress:
        print(f"Scheduling: {len(auditors)} auditors for {len(bodies)} bodies", file=sys.stderr)
    if northbridge is None or not northbridge_leads:
        return
    await set_settings(None, northbridge["id"], True)
    await _northbridge_cycles(rng, northbridge["id"], orgs, northbridge_leads, today)


async def _site_zone(org_id: uuid.UUID) -> str:
    row = await Site.select(Site.time_zone).where(Site.organisation == org_id).first().run()
    return str(row["time_zone"]) if row else "UTC"


async def _propose(
    audit_id: uuid.UUID, lead: uuid.UUID, day: dt.date, tz: str, days: int = 1
) -> None:
    """Propose on `day`, or the next weekdays when the lead is busy or away that day."""
    for _ in range(15):
        end_day = day + dt.timedelta(days=days - 1)
        try:
            await propose_audit(
                audit_id,
                None,
                starts_at=_at(day, 9, tz),
                ends_at=_at(end_day, 17, tz),
                time_zone=tz,
                team=[TeamMember(lead, "lead")],
            )
            return
        except Conflict as exc:
            if exc.code not in ("auditor_conflict", "auditor_unavailable"):
                raise
            day = _weekday(day + dt.timedelta(days=1))


async def _held(
    started: StartedEngagement,
    kind: str,
    lead: uuid.UUID,
    day: dt.date,
    tz: str,
    days: int = 1,
) -> None:
    """Propose, confirm and complete one audit on `day` (in the past: demo history)."""
    audit_id = started.audit_ids[kind]
    await _propose(audit_id, lead, day, tz, days)
    await confirm_audit(audit_id, None)
    await complete_audit(audit_id, None)


async def _certified(
    rng: random.Random,
    org: dict[str, Any],
    body_id: uuid.UUID,
    standard: str,
    lead: uuid.UUID,
    decision: dt.date,
) -> StartedEngagement:
    """An initial certification held in the past with its decision on `decision`."""
    tz = await _site_zone(org["id"])
    stage2_day = _weekday(decision - dt.timedelta(days=rng.randint(15, 25)))
    stage1_day = _weekday(stage2_day - dt.timedelta(days=35))
    started = await start_engagement(
        actor_id=None,
        organisation_id=org["id"],
        body_id=body_id,
        standard=standard,
        iaf_sector=org["iaf_sector"],
        agreed_days={"stage1": 1, "stage2": 2, "surveillance1": 1, "surveillance2": 1},
        start=stage1_day - dt.timedelta(days=rng.randint(5, 30)),
    )
    await _held(started, "stage1", lead, stage1_day, tz)
    await _held(started, "stage2", lead, stage2_day, tz, days=2)
    await apply_decision(started.cycle_id, decision)
    return started


async def _northbridge_cycles(
    rng: random.Random,
    body_id: uuid.UUID,
    orgs: list[dict[str, Any]],
    leads: list[uuid.UUID],
    today: dt.date,
) -> None:
    acme = next((o for o in orgs if o["name"] == DEMO_CLIENT_ORG), None)
    others = [o for o in orgs if o["name"] != DEMO_CLIENT_ORG][:8]
    lead_cycle = iter(leads * 10)
    if acme is not None:
        tz = await _site_zone(acme["id"])
        # Stage 1 proposed, waiting for the client's confirmation.
        started = await start_engagement(
            actor_id=None,
            organisation_id=acme["id"],
            body_id=body_id,
            standard=STANDARDS[0],
            iaf_sector=acme["iaf_sector"],
            agreed_days={"stage1": 1, "stage2": 2},
            start=today - dt.timedelta(days=10),
        )
        day = _weekday(today + dt.timedelta(days=14))
        await _propose(started.audit_ids["stage1"], next(lead_cycle), day, tz)
        # Stage 1 confirmed.
        started = await start_engagement(
            actor_id=None,
            organisation_id=acme["id"],
            body_id=body_id,
            standard=STANDARDS[1],
            iaf_sector=acme["iaf_sector"],
            agreed_days={"stage1": 1, "stage2": 2},
            start=today - dt.timedelta(days=20),
        )
        day = _weekday(today + dt.timedelta(days=21))
        await _propose(started.audit_ids["stage1"], next(lead_cycle), day, tz)
        await confirm_audit(started.audit_ids["stage1"], None)
        # Certified eleven months ago: surveillance 1 is due soon.
        await _certified(
            rng, acme, body_id, STANDARDS[2], next(lead_cycle), today - dt.timedelta(days=335)
        )
    for i, org in enumerate(others):
        if i % 3 == 0:
            # Certified thirteen months ago and surveillance 1 never held: overdue, at risk.
            await _certified(
                rng, org, body_id, STANDARDS[0], next(lead_cycle), today - dt.timedelta(days=400)
            )
        elif i % 3 == 1:
            # Stage 1 window long gone: overdue.
            await start_engagement(
                actor_id=None,
                organisation_id=org["id"],
                body_id=body_id,
                standard=STANDARDS[0],
                iaf_sector=org["iaf_sector"],
                agreed_days={"stage1": 1, "stage2": 2},
                start=today - dt.timedelta(days=120),
            )
        else:
            # Certified half a year ago: the next surveillance is planned.
            await _certified(
                rng, org, body_id, STANDARDS[1], next(lead_cycle), today - dt.timedelta(days=180)
            )
