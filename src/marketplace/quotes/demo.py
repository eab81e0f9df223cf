"""Demo quote requests and quotes: Acme's three answers to compare, open requests in bodies' inboxes."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any

from marketplace.accounts import organisations as accounts
from marketplace.accounts.tables import CertificationBody, Membership, Organisation
from marketplace.core import clock
from marketplace.quotes.baseline import AUDIT_KINDS, baseline_for_request, planned_days
from marketplace.quotes.offers import decline_request, submit_quote
from marketplace.quotes.requests import create_request, get_request_row
from marketplace.quotes.tables import Quote
from marketplace.web.progress import Progress

ACME = "Acme Precision Ltd"
NORTHBRIDGE = "Northbridge Certification"
OTHER_REQUESTS = 10
# Standards the other demo clients ask for, with a complexity where IAF MD 5 needs one.
DEMO_STANDARDS: tuple[tuple[str, str | None], ...] = (
    ("ISO 9001:2015", None),
    ("ISO 14001:2015", "medium"),
    ("ISO 45001:2018", "low"),
    ("ISO/IEC 27001:2022", None),
    ("ISO 9001:2015", None),
)


def _lines(
    rng: random.Random,
    planned: dict[str, float],
    body: dict[str, Any],
    initial: float | None = None,
) -> list[dict[str, Any]]:
    """Lines at the baseline (or an initial total given), priced inside the body's day-rate range."""
    low = int(body["day_rate_min_minor"]) or 80_000
    high = max(int(body["day_rate_max_minor"]), low)
    rate = rng.randrange(low, high + 1, 500) if high > low else low
    days = dict(planned)
    if initial is not None:
        days["stage1"] = 0.5
        days["stage2"] = initial - 0.5
    travel = rng.choice([0, 15_000, 35_000, 60_000])
    fees = {"stage1": 25_000, "stage2": 30_000}  # application and certificate fees
    return [
        {
            "audit_kind": kind,
            "auditor_days": days[kind],
            "day_rate_minor": rate,
            "fees_minor": fees.get(kind, 0),
            "travel_minor": travel,
        }
        for kind in AUDIT_KINDS
    ]


async def _quote(
    rng: random.Random,
    request_id: uuid.UUID,
    body: dict[str, Any],
    actor: uuid.UUID | None,
    planned: dict[str, float],
    *,
    initial: float | None = None,
    extra_days: float = 0.0,
) -> uuid.UUID:
    if extra_days:
        planned = {k: v + extra_days for k, v in planned.items()}
    result = await submit_quote(
        actor,
        request_id,
        {
            "body_id": body["id"],
            "currency": body["currency"],
            "valid_until": clock.today() + dt.timedelta(days=rng.choice([30, 45, 60, 90])),
            "lines": _lines(rng, planned, body, initial),
            "message": "Prices include report writing; travel at cost.",
        },
    )
    quote_id: uuid.UUID = result["id"]
    return quote_id


async def _owners() -> dict[uuid.UUID, uuid.UUID]:
    """Each organisation's and body's owner, who sends and answers the demo's requests."""
    return {
        (r["organisation"] or r["body"]): r["user"]
        for r in await Membership.select(Membership.user, Membership.organisation, Membership.body)
        .where(Membership.role == "owner")
        .run()
    }


async def _planned(request_id: uuid.UUID) -> tuple[dict[str, float], float]:
    """The request's baseline days per audit and its minimum initial days."""
    base = await baseline_for_request(await get_request_row(request_id))
    return planned_days(base.estimate), base.estimate.minimum_initial_days


async def _acme_comparison(
    rng: random.Random,
    acme: dict[str, Any],
    northbridge: dict[str, Any],
    others: list[dict[str, Any]],
    owners: dict[uuid.UUID, uuid.UUID],
) -> list[dict[str, Any]]:
    """Acme's ISO 9001 request to four bodies, three answered (one under the IAF MD 5 minimum).

    The fourth is still pending, so the comparison page has something to show; answers the
    three other bodies chosen.
    """
    chosen = rng.sample(others, 3)
    request_id = await create_request(
        owners.get(acme["id"]),
        {
            "organisation_id": acme["id"],
            "standard": "ISO 9001:2015",
            "body_ids": [northbridge["id"], *(b["id"] for b in chosen)],
            "message": "We would like stage 1 before the summer shutdown.",
            "desired_start": clock.today() + dt.timedelta(days=45),
        },
    )
    planned, minimum = await _planned(request_id)
    await _quote(rng, request_id, northbridge, owners.get(northbridge["id"]), planned)
    await _quote(rng, request_id, chosen[0], owners.get(chosen[0]["id"]), planned, extra_days=0.5)
    short = minimum - 1.0 if minimum - 1.0 >= 1.0 else minimum - 0.5
    await _quote(rng, request_id, chosen[1], owners.get(chosen[1]["id"]), planned, initial=short)
    return chosen


async def _acme_expired(
    rng: random.Random,
    acme: dict[str, Any],
    northbridge: dict[str, Any],
    late: dict[str, Any],
    owners: dict[uuid.UUID, uuid.UUID],
) -> None:
    """An ISO 14001 request with one expired answer, still open in Northbridge's inbox."""
    request_id = await create_request(
        owners.get(acme["id"]),
        {
            "organisation_id": acme["id"],
            "standard": "ISO 14001:2015",
            "complexity": "medium",
            "body_ids": [northbridge["id"], late["id"]],
        },
    )
    planned, _ = await _planned(request_id)
    expired = await _quote(rng, request_id, late, owners.get(late["id"]), planned)
    # Demo only: backdate the validity so the page shows an expired quote that cannot be accepted.
    await (
        Quote.update({Quote.valid_until: clock.today() - dt.timedelta(days=3)})
        .where(Quote.id == expired)
        .run()
    )


async def _other_request(
    rng: random.Random,
    org: dict[str, Any],
    bodies: list[dict[str, Any]],
    northbridge: dict[str, Any],
    owners: dict[uuid.UUID, uuid.UUID],
) -> None:
    """An open request of another client, some bodies quoting, some declining, Northbridge not."""
    standard, complexity = rng.choice(DEMO_STANDARDS)
    targets = rng.sample(bodies, rng.randint(2, 4))
    if rng.random() < 0.5 and northbridge not in targets:
        targets[0] = northbridge
    profile = await accounts.get_organisation(org["id"])
    request_id = await create_request(
        owners.get(org["id"]),
        {
            "organisation_id": org["id"],
            "standard": standard,
            "complexity": complexity,
            "body_ids": [b["id"] for b in targets],
            "sites": max(1, len(profile["sites"])),
        },
    )
    planned, _ = await _planned(request_id)
    for body in targets:
        if body["id"] == northbridge["id"]:
            continue  # left for the demo body to answer
        roll = rng.random()
        if roll < 0.5:
            await _quote(rng, request_id, body, owners.get(body["id"]), planned)
        elif roll < 0.65:
            await decline_request(
                owners.get(body["id"]),
                request_id,
                body["id"],
                "No auditor qualified for this sector is free in the coming months.",
            )


async def generate(rng: random.Random, progress: bool) -> None:
    """Quote requests and answers over the demo's bodies and organisations (after they exist)."""
    bar = Progress("Demo quotes", OTHER_REQUESTS + 2, enabled=progress)
    bodies: list[dict[str, Any]] = (
        await CertificationBody.select().order_by(CertificationBody.name).run()
    )
    orgs: list[dict[str, Any]] = await Organisation.select().order_by(Organisation.name).run()
    acme = next((o for o in orgs if o["name"] == ACME), None)
    northbridge = next((b for b in bodies if b["name"] == NORTHBRIDGE), None)
    if acme is None or northbridge is None or len(bodies) < 5:
        bar.close()
        return
    owners = await _owners()
    others = [b for b in bodies if b["id"] != northbridge["id"]]
    chosen = await _acme_comparison(rng, acme, northbridge, others, owners)
    bar.advance()
    late = rng.choice([b for b in others if b not in chosen])
    await _acme_expired(rng, acme, northbridge, late, owners)
    bar.advance()
    clients = [o for o in orgs if o["id"] != acme["id"]]
    for _ in range(min(OTHER_REQUESTS, len(clients))):
        await _other_request(rng, rng.choice(clients), bodies, northbridge, owners)
        bar.advance()
    bar.close()
