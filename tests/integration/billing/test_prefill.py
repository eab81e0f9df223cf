"""Drafts prefilled from the accepted quote that started the engagement."""

from __future__ import annotations

import datetime as dt

import httpx

from marketplace.core import clock
from marketplace.quotes.tables import Quote, QuoteLine, QuoteRequest
from tests.factories import World
from tests.factories.scheduling import engagement


async def test_prefill_from_accepted_quote(client: httpx.AsyncClient, world: World) -> None:
    started = await engagement(world.a.org_id, world.a.body_id)
    request = QuoteRequest(
        organisation=world.a.org_id,
        standard="ISO 9001:2015",
        iaf_sector=28,
        effective_personnel=50,
        status="closed",
    )
    await request.save().run()
    quote = Quote(
        request=request.id,
        body=world.a.body_id,
        currency="GBP",
        valid_until=clock.today() + dt.timedelta(days=30),
        status="accepted",
        engagement=started.engagement_id,
    )
    await quote.save().run()
    await QuoteLine.insert(
        QuoteLine(
            quote=quote.id,
            audit_kind="stage1",
            auditor_days=1.5,
            day_rate_minor=95000,
            fees_minor=10000,
            travel_minor=0,
        ),
        QuoteLine(
            quote=quote.id,
            audit_kind="stage2",
            auditor_days=2,
            day_rate_minor=95000,
            fees_minor=0,
            travel_minor=4000,
        ),
    ).run()
    finance = world.actor("a", "body:finance").headers
    whole = await client.post(
        "/api/v1/invoices",
        json={"engagement_id": str(started.engagement_id)},
        headers=finance,
    )
    assert whole.status_code == 201, whole.text
    assert [(x["description"], x["net_minor"]) for x in whole.json()["lines"]] == [
        ("Stage 1: auditor days", 142500),
        ("Stage 1: fees", 10000),
        ("Stage 2: auditor days", 190000),
        ("Stage 2: travel", 4000),
    ]
    stage2 = await client.post(
        "/api/v1/invoices",
        json={
            "engagement_id": str(started.engagement_id),
            "audit_id": str(started.audit_ids["stage2"]),
        },
        headers=finance,
    )
    assert [x["net_minor"] for x in stage2.json()["lines"]] == [190000, 4000]


async def test_no_quote_and_no_lines_is_422(client: httpx.AsyncClient, world: World) -> None:
    started = await engagement(world.a.org_id, world.a.body_id)
    response = await client.post(
        "/api/v1/invoices",
        json={"engagement_id": str(started.engagement_id)},
        headers=world.actor("a", "body:owner").headers,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "lines"
