"""Account and tenancy tables: users, client organisations, certification bodies, memberships, credentials."""

from __future__ import annotations

from piccolo.columns import (
    UUID,
    Boolean,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from marketplace.core import clock
from marketplace.reference.tables import IafSector


class User(Table, tablename="app_user"):  # "user" is reserved in PostgreSQL
    id = UUID(primary_key=True)
    email = Varchar(length=254, unique=True)  # stored lower-cased
    password_hash = Varchar(length=200)
    name = Varchar(length=200)
    time_zone = Varchar(length=64, default="UTC")
    is_platform_admin = Boolean(default=False)
    is_active = Boolean(default=True)
    created_at = Timestamptz(default=clock.now)


class Organisation(Table):
    """A client: an organisation seeking or holding certification."""

    id = UUID(primary_key=True)
    name = Varchar(length=200, index=True)
    country = Varchar(length=2)
    iaf_sector = ForeignKey(IafSector, null=False, on_delete=OnDelete.restrict)
    effective_personnel = Integer()
    created_at = Timestamptz(default=clock.now)


class Site(Table):
    id = UUID(primary_key=True)
    organisation = ForeignKey(Organisation, null=False, on_delete=OnDelete.cascade, index=True)
    name = Varchar(length=200)
    address = Text(default="")
    country = Varchar(length=2)
    time_zone = Varchar(length=64, default="UTC")
    headcount = Integer(default=0)
    central = Boolean(default=False)


class CertificationBody(Table):
    """A certification body: a tenant of its own, and the profile the directory shows."""

    id = UUID(primary_key=True)
    slug = Varchar(length=120, unique=True)
    name = Varchar(length=200, index=True)
    country = Varchar(length=2, index=True)
    description = Text(default="")
    day_rate_min_minor = Integer(default=0)
    day_rate_max_minor = Integer(default=0)
    currency = Varchar(length=3, default="EUR")
    response_time_hours = Integer(default=48)
    remote_audits = Boolean(default=False)
    website = Varchar(length=200, default="")
    created_at = Timestamptz(default=clock.now)


class Membership(Table):
    """A user's role in exactly one tenant: an organisation XOR a certification body."""

    id = UUID(primary_key=True)
    user = ForeignKey(User, null=False, on_delete=OnDelete.cascade, index=True)
    organisation = ForeignKey(Organisation, null=True, on_delete=OnDelete.cascade, index=True)
    body = ForeignKey(CertificationBody, null=True, on_delete=OnDelete.cascade, index=True)
    role = Varchar(length=20)
    created_at = Timestamptz(default=clock.now)


class Invitation(Table):
    """An invitation to join a tenant, e-mailed as a single-use link; membership only once the
    invited person, signed in with that address, accepts it.

    Pending = neither accepted nor revoked; at most one pending invitation per tenant and address
    (partial unique indexes in the migrations). Only the SHA-256 of the link's token is stored.
    """

    id = UUID(primary_key=True)
    email = Varchar(length=254, index=True)
    organisation = ForeignKey(Organisation, null=True, on_delete=OnDelete.cascade)
    body = ForeignKey(CertificationBody, null=True, on_delete=OnDelete.cascade)
    role = Varchar(length=20)
    invited_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=clock.now)
    accepted_at = Timestamptz(null=True, default=None)
    # Null for invitations written before links existed: they cannot be accepted, only renewed.
    token_hash = Varchar(length=64, null=True, default=None)
    expires_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
    accepted_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)


class ApiToken(Table):
    """A bearer token for the API; only its SHA-256 is stored."""

    id = UUID(primary_key=True)
    user = ForeignKey(User, null=False, on_delete=OnDelete.cascade, index=True)
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz(default=clock.now)
    expires_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)


class WebSession(Table):
    """A browser session kept server-side so any app instance can serve any request."""

    id = UUID(primary_key=True)
    user = ForeignKey(User, null=False, on_delete=OnDelete.cascade, index=True)
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz(default=clock.now)
    expires_at = Timestamptz()


class LoginThrottle(Table):
    """Sign-in attempts counted per key ("account:<e-mail>" or "address:<client address>").

    One row per key, locked while an attempt is reserved, so parallel guesses (in any number of
    app processes) are counted one after another before any password is checked.
    """

    id = UUID(primary_key=True)
    key = Varchar(length=300, unique=True)
    attempts = Integer(default=0)  # attempts judged (or being judged) that did not succeed
    last_attempt_at = Timestamptz(null=True, default=None)
    blocked_until = Timestamptz(null=True, default=None)


class PasswordResetToken(Table):
    """A single-use password reset link; only the SHA-256 of its secret is stored."""

    id = UUID(primary_key=True)
    user = ForeignKey(User, null=False, on_delete=OnDelete.cascade, index=True)
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz(default=clock.now)
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
