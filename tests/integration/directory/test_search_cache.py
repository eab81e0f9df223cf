"""The directory's facet and prior cache: lists stay live, facets refresh on writes and on expiry."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from marketplace.core.db import get_engine
from marketplace.directory import search
from tests.factories import World
from tests.integration.directory.helpers import accredit, body

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
async def test_list_and_total_are_live_while_facets_are_reused(client: httpx.AsyncClient) -> None:
    await accredit(await body("First Cert"))
    first = (await client.get(QUERY)).json()
    assert first["total"] == 1
    assert _sector_28(first) == 1
    # Written behind the services' back, as another process would: this process cannot know.
    await accredit(await body("Second Cert"))
    second = (await client.get(QUERY)).json()
    assert sorted(i["name"] for i in second["items"]) == ["First Cert", "Second Cert"]
    assert second["total"] == 2
    assert _sector_28(second) == 1  # the cached count, until the TTL or a local write


@pytest.mark.usefixtures("cache_on")
async def test_a_verification_here_refreshes_the_facets(
    client: httpx.AsyncClient, world: World
) -> None:
    await accredit(await body("First Cert"))
    assert _sector_28((await client.get(QUERY)).json()) == 1
    pending = await accredit(await body("Pending Cert"), status="pending")
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
        await accredit(await body("First Cert"))
        assert _sector_28((await client.get(QUERY)).json()) == 1
        await accredit(await body("Second Cert"))
        await asyncio.sleep(0.1)
        assert _sector_28((await client.get(QUERY)).json()) == 2
    finally:
        search.configure(0)


@pytest.mark.usefixtures("cache_on")
async def test_a_warm_search_is_two_statements(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await accredit(await body("First Cert"))
    engine_class = type(get_engine())
    original = engine_class.run_querystring
    calls: list[str] = []

    async def counting(self, querystring, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(str(querystring)[:60])
        return await original(self, querystring, *args, **kwargs)

    monkeypatch.setattr(engine_class, "run_querystring", counting)
    assert (await client.get(QUERY)).status_code == 200
    calls.clear()
    assert (await client.get(QUERY)).status_code == 200
    assert len(calls) == 2, calls  # the page (with its total) and the page's standards/services
