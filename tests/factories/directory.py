"""Builders of directory's things: accreditations, rating summaries, listed bodies' profiles.

Written to the tables: a search test needs hundreds of bodies with verified accreditations and
ratings that would otherwise take an administrator's verification and a review per rating.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from marketplace.accounts.tables import CertificationBody
from marketplace.core import clock
from marketplace.directory.tables import (
    Accreditation,
    AccreditationScope,
    BodyLanguage,
    BodyRating,
    BodyRegion,
    BodyService,
    SectorExperience,
)
from tests.factories import make_body


async def accredit(
    body_id: uuid.UUID,
    standard: str = "ISO 9001:2015",
    sectors: tuple[int, ...] = (28,),
    status: str = "verified",
    days: int = 365,
    ab: str = "UKAS",
) -> uuid.UUID:
    """An accreditation valid for `days` more days (negative: expired that long ago)."""
    valid_until = clock.today() + dt.timedelta(days=days)
    acc = Accreditation(
        body=body_id,
        accreditation_body=ab,
        number="0001",
        standard=standard,
        valid_until=valid_until,
        status=status,
    )
    await acc.save().run()
    await AccreditationScope.insert(
        *[
            AccreditationScope(
                accreditation=acc.id,
                body=body_id,
                standard=standard,
                iaf_sector=s,
                verified_until=valid_until if status == "verified" else None,
            )
            for s in sectors
        ]
    ).run()
    return acc.id


async def rate(body_id: uuid.UUID, count: int, mean: float) -> None:
    """A rating summary as reviews would write it (sums, not the reviews themselves)."""
    total = round(count * mean)
    await BodyRating.insert(
        BodyRating(
            body=body_id,
            review_count=count,
            rating_sum=total,
            mean=total / count if count else 0.0,
            stars_5=count,
            competence_sum=total,
            communication_sum=total,
            value_sum=total,
            punctuality_sum=total,
        )
    ).run()


async def listed_body(
    name: str,
    country: str = "GB",
    *,
    languages: tuple[str, ...] = ("en",),
    regions: tuple[str, ...] = (),
    services: tuple[str, ...] = (),
    **fields: Any,
) -> uuid.UUID:
    """A body as the directory lists it: its languages, regions, services and profile fields."""
    bid = await make_body(name, country)
    if fields:
        await (
            CertificationBody.update(
                {CertificationBody._meta.get_column_by_name(k): v for k, v in fields.items()}
            )
            .where(CertificationBody.id == bid)
            .run()
        )
    for lang in languages:
        await BodyLanguage.insert(BodyLanguage(body=bid, language=lang)).run()
    for region in regions:
        await BodyRegion.insert(BodyRegion(body=bid, region=region)).run()
    for code in services:
        await BodyService.insert(BodyService(body=bid, service=code)).run()
    return bid


async def experience(body_id: uuid.UUID, sector: int, clients: int) -> None:
    """How many clients the body has certified in an IAF sector (its profile's claim)."""
    await SectorExperience.insert(
        SectorExperience(body=body_id, iaf_sector=sector, clients_certified=clients)
    ).run()
