"""Tenant lookups every domain needs: a body's or an organisation's name, an organisation's members."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from marketplace.accounts.schemas import MemberRef
from marketplace.accounts.tables import CertificationBody, Membership, Organisation


async def name_of(table: type[CertificationBody | Organisation], row_id: uuid.UUID) -> str | None:
    """The tenant's name, or None when there is no such row."""
    name = table._meta.get_column_by_name("name")
    row = await table.select(name).where(table._meta.primary_key == row_id).first().run()
    return None if row is None else str(row["name"])


async def body_name(body_id: uuid.UUID) -> str:
    """The certification body's name; "" when it is gone (a notification still goes out)."""
    return await name_of(CertificationBody, body_id) or ""


async def organisation_name(organisation_id: uuid.UUID) -> str:
    """The client organisation's name; "" when it is gone."""
    return await name_of(Organisation, organisation_id) or ""


async def organisation_members(organisation_id: uuid.UUID) -> list[MemberRef]:
    """The organisation's members as {id, name}, by name (whom a task may be assigned to)."""
    rows: list[dict[str, Any]] = (
        await Membership.select(
            Membership.user.as_alias("id"), Membership.user._.name.as_alias("name")
        )
        .where(Membership.organisation == organisation_id)
        .order_by(Membership.user._.name)
        .run()
    )
    return msgspec.convert(rows, list[MemberRef])
