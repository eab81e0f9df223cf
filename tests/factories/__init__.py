"""Test data builders: the two-tenant world with a user per role; domain builders beside it."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.table import Table

from marketplace.accounts.passwords import hash_password
from marketplace.accounts.sessions import start_session
from marketplace.accounts.tables import (
    ApiToken,
    CertificationBody,
    Membership,
    Organisation,
    Site,
    User,
)
from marketplace.core import clock
from marketplace.core.db import get_engine, is_postgres
from marketplace.piccolo_app import APP_CONFIG
from marketplace.reference.services import load_reference_data

PASSWORD = "correct horse battery staple"
_PASSWORD_HASH: str | None = None

CLIENT_ROLES = ("owner", "quality_manager", "member")
BODY_ROLES = ("owner", "scheduler", "auditor", "decision_maker", "finance")
# Every role key used by the isolation matrix: "org:<role>" or "body:<role>".
ROLE_KEYS = tuple(f"org:{r}" for r in CLIENT_ROLES) + tuple(f"body:{r}" for r in BODY_ROLES)

# Reference tables survive between tests (loaded once); everything else is emptied.
KEEP_TABLES = {"standard", "iaf_sector", "accreditation_body", "support_service", "migration"}


def password_hash() -> str:
    global _PASSWORD_HASH
    if _PASSWORD_HASH is None:
        _PASSWORD_HASH = hash_password(PASSWORD)
    return _PASSWORD_HASH


async def _drop_everything() -> None:
    engine: Any = get_engine()
    if is_postgres():
        await engine._run_in_new_connection("DROP SCHEMA public CASCADE")
        await engine._run_in_new_connection("CREATE SCHEMA public")
    else:
        path = engine.path
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)


async def setup_database() -> None:
    """Start from nothing, apply every migration forwards, load reference data."""
    await _drop_everything()
    result = await run_forwards(app_name="marketplace", migration_id="all", fake=False)
    assert result.success, result.message
    await load_reference_data()


def _tables_to_clean() -> list[type[Table]]:
    return [t for t in APP_CONFIG.table_classes if t._meta.tablename not in KEEP_TABLES]


async def reset_database() -> None:
    tables = _tables_to_clean()
    engine: Any = get_engine()
    if is_postgres():
        # DELETE with foreign-key triggers off (one round trip) costs ~3 ms where TRUNCATE of ~50
        # tables costs ~250 ms: across thousands of tests that is the whole run's time.
        sql = (
            "SET session_replication_role = replica;"
            + "".join(f'DELETE FROM "{t._meta.tablename}";' for t in tables)
            + "SET session_replication_role = DEFAULT;"
        )
        async with engine.pool.acquire() as connection:
            await connection.execute(sql)
    else:
        # Foreign-key checks are deferred to commit, so the order of deletes does not matter.
        async with engine.transaction():
            await tables[0].raw("PRAGMA defer_foreign_keys = ON").run()
            for t in tables:
                await t.raw(f'DELETE FROM "{t._meta.tablename}"').run()


def csrf_from(html: str) -> str:
    """The CSRF token of the first form on a page (every form carries one)."""
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match, "every form carries the CSRF token"
    return match.group(1)


async def sign_in(client: httpx.AsyncClient, user_id: uuid.UUID) -> None:
    """Sign a browser-like client in as the user (a fresh session cookie, nothing else)."""
    session = await start_session(user_id, 1)
    client.cookies.clear()
    client.cookies.set("mp_session", session.secret)


@dataclass
class Actor:
    user_id: uuid.UUID
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Tenants:
    org_id: uuid.UUID
    body_id: uuid.UUID
    site_id: uuid.UUID
    actors: dict[str, Actor] = field(default_factory=dict)  # role key -> actor


@dataclass
class World:
    a: Tenants
    b: Tenants
    outsider: Actor  # signed in, member of nothing
    admin: Actor

    def tenant(self, name: str) -> Tenants:
        return self.a if name == "a" else self.b

    def actor(self, tenant: str, role_key: str) -> Actor:
        return self.tenant(tenant).actors[role_key]


def _user_rows(
    email: str, name: str, admin: bool, expires: dt.datetime
) -> tuple[User, ApiToken, Actor]:
    """A user with the shared password and an API token (rows not yet saved)."""
    user = User(email=email, name=name, password_hash=password_hash(), is_platform_admin=admin)
    secret = "mpt_" + secrets.token_urlsafe(24)
    token = ApiToken(
        user=user.id,
        token_hash=hashlib.sha256(secret.encode()).hexdigest(),
        expires_at=expires,
    )
    return user, token, Actor(user.id, email, secret)


def _organisation_rows(name: str, sector: int, personnel: int) -> tuple[Organisation, Site]:
    """A client organisation in Leeds with its central site (rows not yet saved)."""
    org = Organisation(name=name, country="GB", iaf_sector=sector, effective_personnel=personnel)
    site = Site(
        organisation=org.id,
        name="Head office",
        address="1 High Street, Leeds",
        country="GB",
        time_zone="Europe/London",
        headcount=personnel,
        central=True,
    )
    return org, site


def _body_row(slug: str, name: str, country: str) -> CertificationBody:
    """A certification body quoting in GBP (the row not yet saved)."""
    return CertificationBody(
        slug=slug,
        name=name,
        country=country,
        currency="GBP",
        day_rate_min_minor=90000,
        day_rate_max_minor=130000,
        response_time_hours=24,
    )


async def make_user(
    email: str | None = None, name: str = "Test User", admin: bool = False
) -> Actor:
    email = email or f"user-{uuid.uuid4().hex[:10]}@example.test"
    user, token, actor = _user_rows(
        email, name, admin, clock.now().replace(year=clock.now().year + 1)
    )
    await user.save().run()
    await ApiToken.insert(token).run()
    return actor


async def make_organisation(
    name: str, sector: int = 28, personnel: int = 50
) -> tuple[uuid.UUID, uuid.UUID]:
    org, site = _organisation_rows(name, sector, personnel)
    await org.save().run()
    await site.save().run()
    return org.id, site.id


async def make_body(name: str, country: str = "GB") -> uuid.UUID:
    body = _body_row(f"{name.lower().replace(' ', '-')}-{uuid.uuid4().hex[:6]}", name, country)
    await body.save().run()
    return body.id


async def build_world() -> World:
    """Built with a handful of batched inserts: it runs before every integration test."""
    users: list[Table] = []
    tokens: list[Table] = []
    memberships: list[Table] = []
    orgs: list[Table] = []
    sites: list[Table] = []
    bodies: list[Table] = []
    expires = clock.now() + dt.timedelta(days=365)

    def user(email: str, name: str, admin: bool = False) -> Actor:
        u, token, actor = _user_rows(email, name, admin, expires)
        users.append(u)
        tokens.append(token)
        return actor

    def tenants(label: str) -> Tenants:
        org, site = _organisation_rows(f"Client {label.upper()} Ltd", 28, 50)
        body = _body_row(f"body-{label}-certification", f"Body {label.upper()} Certification", "GB")
        orgs.append(org)
        sites.append(site)
        bodies.append(body)
        t = Tenants(org_id=org.id, body_id=body.id, site_id=site.id)
        for role in CLIENT_ROLES:
            actor = user(f"{role}.org.{label}@example.test", f"{role} of org {label}")
            memberships.append(Membership(user=actor.user_id, organisation=org.id, role=role))
            t.actors[f"org:{role}"] = actor
        for role in BODY_ROLES:
            actor = user(f"{role}.body.{label}@example.test", f"{role} of body {label}")
            memberships.append(Membership(user=actor.user_id, body=body.id, role=role))
            t.actors[f"body:{role}"] = actor
        return t

    a, b = tenants("a"), tenants("b")
    outsider = user("outsider@example.test", "Olive Outsider")
    admin = user("admin@example.test", "Ada Admin", admin=True)
    for table, rows in (
        (User, users),
        (ApiToken, tokens),
        (Organisation, orgs),
        (Site, sites),
        (CertificationBody, bodies),
        (Membership, memberships),
    ):
        await table.insert(*rows).run()
    return World(a=a, b=b, outsider=outsider, admin=admin)
