"""Demo reviews: completed engagements (through scheduling) and reviews of them, unevenly spread."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any

from marketplace.accounts.tables import CertificationBody, Organisation
from marketplace.core import clock
from marketplace.core.db import write_transaction
from marketplace.directory.tables import BodyRating
from marketplace.reviews.services import SUB_RATINGS
from marketplace.reviews.tables import Review
from marketplace.scheduling.engagements import start_engagement
from marketplace.scheduling.tables import Audit
from marketplace.web.progress import Progress

# Engagements per body on average, and a cap: each goes through scheduling (about ten
# statements), so `--bodies 2000` stays well under a minute.
ENGAGEMENTS_PER_BODY = 3
MAX_ENGAGEMENTS = 600
PRAISE = (
    "The lead auditor knew our sector well and kept to the agreed plan.",
    "Clear audit plan, fair findings, and the report arrived within a week.",
    "Good value; the stage 1 feedback helped us fix our internal audit programme.",
    "Friendly and professional; rescheduling was easy.",
)
CRITICISM = (
    "The auditor arrived late and the closing meeting was rushed.",
    "Communication between audits was slow; we chased the report twice.",
    "Findings were fair but the day rate felt high for a small site.",
)
REPLIES = (
    "Thank you for the feedback; we have shared it with the audit team.",
    "We are sorry about the delay and have changed how reports are scheduled.",
)


def _stars(rng: random.Random, mean: float) -> int:
    return max(1, min(5, round(rng.gauss(mean, 0.7))))


async def generate(rng: random.Random, progress: bool) -> None:
    """Start engagements between demo clients and bodies (a few bodies get most of them), mark
    their stage 1 and 2 audits completed, and have most clients review them; a few reviews are
    hidden by moderation, some answered by the body. Rating summaries are written at the end.
    The demo client Acme keeps one completed, unreviewed engagement with Northbridge."""
    bodies = await CertificationBody.select(CertificationBody.id, CertificationBody.name).run()
    orgs = await Organisation.select(
        Organisation.id, Organisation.name, Organisation.iaf_sector
    ).run()
    if not bodies or not orgs:
        return
    count = min(len(bodies) * ENGAGEMENTS_PER_BODY, MAX_ENGAGEMENTS)
    popularity = _popularity(rng, bodies)
    quality = {b["id"]: rng.uniform(3.0, 4.9) for b in bodies}
    today = clock.today()
    bar = Progress("Review demo", count + 1, enabled=progress)
    reviews: list[Review] = []
    cycle_ids: list[uuid.UUID] = []
    async with write_transaction():
        pairs: list[tuple[dict[str, Any], dict[str, Any], bool]] = [
            (rng.choice(orgs), body, True) for body in rng.choices(bodies, popularity, k=count)
        ]
        acme = next((o for o in orgs if o["name"] == "Acme Precision Ltd"), None)
        northbridge = _northbridge(bodies)
        if acme and northbridge:
            pairs.append((acme, northbridge, False))
        for org, body, review in pairs:
            started = await start_engagement(
                actor_id=None,
                organisation_id=org["id"],
                body_id=body["id"],
                standard="ISO 9001:2015",
                iaf_sector=int(org["iaf_sector"]),
                agreed_days={"stage1": 1.0, "stage2": 2.0},
                start=today - dt.timedelta(days=rng.randint(60, 900)),
            )
            cycle_ids.append(started.cycle_id)
            bar.advance()
            if not review or rng.random() > 0.85:
                continue
            reviews.append(
                _review(rng, org["id"], body["id"], started.engagement_id, quality[body["id"]])
            )
        await _complete_first_audits(cycle_ids, today)
        for i in range(0, len(reviews), 200):
            await Review.insert(*reviews[i : i + 200]).run()
        await _write_ratings(reviews)
    bar.advance()
    bar.close()


def _northbridge(bodies: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((b for b in bodies if b["name"] == "Northbridge Certification"), None)


def _popularity(rng: random.Random, bodies: list[dict[str, Any]]) -> list[float]:
    """Heavy-tailed popularity: a few well-known bodies collect many reviews, most a handful."""
    popularity = [rng.paretovariate(1.3) for _ in bodies]
    northbridge = _northbridge(bodies)
    if northbridge is not None:
        # The demo body should show a real reputation: make it one of the best known.
        popularity[bodies.index(northbridge)] = max(popularity) * 2
    return popularity


def _review(
    rng: random.Random,
    organisation_id: uuid.UUID,
    body_id: uuid.UUID,
    engagement_id: uuid.UUID,
    mean: float,
) -> Review:
    """A client's review around the body's quality; a few hidden, some answered."""
    rating = _stars(rng, mean)
    hidden = rng.random() < 0.02
    replied = rng.random() < 0.3
    return Review(
        body=body_id,
        organisation=organisation_id,
        engagement=engagement_id,
        rating=rating,
        text=rng.choice(PRAISE if rating >= 4 else CRITICISM),
        status="hidden" if hidden else "published",
        hidden_reason="Abusive language." if hidden else "",
        reply=rng.choice(REPLIES) if replied else "",
        replied_at=clock.now() if replied else None,
        created_at=clock.now() - dt.timedelta(days=rng.randint(1, 700)),
        competence=_stars(rng, mean),
        communication=_stars(rng, mean),
        value=_stars(rng, mean),
        punctuality=_stars(rng, mean),
    )


async def _complete_first_audits(cycle_ids: list[uuid.UUID], today: dt.date) -> None:
    """Stage 1 and 2 of every demo engagement held a month ago, so clients may review."""
    for i in range(0, len(cycle_ids), 300):
        await (
            Audit.update(
                {Audit.status: "completed", Audit.completed_on: today - dt.timedelta(days=30)}
            )
            .where(
                Audit.cycle.is_in(cycle_ids[i : i + 300]) & Audit.kind.is_in(["stage1", "stage2"])
            )
            .run()
        )


async def _write_ratings(reviews: list[Review]) -> None:
    """Each body's rating summary over its published reviews."""
    summaries: dict[uuid.UUID, dict[str, Any]] = {}
    for r in reviews:
        if r.status != "published":
            continue
        s = summaries.setdefault(
            r.body,
            {
                "review_count": 0,
                "rating_sum": 0,
                **{f"stars_{n}": 0 for n in range(1, 6)},
                **{f"{k}_sum": 0 for k in SUB_RATINGS},
            },
        )
        s["review_count"] += 1
        s["rating_sum"] += r.rating
        s[f"stars_{r.rating}"] += 1
        for k in SUB_RATINGS:
            s[f"{k}_sum"] += getattr(r, k)
    ratings: list[BodyRating] = [
        BodyRating(body=body_id, mean=s["rating_sum"] / s["review_count"], **s)
        for body_id, s in summaries.items()
    ]
    for i in range(0, len(ratings), 200):
        await BodyRating.insert(*ratings[i : i + 200]).run()
