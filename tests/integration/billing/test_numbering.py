"""Gapless invoice numbers per body under concurrent issuing, and half-even totals end to end."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from marketplace.billing.invoices import issue_invoice, void_invoice
from marketplace.billing.tables import Invoice
from marketplace.core.errors import Conflict
from tests.factories import World
from tests.factories.billing import draft_invoice
from tests.factories.scheduling import engagement
from tests.integration.billing.conftest import on_postgres


async def _drafts(world: World, n: int) -> list[uuid.UUID]:
    started = await engagement(world.a.org_id, world.a.body_id)
    return [
        await draft_invoice(world.a.org_id, world.a.body_id, started.engagement_id)
        for _ in range(n)
    ]


async def _issue_all(ids: list[uuid.UUID]) -> list[int | BaseException]:
    # Every draft issued twice at once: the losers must give their number back.
    calls = [issue_invoice(None, i) for i in ids] + [issue_invoice(None, i) for i in ids[:10]]
    return await asyncio.gather(*calls, return_exceptions=True)


async def _check(world: World, ids: list[uuid.UUID], results: list[int | BaseException]) -> None:
    numbers = sorted(r for r in results if isinstance(r, int))
    failures = [r for r in results if not isinstance(r, int)]
    assert numbers == list(range(1, len(ids) + 1)), failures[:3]
    assert all(isinstance(f, Conflict) for f in failures), failures[:3]
    stored = await Invoice.select(Invoice.number).where(Invoice.body == world.a.body_id).run()
    assert sorted(r["number"] for r in stored) == list(range(1, len(ids) + 1))
    # Another body's series starts at 1 of its own.
    other = await draft_invoice(world.b.org_id, world.b.body_id)
    assert await issue_invoice(None, other) == 1


@pytest.mark.postgres_only
async def test_50_concurrent_issues_on_postgres(world: World) -> None:
    ids = await _drafts(world, 50)
    await _check(world, ids, await _issue_all(ids))


@pytest.mark.skipif(on_postgres(), reason="the 50-issue test above covers PostgreSQL")
async def test_concurrent_issues_on_sqlite(world: World) -> None:
    # SQLite serialises writers (IMMEDIATE); a smaller batch shows the same rule without the wait.
    ids = await _drafts(world, 12)
    await _check(world, ids, await _issue_all(ids))


async def test_credit_notes_share_the_series(world: World) -> None:
    ids = await _drafts(world, 3)
    assert [await issue_invoice(None, i) for i in ids[:2]] == [1, 2]
    credit = await void_invoice(None, ids[0], "duplicate")
    assert await issue_invoice(None, ids[2]) == 4
    row = (
        await Invoice.select(Invoice.number, Invoice.kind).where(Invoice.id == credit).first().run()
    )
    assert row == {"number": 3, "kind": "credit_note"}
