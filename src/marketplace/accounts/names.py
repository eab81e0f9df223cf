"""Tenant lookups every domain needs: a body's or an organisation's name, an organisation's members."""

from __future__ import annotations

import uuid
from typing import Any

from marketplace.accounts.tables import CertificationBody, Membership, Organisation


async def body_name(body_id: uuid.UUID) -> str:
    """The certification body's name; "" when it is gone (a notification still goes out)."""
    row = (
        await CertificationBody.select(CertificationBody.name)
        .where(CertificationBody.id == body_id)
        .first()
        .run()
    )
    return str(row["name"]) if row else ""


async def organisation_name(organisation_id: uuid.UUID) -> str:
    """The client organisation's name; "" when it is gone."""
    row = (
        await Organisation.select(Organisation.name)
        .where(Organisation.id == organisation_id)
        .first()
        .run()
    )
    return str(row["name"]) if row else ""


async def organisation_members(organisation_id: uuid.UUID) -> list[dict[str, Any]]:
    """The organisation's members as {id, name}, by name (whom a task may be assigned to)."""
    rows: list[dict[str, Any]] = (
        await Membership.select(
            Membership.user.as_alias("id"), Membership.user._.name.as_alias("name")
        )
        .where(Membership.organisation == organisation_id)
        .order_by(Membership.user._.name)
        .run()
    )
    return rows
