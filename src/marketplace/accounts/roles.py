"""Tenant kinds and the roles a membership can hold in each."""

from __future__ import annotations

from enum import StrEnum


class TenantKind(StrEnum):
    organisation = "organisation"
    body = "body"


class ClientRole(StrEnum):
    owner = "owner"
    quality_manager = "quality_manager"
    member = "member"


class BodyRole(StrEnum):
    owner = "owner"
    scheduler = "scheduler"
    auditor = "auditor"
    decision_maker = "decision_maker"
    finance = "finance"


ROLES: dict[TenantKind, frozenset[str]] = {
    TenantKind.organisation: frozenset(r.value for r in ClientRole),
    TenantKind.body: frozenset(r.value for r in BodyRole),
}

# Who may manage a tenant's members and settings.
CLIENT_MANAGERS = frozenset({ClientRole.owner.value, ClientRole.quality_manager.value})
BODY_MANAGERS = frozenset({BodyRole.owner.value})
