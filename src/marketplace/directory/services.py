"""Directory services: create and edit a certification body's profile."""

from __future__ import annotations

import uuid
from typing import Any

from marketplace.accounts.services import create_body_tenant
from marketplace.accounts.tables import CertificationBody
from marketplace.core.activity import Tenant, log_action
from marketplace.core.db import write_transaction
from marketplace.core.errors import Invalid, NotFound
from marketplace.directory.tables import BodyLanguage, BodyRegion, BodyService
from marketplace.reference.tables import SupportService

_PROFILE_FIELDS = (
    "name",
    "country",
    "description",
    "day_rate_min_minor",
    "day_rate_max_minor",
    "currency",
    "response_time_hours",
    "remote_audits",
    "website",
)


async def _check_profile(data: dict[str, Any], current: dict[str, Any] | None = None) -> None:
    merged = {**(current or {}), **data}
    lo, hi = merged.get("day_rate_min_minor", 0), merged.get("day_rate_max_minor", 0)
    if hi and lo > hi:
        raise Invalid.field(
            "day_rate_max_minor", "The highest day rate must not be below the lowest."
        )
    services = data.get("services")
    if services:
        known = {r["code"] for r in await SupportService.select(SupportService.code).run()}
        unknown = sorted(set(services) - known)
        if unknown:
            raise Invalid.field(
                "services",
                f"Unknown service code(s) {', '.join(unknown)}; allowed: {', '.join(sorted(known))}.",
            )


async def _replace_children(body_id: uuid.UUID, data: dict[str, Any]) -> None:
    if "languages" in data:
        await BodyLanguage.delete().where(BodyLanguage.body == body_id).run()
        for lang in sorted(set(data["languages"])):
            await BodyLanguage.insert(BodyLanguage(body=body_id, language=lang)).run()
    if "regions" in data:
        await BodyRegion.delete().where(BodyRegion.body == body_id).run()
        for region in sorted(set(data["regions"])):
            await BodyRegion.insert(BodyRegion(body=body_id, region=region)).run()
    if "services" in data:
        await BodyService.delete().where(BodyService.body == body_id).run()
        for code in sorted(set(data["services"])):
            await BodyService.insert(BodyService(body=body_id, service=code)).run()


async def create_body(actor_id: uuid.UUID, data: dict[str, Any]) -> uuid.UUID:
    """Register a certification body on the platform; the caller becomes its owner."""
    await _check_profile(data)
    async with write_transaction():
        body_id = await create_body_tenant(
            actor_id, {k: data[k] for k in _PROFILE_FIELDS if k in data}
        )
        await _replace_children(body_id, data)
    return body_id


async def update_body(actor_id: uuid.UUID, body_id: uuid.UUID, data: dict[str, Any]) -> None:
    current = await get_body(body_id)
    await _check_profile(data, current)
    async with write_transaction():
        values: dict[Any, Any] = {
            CertificationBody._meta.get_column_by_name(k): data[k]
            for k in _PROFILE_FIELDS
            if k in data
        }
        if values:
            await CertificationBody.update(values).where(CertificationBody.id == body_id).run()
        await _replace_children(body_id, data)
        await log_action(
            "marketplace.body.updated",
            actor_id=actor_id,
            entity_type="body",
            entity_id=body_id,
            tenant=Tenant("body", body_id),
            data={"fields": sorted(data)},
        )


async def get_body(id_or_slug: uuid.UUID | str) -> dict[str, Any]:
    query = CertificationBody.select()
    if isinstance(id_or_slug, uuid.UUID):
        query = query.where(CertificationBody.id == id_or_slug)
    else:
        try:
            query = query.where(CertificationBody.id == uuid.UUID(id_or_slug))
        except ValueError:
            query = query.where(CertificationBody.slug == id_or_slug)
    rows = await query.run()
    if not rows:
        raise NotFound("No such certification body.")
    body: dict[str, Any] = rows[0]
    bid = body["id"]
    body["languages"] = [
        r["language"]
        for r in await BodyLanguage.select(BodyLanguage.language)
        .where(BodyLanguage.body == bid)
        .order_by(BodyLanguage.language)
        .run()
    ]
    body["regions"] = [
        r["region"]
        for r in await BodyRegion.select(BodyRegion.region)
        .where(BodyRegion.body == bid)
        .order_by(BodyRegion.region)
        .run()
    ]
    body["services"] = [
        r["service"]
        for r in await BodyService.select(BodyService.service)
        .where(BodyService.body == bid)
        .order_by(BodyService.service)
        .run()
    ]
    return body
