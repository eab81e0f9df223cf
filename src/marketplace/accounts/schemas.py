"""Input and output shapes of the accounts API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec

from marketplace.accounts.roles import TenantKind

Email = Annotated[
    str, msgspec.Meta(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Country = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]
TimeZone = Annotated[str, msgspec.Meta(min_length=1, max_length=64, description="IANA time zone")]
# Long enough for passphrases, short enough to bound hashing work; the policy lives in passwords.py.
Password = Annotated[str, msgspec.Meta(max_length=1024)]


class RegisterIn(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password
    name: Name


class RegisterForm(RegisterIn, forbid_unknown_fields=True):
    """The registration page's form: the API's fields and rules, plus the page's time zone.

    API.md's register body is `email, password, name`; the time zone is the page's alone, so it
    lives on this subclass rather than widening the API's Struct.
    """

    time_zone: TimeZone = "UTC"


class UserOut(msgspec.Struct):
    id: uuid.UUID
    email: str
    name: str


class TokenIn(msgspec.Struct, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(max_length=254)]
    password: Password


class PasswordChangeIn(msgspec.Struct, forbid_unknown_fields=True):
    current_password: Password
    new_password: Password


class PasswordResetIn(msgspec.Struct, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(max_length=254)]


class PasswordResetConfirmIn(msgspec.Struct, forbid_unknown_fields=True):
    token: Annotated[str, msgspec.Meta(max_length=200)]
    new_password: Password


class TokenOut(msgspec.Struct):
    token: str
    expires_at: dt.datetime


class MembershipOut(msgspec.Struct):
    kind: str
    id: uuid.UUID
    role: str
    name: str


class MeOut(msgspec.Struct):
    id: uuid.UUID
    email: str
    name: str
    time_zone: str
    is_platform_admin: bool
    memberships: list[MembershipOut]


class SiteIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    country: Country
    address: Annotated[str, msgspec.Meta(max_length=1000)] = ""
    time_zone: TimeZone = "UTC"
    headcount: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] = 0
    central: bool = False


class SiteOut(msgspec.Struct):
    id: uuid.UUID
    name: str
    address: str
    country: str
    time_zone: str
    headcount: int
    central: bool


class OrganisationIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    country: Country
    iaf_sector: Annotated[int, msgspec.Meta(ge=1, le=39)]
    effective_personnel: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
    sites: Annotated[list[SiteIn], msgspec.Meta(max_length=500)] = []


class OrganisationOut(msgspec.Struct):
    id: uuid.UUID
    name: str
    country: str
    iaf_sector: int
    effective_personnel: int
    sites: list[SiteOut]


class MemberIn(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    role: Annotated[str, msgspec.Meta(max_length=20)]


class MemberOut(msgspec.Struct):
    """The same for every address, known, unknown or already a member: no account probing."""

    status: str  # always "invited": membership starts only when the person accepts
    email: str
    role: str


class MemberRef(msgspec.Struct):
    """A member of an organisation as a choice (owner of a task, author of a version)."""

    id: uuid.UUID
    name: str


class MemberRow(msgspec.Struct):
    """A member of a tenant as its members page lists them."""

    id: uuid.UUID
    role: str
    email: str
    name: str
    user_id: uuid.UUID


class InvitationOffer(msgspec.Struct, kw_only=True):
    """What an invitation link offers: who invites which address to which tenant, and its state."""

    id: uuid.UUID
    email: str
    role: str
    kind: TenantKind
    tenant_id: uuid.UUID
    tenant_name: str
    inviter: str
    expires_at: dt.datetime | None
    accepted_by: uuid.UUID | None
    status: str


class InvitationOut(msgspec.Struct):
    id: uuid.UUID
    email: str
    role: str
    status: str  # "pending" or "expired" (accepted and revoked ones are no longer listed)
    created_at: dt.datetime
    expires_at: dt.datetime | None
    invited_by_name: str


class AcceptInvitationIn(msgspec.Struct, forbid_unknown_fields=True):
    token: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class ActivityOut(msgspec.Struct):
    id: uuid.UUID
    action: str
    entity_type: str
    entity_id: str
    actor_id: uuid.UUID | None
    data: dict[str, object]
    created_at: dt.datetime


class Page(msgspec.Struct):
    items: list[ActivityOut]
    total: int
    page: int
    per_page: int
