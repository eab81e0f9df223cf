"""A body's own profile work, for its members: who may edit what, and the actions the API and pages share."""

from __future__ import annotations

import uuid
from typing import Any

from marketplace.accounts.guards import Principal, require_role
from marketplace.accounts.roles import BODY_MANAGERS, TenantKind
from marketplace.directory import services

NO_BODY = "No such certification body."


def body_role(
    principal: Principal, body_id: uuid.UUID, roles: frozenset[str] | set[str] | None = None
) -> str:
    """The caller's role in the body: 404 outside it, 403 without one of `roles` (any if None)."""
    return require_role(principal, TenantKind.body, body_id, roles, what=NO_BODY)


async def edit_profile(principal: Principal, body_id: uuid.UUID, data: dict[str, Any]) -> None:
    """The body's managers edit its profile."""
    body_role(principal, body_id, BODY_MANAGERS)
    await services.update_body(principal.user_id, body_id, data)


async def declare(principal: Principal, body_id: uuid.UUID, data: dict[str, Any]) -> uuid.UUID:
    """The body's owner or scheduler declares an accreditation (pending until verified)."""
    body_role(principal, body_id, services.PROFILE_EDITORS)
    return await services.declare_accreditation(principal.user_id, body_id, data)


async def replace_experience(
    principal: Principal, body_id: uuid.UUID, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The body's owner or scheduler replaces its sectors of experience; answers the new list."""
    body_role(principal, body_id, services.PROFILE_EDITORS)
    await services.set_sector_experience(principal.user_id, body_id, rows)
    return (await services.sector_experience([body_id]))[body_id]
