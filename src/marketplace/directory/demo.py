"""Demo directory data: accreditations (some pending, expired or suspended) and sectors of experience."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from piccolo.table import Table

from marketplace.accounts.tables import CertificationBody, Organisation
from marketplace.core import clock
from marketplace.core.db import write_transaction
from marketplace.directory.tables import Accreditation, AccreditationScope, SectorExperience
from marketplace.reference.tables import AccreditationBody, Standard
from marketplace.web.progress import Progress

# Most of the market certifies ISO 9001; the others appear in proportion to how often bodies
# are accredited for them, so every standard filter still finds someone.
STANDARD_WEIGHTS = {
    "ISO 9001:2015": 10,
    "ISO 14001:2015": 5,
    "ISO 45001:2018": 4,
    "ISO/IEC 27001:2022": 3,
}
# Stored status and whether valid_until lies in the past, with their shares of the demo.
STATES = (
    ("verified", False, 75),
    ("pending", False, 12),
    ("verified", True, 8),
    ("suspended", False, 5),
)


async def _insert_many(table: type[Table], rows: list[Table], chunk: int = 200) -> None:
    for i in range(0, len(rows), chunk):
        await table.insert(*rows[i : i + chunk]).run()


def _accreditation(
    rng: random.Random,
    body_id: Any,
    ab: str,
    standard: str,
    sectors: list[int],
    status: str,
    expired: bool,
    today: dt.date,
) -> tuple[Accreditation, list[AccreditationScope]]:
    valid_until = today + dt.timedelta(
        days=-rng.randint(10, 400) if expired else rng.randint(60, 1400)
    )
    verified = status in {"verified", "suspended"}
    acc = Accreditation(
        body=body_id,
        accreditation_body=ab,
        number=f"{rng.randint(1000, 99999):05d}",
        standard=standard,
        valid_until=valid_until,
        status=status,
        evidence_url=f"https://register.example/{ab.lower()}/{rng.randint(1000, 99999)}",
        verified_at=clock.now() - dt.timedelta(days=rng.randint(5, 300)) if verified else None,
    )
    scopes = [
        AccreditationScope(
            accreditation=acc.id,
            body=body_id,
            standard=standard,
            iaf_sector=s,
            verified_until=valid_until if status == "verified" else None,
        )
        for s in sorted(set(sectors))
    ]
    return acc, scopes


async def generate(rng: random.Random, progress: bool) -> None:
    """Give every demo body accreditations across several accreditation bodies and sectors (some
    pending, expired or suspended, which searches must ignore) and sectors of experience; the
    demo body Northbridge gets verified ISO 9001 and ISO 14001 in the demo client's sector."""
    bodies = await CertificationBody.select(
        CertificationBody.id, CertificationBody.name, CertificationBody.country
    ).run()
    if not bodies:
        return
    known_standards = {r["code"] for r in await Standard.select(Standard.code).run()}
    weights = {s: w for s, w in STANDARD_WEIGHTS.items() if s in known_standards}
    for code in known_standards - set(weights):
        weights[code] = 1
    abs_by_country: dict[str, list[str]] = {}
    all_abs = []
    for r in await AccreditationBody.select(
        AccreditationBody.code, AccreditationBody.country
    ).run():
        abs_by_country.setdefault(r["country"], []).append(r["code"])
        all_abs.append(r["code"])
    acme = (
        await Organisation.select(Organisation.iaf_sector)
        .where(Organisation.name == "Acme Precision Ltd")
        .first()
        .run()
    )
    acme_sector = int(acme["iaf_sector"]) if acme else 28
    today = clock.today()
    bar = Progress("Directory demo", len(bodies), enabled=progress)
    accreditations: list[Table] = []
    scopes: list[Table] = []
    experience: list[Table] = []
    standards, standard_weights = list(weights), list(weights.values())
    for body in bodies:
        national = abs_by_country.get(body["country"]) or []
        covered: set[int] = set()
        if body["name"] == "Northbridge Certification":
            for standard in ("ISO 9001:2015", "ISO 14001:2015"):
                sectors = sorted({acme_sector, 28, 29, 17, 18, 19, 22})
                acc, sc = _accreditation(
                    rng, body["id"], "UKAS", standard, sectors, "verified", False, today
                )
                accreditations.append(acc)
                scopes.extend(sc)
                covered.update(sectors)
        else:
            for standard in set(rng.choices(standards, standard_weights, k=rng.randint(1, 3))):
                ab = (
                    rng.choice(national) if national and rng.random() < 0.7 else rng.choice(all_abs)
                )
                sectors = rng.sample(range(1, 40), rng.randint(2, 10))
                status, expired, _ = rng.choices(STATES, [s[2] for s in STATES])[0]
                acc, sc = _accreditation(
                    rng, body["id"], ab, standard, sectors, status, expired, today
                )
                accreditations.append(acc)
                scopes.extend(sc)
                covered.update(sectors)
        for sector in sorted(rng.sample(sorted(covered), min(len(covered), rng.randint(2, 6)))):
            experience.append(
                SectorExperience(
                    body=body["id"],
                    iaf_sector=sector,
                    clients_certified=int(rng.paretovariate(1.1) * 5),
                )
            )
        bar.advance()
    async with write_transaction():
        await _insert_many(Accreditation, accreditations)
        await _insert_many(AccreditationScope, scopes)
        await _insert_many(SectorExperience, experience)
    bar.close()
