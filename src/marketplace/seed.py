"""Reference data loading and the Faker-generated demo (deterministic with --random-seed)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from typing import Any

from faker import Faker
from piccolo.table import Table

from marketplace.accounts.bodies import slugify
from marketplace.accounts.passwords import hash_password
from marketplace.accounts.tables import CertificationBody, Membership, Organisation, Site, User
from marketplace.core.db import write_transaction
from marketplace.directory.tables import BodyLanguage, BodyRegion, BodyService
from marketplace.reference.services import load_reference_data
from marketplace.reference.tables import SupportService
from marketplace.web.progress import Progress

DEMO_PASSWORD = "demo-password-2026"
DEMO_LOGINS = {
    "client (quality manager, owner of Acme Precision Ltd)": "client@demo.certmarket.test",
    "certification body (owner of Northbridge Certification)": "body@demo.certmarket.test",
    "body scheduler": "scheduler@demo.certmarket.test",
    "auditor": "auditor@demo.certmarket.test",
    "decision maker": "decisions@demo.certmarket.test",
    "finance": "finance@demo.certmarket.test",
    "platform administrator": "admin@demo.certmarket.test",
}

# Countries with a plausible mix of certification markets, their languages and a time zone.
COUNTRIES: Sequence[tuple[str, str, str, str]] = (
    ("GB", "en", "Europe/London", "en_GB"),
    ("IE", "en", "Europe/Dublin", "en_IE"),
    ("DE", "de", "Europe/Berlin", "de_DE"),
    ("FR", "fr", "Europe/Paris", "fr_FR"),
    ("NL", "nl", "Europe/Amsterdam", "nl_NL"),
    ("ES", "es", "Europe/Madrid", "es_ES"),
    ("IT", "it", "Europe/Rome", "it_IT"),
    ("US", "en", "America/New_York", "en_US"),
    ("CA", "en", "America/Toronto", "en_CA"),
    ("AU", "en", "Australia/Sydney", "en_AU"),
    ("IN", "en", "Asia/Kolkata", "en_IN"),
    ("SE", "sv", "Europe/Stockholm", "sv_SE"),
    ("PL", "pl", "Europe/Warsaw", "pl_PL"),
    ("BR", "pt", "America/Sao_Paulo", "pt_BR"),
    ("JP", "ja", "Asia/Tokyo", "ja_JP"),
)
CURRENCY = {
    "GB": "GBP",
    "US": "USD",
    "CA": "CAD",
    "AU": "AUD",
    "IN": "INR",
    "SE": "SEK",
    "PL": "PLN",
    "BR": "BRL",
    "JP": "JPY",
}
BODY_WORDS = (
    "Certification",
    "Assurance",
    "Registrar",
    "Audit Services",
    "Quality Assurance",
    "Conformity",
    "Management Systems",
    "Verification",
)


async def seed_reference() -> dict[str, int]:
    return await load_reference_data()


async def demo_present() -> bool:
    return bool(
        await User.exists().where(User.email == DEMO_LOGINS["platform administrator"]).run()
    )


async def _insert_many(table: type[Table], rows: list[Table], chunk: int = 200) -> None:
    for i in range(0, len(rows), chunk):
        await table.insert(*rows[i : i + chunk]).run()


def print_logins(logins: dict[str, str]) -> None:
    print("\nDemo logins (password for all: " + DEMO_PASSWORD + "):")
    for role, email in logins.items():
        print(f"  {role:<58} {email}")


async def seed_demo(
    bodies: int = 60, organisations: int = 40, random_seed: int = 2026, progress: bool = True
) -> dict[str, str]:
    """Generate a believable marketplace: bodies with profiles, client organisations with sites, demo users."""
    if await demo_present():
        raise RuntimeError(
            "demo data is already present; use a fresh database (delete var/ for SQLite)"
        )
    rng = random.Random(random_seed)
    Faker.seed(random_seed)
    fakers = {loc: Faker(loc) for *_, loc in COUNTRIES}
    for f in fakers.values():
        f.seed_instance(random_seed)
    pw_hash = hash_password(
        DEMO_PASSWORD
    )  # one hash for every demo user: argon2 is slow on purpose
    services = [r["code"] for r in await SupportService.select(SupportService.code).run()]
    bar = Progress("Demo data", bodies + organisations + 1, enabled=progress)

    users: list[Table] = []
    memberships: list[Table] = []

    def user(email: str, name: str, tz: str = "Europe/London", admin: bool = False) -> uuid.UUID:
        uid = uuid.UUID(int=rng.getrandbits(128), version=4)
        users.append(
            User(
                id=uid,
                email=email,
                name=name,
                password_hash=pw_hash,
                time_zone=tz,
                is_platform_admin=admin,
            )
        )
        return uid

    # --- the named demo tenants --------------------------------------------------------------
    admin_id = user(DEMO_LOGINS["platform administrator"], "Ada Admin", admin=True)
    del admin_id
    client_id = user(
        DEMO_LOGINS["client (quality manager, owner of Acme Precision Ltd)"], "Quinn Manager"
    )
    body_owner = user(
        DEMO_LOGINS["certification body (owner of Northbridge Certification)"], "Blake Owner"
    )
    role_users = {
        "scheduler": user(DEMO_LOGINS["body scheduler"], "Sam Scheduler"),
        "auditor": user(DEMO_LOGINS["auditor"], "Avery Auditor"),
        "decision_maker": user(DEMO_LOGINS["decision maker"], "Dana Decider"),
        "finance": user(DEMO_LOGINS["finance"], "Finley Finance"),
    }

    body_rows: list[Table] = []
    child_rows: dict[type[Table], list[Table]] = {BodyLanguage: [], BodyRegion: [], BodyService: []}
    org_rows: list[Table] = []
    site_rows: list[Table] = []
    slugs: set[str] = set()

    def add_body(name: str, country_idx: int) -> uuid.UUID:
        country, lang, _tz, _loc = COUNTRIES[country_idx]
        bid = uuid.UUID(int=rng.getrandbits(128), version=4)
        slug, n = slugify(name), 1
        while slug in slugs:
            n += 1
            slug = f"{slugify(name)}-{n}"
        slugs.add(slug)
        low = rng.randrange(600, 1400, 50) * 100
        currency = CURRENCY.get(country, "EUR")
        body_rows.append(
            CertificationBody(
                id=bid,
                slug=slug,
                name=name,
                country=country,
                description=fakers[COUNTRIES[country_idx][3]].paragraph(nb_sentences=3),
                day_rate_min_minor=low,
                day_rate_max_minor=low + rng.randrange(100, 600, 50) * 100,
                currency=currency,
                response_time_hours=rng.choice([4, 8, 24, 24, 48, 48, 72, 120]),
                remote_audits=rng.random() < 0.7,
                website=f"https://{slug}.example",
            )
        )
        langs = (
            {lang}
            | ({"en"} if rng.random() < 0.6 else set())
            | set(rng.sample(["de", "fr", "es", "it", "nl", "pl", "pt"], rng.randint(0, 2)))
        )
        for lg in sorted(langs):
            child_rows[BodyLanguage].append(BodyLanguage(body=bid, language=lg))
        regions = {country} | {c[0] for c in rng.sample(COUNTRIES, rng.randint(0, 5))}
        for rg in sorted(regions):
            child_rows[BodyRegion].append(BodyRegion(body=bid, region=rg))
        for sv in sorted(rng.sample(services, rng.randint(2, min(8, len(services))))):
            child_rows[BodyService].append(BodyService(body=bid, service=sv))
        return bid

    northbridge = add_body("Northbridge Certification", 0)
    memberships.append(Membership(user=body_owner, body=northbridge, role="owner"))
    for role, uid in role_users.items():
        memberships.append(Membership(user=uid, body=northbridge, role=role))

    def add_org(name: str, country_idx: int) -> uuid.UUID:
        country, _lang, tz, loc = COUNTRIES[country_idx]
        fk = fakers[loc]
        oid = uuid.UUID(int=rng.getrandbits(128), version=4)
        personnel = rng.choice([8, 20, 45, 60, 120, 250, 400, 900, 1800, 4000])
        org_rows.append(
            Organisation(
                id=oid,
                name=name,
                country=country,
                iaf_sector=rng.randint(1, 39),
                effective_personnel=personnel,
            )
        )
        n_sites = rng.choice([1, 1, 1, 2, 3, 5])
        for i in range(n_sites):
            site_rows.append(
                Site(
                    organisation=oid,
                    name="Head office" if i == 0 else f"{fk.city()} site",
                    address=fk.address().replace("\n", ", "),
                    country=country,
                    time_zone=tz,
                    headcount=personnel // n_sites,
                    central=i == 0,
                )
            )
        return oid

    acme = add_org("Acme Precision Ltd", 0)
    memberships.append(Membership(user=client_id, organisation=acme, role="owner"))
    bar.advance()

    for i in range(bodies - 1):
        idx = rng.randrange(len(COUNTRIES))
        fk = fakers[COUNTRIES[idx][3]]
        add_body(
            f"{fk.last_name()} {rng.choice(BODY_WORDS)}" + (f" {i}" if rng.random() < 0.1 else ""),
            idx,
        )
        bar.advance()
    for _ in range(organisations - 1):
        idx = rng.randrange(len(COUNTRIES))
        add_org(fakers[COUNTRIES[idx][3]].company(), idx)
        bar.advance()

    async with write_transaction():
        await _insert_many(User, users)
        await _insert_many(CertificationBody, body_rows)
        await _insert_many(Organisation, org_rows)
        await _insert_many(Site, site_rows)
        for table, rows in child_rows.items():
            await _insert_many(table, rows)
        await _insert_many(Membership, memberships)
    bar.advance()
    bar.close()
    from marketplace.directory import demo as directory_demo
    from marketplace.reviews import demo as reviews_demo

    await directory_demo.generate(rng, progress)
    await reviews_demo.generate(rng, progress)
    from marketplace.quotes import demo as quotes_demo

    await quotes_demo.generate(rng, progress)
    from marketplace.scheduling import demo as scheduling_demo

    await scheduling_demo.generate(rng, progress)
    from marketplace.certificates import demo as certificates_demo

    await certificates_demo.generate(rng, progress)
    from marketplace.readiness import demo as readiness_demo

    await readiness_demo.generate(rng, progress)
    return dict(DEMO_LOGINS)


def demo_summary() -> dict[str, Any]:
    return {"password": DEMO_PASSWORD, "logins": DEMO_LOGINS}
