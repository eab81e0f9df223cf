"""Directory services: body profiles, declared accreditations and their verification, sector experience."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import msgspec

from marketplace.accounts.bodies import create_body_tenant
from marketplace.accounts.tables import CertificationBody
from marketplace.core import clock
from marketplace.core.activity import Tenant, log_action
from marketplace.core.db import write_transaction
from marketplace.core.errors import Conflict, Invalid, NotFound
from marketplace.core.pagination import Page, PageParams
from marketplace.directory.schemas import AccreditationOut, QueuedAccreditation
from marketplace.directory.tables import (
    Accreditation,
    AccreditationScope,
    BodyLanguage,
    BodyRating,
    BodyRegion,
    BodyService,
    SectorExperience,
)
from marketplace.reference.tables import AccreditationBody, IafSector, Standard, SupportService
from marketplace.rules import web_address
from marketplace.rules.ranking import DEFAULT_PRIOR_WEIGHT, bayesian_average

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
    website = data.get("website")
    if website and not web_address.is_http_url(website):
        raise Invalid.field(
            "website", "Enter a web address starting with http:// or https://, with a host name."
        )
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


# Bumped by every write that can change a search's facets or ranking; directory.search drops its
# cached facet counts and prior when this moves (other processes see the change within the TTL).
_search_generation = 0


def search_changed() -> None:
    global _search_generation
    _search_generation += 1


def search_generation() -> int:
    return _search_generation


@asynccontextmanager
async def _directory_write() -> AsyncIterator[None]:
    """A write transaction that tells the search caches once it has committed."""
    async with write_transaction():
        yield
    search_changed()


async def create_body(actor_id: uuid.UUID, data: dict[str, Any]) -> uuid.UUID:
    """Register a certification body on the platform; the caller becomes its owner."""
    await _check_profile(data)
    async with _directory_write():
        body_id = await create_body_tenant(
            actor_id, {k: data[k] for k in _PROFILE_FIELDS if k in data}
        )
        await _replace_children(body_id, data)
    return body_id


async def update_body(actor_id: uuid.UUID, body_id: uuid.UUID, data: dict[str, Any]) -> None:
    current = await get_body(body_id)
    await _check_profile(data, current)
    async with _directory_write():
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
    # Rows stored before the http(s) rule may hold `javascript:` and the like: never hand one on.
    body["website"] = web_address.safe_http_url(body["website"])
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


# --- accreditations ------------------------------------------------------------------------

# Roles of a body that may declare its accreditations and sectors of experience.
PROFILE_EDITORS = frozenset({"owner", "scheduler"})

# Decisions a platform administrator takes, from which stored states, to which state.
ACCREDITATION_DECISIONS: dict[str, tuple[frozenset[str], str]] = {
    "verify": (frozenset({"pending", "suspended"}), "verified"),
    "reject": (frozenset({"pending"}), "rejected"),
    "suspend": (frozenset({"verified"}), "suspended"),
}


def accreditation_status(status: str, valid_until: dt.date, today: dt.date) -> str:
    """The status callers see: a pending or verified accreditation past `valid_until` is expired.

    Expiry is derived, never stored, so it holds from the first day after `valid_until` without
    a sweep job; searches apply the same comparison in SQL.
    """
    if status in {"pending", "verified"} and valid_until < today:
        return "expired"
    return status


async def _known(table: Any, column: Any, values: Iterable[Any]) -> set[Any]:
    wanted = list(set(values))
    if not wanted:
        return set()
    rows = await table.select(column).where(column.is_in(wanted)).run()
    return {r[column._meta.name] for r in rows}


async def _allowed_codes(table: Any, column: Any) -> str:
    rows = await table.select(column).order_by(column).run()
    return ", ".join(str(r[column._meta.name]) for r in rows)


async def declare_accreditation(
    actor_id: uuid.UUID, body_id: uuid.UUID, data: dict[str, Any]
) -> uuid.UUID:
    """A body declares an accreditation; it stays `pending` (and matches no search) until verified.

    Only accreditations still valid today can be declared, against a known accreditation body,
    standard and IAF sectors (IAF ID 1 codes 1..39).
    """
    await get_body(body_id)
    if data["valid_until"] < clock.today():
        raise Invalid.field("valid_until", "This accreditation has already expired.")
    if not await _known(AccreditationBody, AccreditationBody.code, [data["accreditation_body"]]):
        raise Invalid.field(
            "accreditation_body",
            f"Unknown accreditation body; allowed: "
            f"{await _allowed_codes(AccreditationBody, AccreditationBody.code)}.",
        )
    if not await _known(Standard, Standard.code, [data["standard"]]):
        raise Invalid.field(
            "standard",
            f"Unknown standard; allowed: {await _allowed_codes(Standard, Standard.code)}.",
        )
    sectors = sorted(set(data["iaf_sectors"]))
    unknown = set(sectors) - await _known(IafSector, IafSector.code, sectors)
    if unknown:
        raise Invalid.field(
            "iaf_sectors", f"Unknown IAF sector(s): {sorted(unknown)}; use 1 to 39."
        )
    evidence = str(data.get("evidence_url") or "")
    if evidence and not evidence.startswith(("https://", "http://")):
        raise Invalid.field("evidence_url", "Give an http(s) link to the accreditation evidence.")
    async with _directory_write():
        accreditation = Accreditation(
            body=body_id,
            accreditation_body=data["accreditation_body"],
            number=data["number"].strip(),
            standard=data["standard"],
            valid_until=data["valid_until"],
            status="pending",
            evidence_url=evidence,
            declared_by=actor_id,
        )
        await accreditation.save().run()
        await AccreditationScope.insert(
            *[
                AccreditationScope(
                    accreditation=accreditation.id,
                    body=body_id,
                    standard=data["standard"],
                    iaf_sector=sector,
                )
                for sector in sectors
            ]
        ).run()
        await log_action(
            "marketplace.accreditation.declared",
            actor_id=actor_id,
            entity_type="accreditation",
            entity_id=accreditation.id,
            tenant=Tenant("body", body_id),
            data={"standard": data["standard"], "accreditation_body": data["accreditation_body"]},
        )
    return accreditation.id


async def decide_accreditation(
    actor_id: uuid.UUID, accreditation_id: uuid.UUID, decision: str, reason: str = ""
) -> None:
    """A platform administrator verifies, rejects or suspends an accreditation.

    Verify from pending (or to reinstate a suspended one), reject only a pending one, suspend only
    a verified one; anything else is a 409 `invalid_transition`. Only verified, unexpired
    accreditations count in the directory.
    """
    allowed_from, target = ACCREDITATION_DECISIONS[decision]
    async with _directory_write():
        rows = (
            await Accreditation.select(
                Accreditation.status, Accreditation.body, Accreditation.valid_until
            )
            .where(Accreditation.id == accreditation_id)
            .run()
        )
        if not rows:
            raise NotFound("No such accreditation.")
        current = rows[0]["status"]
        if current not in allowed_from:
            raise Conflict(
                f"A {current} accreditation cannot be {target}.", code="invalid_transition"
            )
        values: dict[Any, Any] = {Accreditation.status: target, Accreditation.status_reason: reason}
        if target == "verified":
            values[Accreditation.verified_by] = actor_id
            values[Accreditation.verified_at] = clock.now()
        await Accreditation.update(values).where(Accreditation.id == accreditation_id).run()
        # The search reads validity from the scope rows (one index range); keep them in step.
        await (
            AccreditationScope.update(
                {
                    AccreditationScope.verified_until: rows[0]["valid_until"]
                    if target == "verified"
                    else None
                }
            )
            .where(AccreditationScope.accreditation == accreditation_id)
            .run()
        )
        await log_action(
            f"marketplace.accreditation.{target}",
            actor_id=actor_id,
            entity_type="accreditation",
            entity_id=accreditation_id,
            tenant=Tenant("body", rows[0]["body"]),
            data={"from": current, "reason": reason},
        )


async def _accreditation_rows(
    where: Any, limit: int | None = None, offset: int = 0
) -> list[AccreditationOut]:
    query = (
        Accreditation.select(
            *Accreditation.all_columns(),
            Accreditation.accreditation_body.name.as_alias("accreditation_body_name"),
        )
        .where(where)
        .order_by(Accreditation.created_at)
    )
    if limit is not None:
        query = query.limit(limit).offset(offset)
    rows: list[dict[str, Any]] = await query.run()
    ids = [r["id"] for r in rows]
    sectors: dict[Any, list[int]] = {i: [] for i in ids}
    if ids:
        for s in (
            await AccreditationScope.select(
                AccreditationScope.accreditation, AccreditationScope.iaf_sector
            )
            .where(AccreditationScope.accreditation.is_in(ids))
            .order_by(AccreditationScope.iaf_sector)
            .run()
        ):
            sectors[s["accreditation"]].append(s["iaf_sector"])
    today = clock.today()
    for r in rows:
        r["body_id"] = r.pop("body")
        r["iaf_sectors"] = sectors[r["id"]]
        r["status"] = accreditation_status(r["status"], r["valid_until"], today)
    return msgspec.convert(rows, list[AccreditationOut], strict=False)


async def get_accreditation(accreditation_id: uuid.UUID) -> AccreditationOut:
    rows = await _accreditation_rows(Accreditation.id == accreditation_id)
    if not rows:
        raise NotFound("No such accreditation.")
    return rows[0]


async def list_accreditations_by_status(
    status: str, params: PageParams
) -> Page[QueuedAccreditation]:
    """Accreditations in one stored state (the administrators' queue is `pending`), oldest first."""
    if status not in {"pending", "verified", "rejected", "suspended"}:
        raise Invalid.field(
            "status", "Unknown status; allowed: pending, verified, rejected, suspended."
        )
    where = Accreditation.status == status
    total = await Accreditation.count().where(where).run()
    rows = await _accreditation_rows(where, params.per_page, params.offset)
    names = (
        {
            r["id"]: r["name"]
            for r in await CertificationBody.select(CertificationBody.id, CertificationBody.name)
            .where(CertificationBody.id.is_in([r.body_id for r in rows]))
            .run()
        }
        if rows
        else {}
    )
    items = [
        QueuedAccreditation(**msgspec.structs.asdict(r), body_name=names.get(r.body_id, ""))
        for r in rows
    ]
    return Page(items=items, total=total, page=params.page, per_page=params.per_page)


# --- sectors of experience -----------------------------------------------------------------


async def set_sector_experience(
    actor_id: uuid.UUID, body_id: uuid.UUID, rows: list[dict[str, Any]]
) -> None:
    """Replace the body's sectors of experience (one row per IAF sector, clients certified)."""
    await get_body(body_id)
    sectors = [r["iaf_sector"] for r in rows]
    if len(sectors) != len(set(sectors)):
        raise Invalid.field("iaf_sector", "List each IAF sector once.")
    unknown = set(sectors) - await _known(IafSector, IafSector.code, sectors)
    if unknown:
        raise Invalid.field("iaf_sector", f"Unknown IAF sector(s): {sorted(unknown)}; use 1 to 39.")
    async with _directory_write():
        await SectorExperience.delete().where(SectorExperience.body == body_id).run()
        if rows:
            await SectorExperience.insert(
                *[
                    SectorExperience(
                        body=body_id,
                        iaf_sector=r["iaf_sector"],
                        clients_certified=r["clients_certified"],
                    )
                    for r in rows
                ]
            ).run()
        await log_action(
            "marketplace.body.experience_updated",
            actor_id=actor_id,
            entity_type="body",
            entity_id=body_id,
            tenant=Tenant("body", body_id),
            data={"sectors": sorted(sectors)},
        )


async def sector_experience(body_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[dict[str, Any]]]:
    out: dict[uuid.UUID, list[dict[str, Any]]] = {b: [] for b in body_ids}
    if not body_ids:
        return out
    for r in (
        await SectorExperience.select(
            SectorExperience.body,
            SectorExperience.iaf_sector,
            SectorExperience.iaf_sector.name.as_alias("name"),
            SectorExperience.clients_certified,
        )
        .where(SectorExperience.body.is_in(body_ids))
        .order_by(SectorExperience.clients_certified, ascending=False)
        .run()
    ):
        out[r.pop("body")].append(r)
    return out


# --- ratings -------------------------------------------------------------------------------

# What an unreviewed platform is assumed to be worth: the middle of the 1-5 scale.
DEFAULT_PRIOR_MEAN = 3.0


async def platform_prior() -> float:
    """Mean of every published review on the platform: the prior of the Bayesian ranking."""
    rows = await BodyRating.raw(
        "SELECT SUM(rating_sum) AS s, SUM(review_count) AS n FROM body_rating"
    ).run()
    total, count = (rows[0]["s"] or 0, rows[0]["n"] or 0) if rows else (0, 0)
    return float(total) / float(count) if count else DEFAULT_PRIOR_MEAN


def rating_breakdown(row: dict[str, Any] | None, prior: float) -> dict[str, Any]:
    """Mean, Bayesian score (rules.ranking), star distribution and sub-rating means."""
    count = int(row["review_count"]) if row else 0

    def mean(field: str) -> float | None:
        return round(row[field] / count, 2) if row and count else None

    rating = mean("rating_sum")
    return {
        "review_count": count,
        "rating": rating,
        "bayesian": round(bayesian_average(count, rating or 0.0, prior, DEFAULT_PRIOR_WEIGHT), 3),
        "distribution": {str(n): int(row[f"stars_{n}"]) if row else 0 for n in range(5, 0, -1)},
        "competence": mean("competence_sum"),
        "communication": mean("communication_sum"),
        "value": mean("value_sum"),
        "punctuality": mean("punctuality_sum"),
    }


async def ratings_for(body_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    prior = await platform_prior()
    rows = (
        {
            r["body"]: r
            for r in await BodyRating.select().where(BodyRating.body.is_in(body_ids)).run()
        }
        if body_ids
        else {}
    )
    return {b: rating_breakdown(rows.get(b), prior) for b in body_ids}


async def get_body_detail(id_or_slug: uuid.UUID | str) -> dict[str, Any]:
    """The public profile: accreditations with their status, experience, rating breakdown."""
    body = await get_body(id_or_slug)
    bid = body["id"]
    body["accreditations"] = await _accreditation_rows(
        (Accreditation.body == bid) & (Accreditation.status != "rejected")
    )
    body["sectors_of_experience"] = (await sector_experience([bid]))[bid]
    body["rating"] = (await ratings_for([bid]))[bid]
    return body
