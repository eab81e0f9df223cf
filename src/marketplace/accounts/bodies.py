"""Certification bodies as tenants: their slugs, and creating one with its owner."""

from __future__ import annotations

import re
import unicodedata
import uuid
from typing import Any

from marketplace.accounts.tables import CertificationBody, Membership
from marketplace.core.activity import Tenant, log_action

_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return _SLUG.sub("-", ascii_name.lower()).strip("-")[:100] or "body"


async def unique_slug(name: str) -> str:
    base = slugify(name)
    slug, n = base, 1
    while await CertificationBody.exists().where(CertificationBody.slug == slug).run():
        n += 1
        slug = f"{base}-{n}"
    return slug


async def create_body_tenant(actor_id: uuid.UUID, fields: dict[str, Any]) -> uuid.UUID:
    """Create a certification body (inside the caller's transaction); the creator becomes its owner."""
    body = CertificationBody(slug=await unique_slug(fields["name"]), **fields)
    await body.save().run()
    await Membership.insert(Membership(user=actor_id, body=body.id, role="owner")).run()
    await log_action(
        "marketplace.body.created",
        actor_id=actor_id,
        entity_type="body",
        entity_id=body.id,
        tenant=Tenant("body", body.id),
        data={"name": body.name},
    )
    return body.id
