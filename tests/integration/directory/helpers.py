"""Builders for directory and review tests: accreditations, ratings and completed engagements."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from marketplace.core import clock
from marketplace.core.db import get_engine
from marketplace.directory.tables import (
    Accreditation,
    AccreditationScope,
    BodyLanguage,
    BodyRating,
    BodyRegion,
    BodyService,
    SectorExperience,
)
from marketplace.scheduling.engagements import start_engagement
from marketplace.scheduling.tables import Audit, CertificationCycle, Engagement
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


async def body(
    name: str,
    country: str = "GB",
    *,
    languages: tuple[str, ...] = ("en",),
    regions: tuple[str, ...] = (),
    services: tuple[str, ...] = (),
    **fields: Any,
) -> uuid.UUID:
    from marketplace.accounts.tables import CertificationBody

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
    await SectorExperience.insert(
        SectorExperience(body=body_id, iaf_sector=sector, clients_certified=clients)
    ).run()


# The isolation matrix sends a fixed request body, so its engagement has a fixed id.
FIXED_ENGAGEMENT = uuid.UUID("00000000-0000-4000-8000-00000000e001")


async def engagement(
    organisation_id: uuid.UUID,
    body_id: uuid.UUID,
    completed: bool = True,
    fixed_id: bool = False,
) -> uuid.UUID:
    started = await start_engagement(
        actor_id=None,
        organisation_id=organisation_id,
        body_id=body_id,
        standard="ISO 9001:2015",
        iaf_sector=28,
        agreed_days={"stage1": 1.0, "stage2": 2.0},
        start=clock.today() - dt.timedelta(days=90),
    )
    if fixed_id:
        await (
            Engagement.update({Engagement.id: FIXED_ENGAGEMENT})
            .where(Engagement.id == started.engagement_id)
            .run()
        )
        await (
            CertificationCycle.update({CertificationCycle.engagement: FIXED_ENGAGEMENT})
            .where(CertificationCycle.id == started.cycle_id)
            .run()
        )
    if completed:
        await (
            Audit.update({Audit.status: "completed"})
            .where((Audit.cycle == started.cycle_id) & Audit.kind.is_in(["stage1", "stage2"]))
            .run()
        )
    return FIXED_ENGAGEMENT if fixed_id else started.engagement_id


REVIEW = {
    "rating": 5,
    "ratings": {"competence": 5, "communication": 4, "value": 4, "punctuality": 5},
    "text": "Thorough and fair.",
}


def record_statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every SQL statement run from now on (its first 60 characters), for counting queries."""
    engine_class = type(get_engine())
    original = engine_class.run_querystring
    calls: list[str] = []

    # Every Piccolo query, raw or built, goes through the engine's run_querystring.
    async def counting(self, querystring, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(str(querystring)[:60])
        return await original(self, querystring, *args, **kwargs)

    monkeypatch.setattr(engine_class, "run_querystring", counting)
    return calls
