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
from marketplace.certificates import demo as certificates_demo
from marketplace.core.db import write_transaction
from marketplace.directory import demo as directory_demo
from marketplace.directory.tables import BodyLanguage, BodyRegion, BodyService
from marketplace.quotes import demo as quotes_demo
from marketplace.readiness import demo as readiness_demo
from marketplace.reference.services import load_reference_data
from marketplace.reference.tables import SupportService
from marketplace.reviews import demo as reviews_demo
from marketplace.scheduling import demo as scheduling_demo
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


class _Demo:
    """The rows of the demo's tenants as they are drawn, in the order the random stream gives them."""

    def __init__(self, rng: random.Random, random_seed: int, services: list[str]) -> None:
        self.rng = rng
        Faker.seed(random_seed)
        self.fakers = {loc: Faker(loc) for *_, loc in COUNTRIES}
        for f in self.fakers.values():
            f.seed_instance(random_seed)
        # One hash for every demo user: argon2 is slow on purpose.
        self.pw_hash = hash_password(DEMO_PASSWORD)
        self.services = services
        self.users: list[Table] = []
        self.memberships: list[Table] = []
        self.bodies: list[Table] = []
        self.children: dict[type[Table], list[Table]] = {
            BodyLanguage: [],
            BodyRegion: [],
            BodyService: [],
        }
        self.organisations: list[Table] = []
        self.sites: list[Table] = []
        self.slugs: set[str] = set()

    def _id(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def user(
        self, email: str, name: str, tz: str = "Europe/London", admin: bool = False
    ) -> uuid.UUID:
        uid = self._id()
        self.users.append(
            User(
                id=uid,
                email=email,
                name=name,
                password_hash=self.pw_hash,
                time_zone=tz,
                is_platform_admin=admin,
            )
        )
        return uid

    def _slug(self, name: str) -> str:
        slug, n = slugify(name), 1
        while slug in self.slugs:
            n += 1
            slug = f"{slugify(name)}-{n}"
        self.slugs.add(slug)
        return slug

    def body(self, name: str, country_idx: int) -> uuid.UUID:
        """A body with its profile, languages, regions and support services."""
        rng = self.rng
        country, lang, _tz, loc = COUNTRIES[country_idx]
        bid = self._id()
        slug = self._slug(name)
        low = rng.randrange(600, 1400, 50) * 100
        self.bodies.append(
            CertificationBody(
                id=bid,
                slug=slug,
                name=name,
                country=country,
                description=self.fakers[loc].paragraph(nb_sentences=3),
                day_rate_min_minor=low,
                day_rate_max_minor=low + rng.randrange(100, 600, 50) * 100,
                currency=CURRENCY.get(country, "EUR"),
                response_time_hours=rng.choice([4, 8, 24, 24, 48, 48, 72, 120]),
                remote_audits=rng.random() < 0.7,
                website=f"https://{slug}.example",
            )
        )
        self._body_children(bid, country, lang)
        return bid

    def _body_children(self, bid: uuid.UUID, country: str, lang: str) -> None:
        rng = self.rng
        langs = (
            {lang}
            | ({"en"} if rng.random() < 0.6 else set())
            | set(rng.sample(["de", "fr", "es", "it", "nl", "pl", "pt"], rng.randint(0, 2)))
        )
        for lg in sorted(langs):
            self.children[BodyLanguage].append(BodyLanguage(body=bid, language=lg))
        regions = {country} | {c[0] for c in rng.sample(COUNTRIES, rng.randint(0, 5))}
        for rg in sorted(regions):
            self.children[BodyRegion].append(BodyRegion(body=bid, region=rg))
        services = self.services
        for sv in sorted(rng.sample(services, rng.randint(2, min(8, len(services))))):
            self.children[BodyService].append(BodyService(body=bid, service=sv))

    def organisation(self, name: str, country_idx: int) -> uuid.UUID:
        """A client organisation with one to five sites, the first its head office."""
        rng = self.rng
        country, _lang, tz, loc = COUNTRIES[country_idx]
        fk = self.fakers[loc]
        oid = self._id()
        personnel = rng.choice([8, 20, 45, 60, 120, 250, 400, 900, 1800, 4000])
        self.organisations.append(
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
            self.sites.append(
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

    async def save(self) -> None:
        async with write_transaction():
            await _insert_many(User, self.users)
            await _insert_many(CertificationBody, self.bodies)
            await _insert_many(Organisation, self.organisations)
            await _insert_many(Site, self.sites)
            for table, rows in self.children.items():
                await _insert_many(table, rows)
            await _insert_many(Membership, self.memberships)


def _named_tenants(demo: _Demo) -> None:
    """The demo logins: Northbridge Certification with a user per role, Acme Precision Ltd."""
    demo.user(DEMO_LOGINS["platform administrator"], "Ada Admin", admin=True)
    client_id = demo.user(
        DEMO_LOGINS["client (quality manager, owner of Acme Precision Ltd)"], "Quinn Manager"
    )
    body_owner = demo.user(
        DEMO_LOGINS["certification body (owner of Northbridge Certification)"], "Blake Owner"
    )
    role_users = {
        "scheduler": demo.user(DEMO_LOGINS["body scheduler"], "Sam Scheduler"),
        "auditor": demo.user(DEMO_LOGINS["auditor"], "Avery Auditor"),
        "decision_maker": demo.user(DEMO_LOGINS["decision maker"], "Dana Decider"),
        "finance": demo.user(DEMO_LOGINS["finance"], "Finley Finance"),
    }
    northbridge = demo.body("Northbridge Certification", 0)
    demo.memberships.append(Membership(user=body_owner, body=northbridge, role="owner"))
    for role, uid in role_users.items():
        demo.memberships.append(Membership(user=uid, body=northbridge, role=role))
    acme = demo.organisation("Acme Precision Ltd", 0)
    demo.memberships.append(Membership(user=client_id, organisation=acme, role="owner"))


def _random_tenants(demo: _Demo, bodies: int, organisations: int, bar: Progress) -> None:
    """The rest of the market: bodies and clients from every country, Faker-named."""
    rng = demo.rng
    for i in range(bodies):
        idx = rng.randrange(len(COUNTRIES))
        fk = demo.fakers[COUNTRIES[idx][3]]
        demo.body(
            f"{fk.last_name()} {rng.choice(BODY_WORDS)}" + (f" {i}" if rng.random() < 0.1 else ""),
            idx,
        )
        bar.advance()
    for _ in range(organisations):
        idx = rng.randrange(len(COUNTRIES))
        demo.organisation(demo.fakers[COUNTRIES[idx][3]].company(), idx)
        bar.advance()


async def _domain_demos(rng: random.Random, progress: bool) -> None:
    """Each domain's demo on top of the tenants, in floor order (each builds on the ones before)."""
    for generate in (
        directory_demo.generate,
        reviews_demo.generate,
        quotes_demo.generate,
        scheduling_demo.generate,
        certificates_demo.generate,
        readiness_demo.generate,
    ):
        await generate(rng, progress)


async def seed_demo(
    bodies: int = 60, organisations: int = 40, random_seed: int = 2026, progress: bool = True
) -> dict[str, str]:
    """Generate a believable marketplace: bodies with profiles, client organisations with sites, demo users."""
    if await demo_present():
        raise RuntimeError(
            "demo data is already present; use a fresh database (delete var/ for SQLite)"
        )
    rng = random.Random(random_seed)
    services = [r["code"] for r in await SupportService.select(SupportService.code).run()]
    demo = _Demo(rng, random_seed, services)
    bar = Progress("Demo data", bodies + organisations + 1, enabled=progress)
    _named_tenants(demo)
    bar.advance()
    _random_tenants(demo, bodies - 1, organisations - 1, bar)
    await demo.save()
    bar.advance()
    bar.close()
    await _domain_demos(rng, progress)
    return dict(DEMO_LOGINS)


def demo_summary() -> dict[str, Any]:
    return {"password": DEMO_PASSWORD, "logins": DEMO_LOGINS}
