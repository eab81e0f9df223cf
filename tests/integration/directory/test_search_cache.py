"""The directory's answer cache: reused until this process writes or the TTL runs out, keyed by date."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator

import httpx
import pytest

from marketplace.core import clock
from marketplace.directory import search
from tests.factories import World
from tests.factories.directory import accredit, listed_body
from tests.integration.directory.query_count import record_statements

pytestmark = pytest.mark.usefixtures("database")

QUERY = "/api/v1/bodies?standard=ISO%209001:2015&iaf_sector=28"


@pytest.fixture
def cache_on() -> Iterator[None]:
    search.configure(300)
    yield
    search.configure(0)


def _sector_28(page: dict[str, object]) -> int:
    facets = page["facets"]
    assert isinstance(facets, dict)
    return next(f["count"] for f in facets["iaf_sector"] if f["value"] == "28")


@pytest.mark.usefixtures("cache_on")
async def test_answers_are_reused_until_this_process_writes(client: httpx.AsyncClient) -> None:
    await accredit(await listed_body("First Cert"))
    first = (await client.get(QUERY)).json()
    assert first["total"] == 1
    # Written behind the services' back, as another process would: this process cannot know,
    # and answers from its cache until the TTL runs out.
    await accredit(await listed_body("Second Cert"))
    assert (await client.get(QUERY)).json() == first
    # Another page or other filters are other questions, answered live.
    other = (await client.get(QUERY + "&sort=price")).json()
    assert sorted(i["name"] for i in other["items"]) == ["First Cert", "Second Cert"]


@pytest.mark.usefixtures("cache_on")
async def test_a_verification_here_refreshes_results_and_facets(
    client: httpx.AsyncClient, world: World
) -> None:
    await accredit(await listed_body("First Cert"))
    assert _sector_28((await client.get(QUERY)).json()) == 1
    pending = await accredit(await listed_body("Pending Cert"), status="pending")
    verified = await client.post(
        f"/api/v1/admin/accreditations/{pending}/verify", headers=world.admin.headers
    )
    assert verified.status_code == 200, verified.text
    page = (await client.get(QUERY)).json()
    assert page["total"] == 2
    assert _sector_28(page) == 2
    suspended = await client.post(
        f"/api/v1/admin/accreditations/{pending}/suspend",
        headers=world.admin.headers,
        json={"reason": "Lapsed"},
    )
    assert suspended.status_code == 200, suspended.text
    page = (await client.get(QUERY)).json()
    assert [i["name"] for i in page["items"]] == ["First Cert"]
    assert _sector_28(page) == 1


async def test_expired_cache_entries_are_recomputed(client: httpx.AsyncClient) -> None:
    search.configure(0.05)
    try:
        await accredit(await listed_body("First Cert"))
        assert _sector_28((await client.get(QUERY)).json()) == 1
        await accredit(await listed_body("Second Cert"))
        await asyncio.sleep(0.1)
        assert _sector_28((await client.get(QUERY)).json()) == 2
    finally:
        search.configure(0)


@pytest.mark.usefixtures("cache_on")
async def test_a_repeated_search_reads_nothing_and_a_new_page_only_the_page(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(3):
        await accredit(await listed_body(f"Cert {i}"))
    calls = record_statements(monkeypatch)
    assert (await client.get(QUERY + "&per_page=2")).status_code == 200
    calls.clear()
    assert (await client.get(QUERY + "&per_page=2")).status_code == 200
    assert calls == []
    second = await client.get(QUERY + "&per_page=2&page=2")
    assert [i["name"] for i in second.json()["items"]] == ["Cert 2"]
    assert len(calls) == 2, calls  # the page (with its total) and its standards/services


@pytest.mark.usefixtures("cache_on")
async def test_an_accreditation_expiring_today_stops_matching_at_midnight_despite_the_cache(
    client: httpx.AsyncClient,
) -> None:
    await accredit(await listed_body("Last Day Cert"), days=0)
    assert (await client.get(QUERY)).json()["total"] == 1
    tomorrow = clock.now() + dt.timedelta(days=1)
    clock.travel_to(tomorrow)
    try:
        page = (await client.get(QUERY)).json()
        assert page["total"] == 0
        assert page["items"] == []
    finally:
        clock.reset()
