"""The API and pages while the database is unreachable: 503 with Retry-After (JSON for the API, a
page for browsers), logged once per outage, and 200 again once it is back, without a restart."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from litestar import Litestar

from marketplace.core import db
from marketplace.core.errors import DATABASE_UNAVAILABLE
from marketplace.core.observability import DATABASE_OUTAGE
from tests.db_proxy import DbProxy, db_proxy, engine_in_use, through_proxy
from tests.factories import World, sign_in
from tests.live_server import live_server

ON_POSTGRES = os.environ["DATABASE_URL"].startswith("postgres")


@pytest.fixture
async def browser(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """A second client with its own cookie jar: a signed-in browser beside the API client."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def _outage_records(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "marketplace.outage"]


async def _wait_for_end(caplog: pytest.LogCaptureFixture) -> None:
    deadline = time.monotonic() + 5.0
    while DATABASE_OUTAGE.active:
        assert time.monotonic() < deadline, "the outage was never seen to end"
        await asyncio.sleep(0.05)
    assert _outage_records(caplog)[-1].startswith("database reachable again after ")


def _assert_unavailable(r: httpx.Response, *, page: bool) -> None:
    assert r.status_code == 503, (r.request.url, r.status_code, r.text[:300])
    assert r.headers["retry-after"] == "5"
    if page:
        assert r.headers["content-type"].startswith("text/html")
        assert "Briefly unavailable" in r.text
        assert "We cannot reach our database just now" in r.text
    else:
        assert r.headers["content-type"].startswith("application/json")
        assert r.json() == {"detail": DATABASE_UNAVAILABLE, "code": "database_unavailable"}


@pytest.mark.usefixtures("database")
@pytest.mark.postgres_only
@pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL (set TEST_DATABASE_URL)")
async def test_every_route_answers_503_during_an_outage_and_200_once_it_is_back(
    client: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    world: World,
    caplog: pytest.LogCaptureFixture,
) -> None:
    owner = world.actor("a", "org:owner")
    await sign_in(browser, owner.user_id)
    org = {"name": "Outage Ltd", "country": "GB", "iaf_sector": 19, "effective_personnel": 40}

    async def api_read() -> httpx.Response:
        return await client.get(f"/api/v1/organisations/{world.a.org_id}", headers=owner.headers)

    async def api_create() -> httpx.Response:
        return await client.post("/api/v1/organisations", json=org, headers=owner.headers)

    async def page_directory() -> httpx.Response:
        return await browser.get("/bodies")

    async def page_dashboard() -> httpx.Response:
        return await browser.get(f"/organisations/{world.a.org_id}/home")

    async with through_proxy(os.environ["DATABASE_URL"], pool_size=2) as proxy:
        for call in (api_read, page_directory, page_dashboard):
            assert (await call()).status_code == 200
        caplog.clear()

        # Requests in flight when the database goes away (some inside their transaction):
        # each is a 201 or a 503, never a 500, and none leaves the pool short of a connection.
        in_flight = [asyncio.create_task(api_create()) for _ in range(12)]
        await asyncio.sleep(0.02)
        await proxy.cut()
        statuses = {r.status_code for r in await asyncio.gather(*in_flight)}
        assert statuses <= {201, 503}, statuses

        # Requests arriving while it is away.
        calls = [api_read, api_create, page_directory, page_dashboard] * 5
        answers = await asyncio.gather(*(call() for call in calls))
        for call, r in zip(calls, answers, strict=True):
            _assert_unavailable(r, page=call.__name__.startswith("page_"))
        assert (await client.get("/readyz")).status_code == 503
        # Logged once for the whole outage, not once per request; no "unhandled error" traces.
        started = [m for m in _outage_records(caplog) if m.startswith("database unreachable")]
        assert len(started) == 1, started
        assert not [r for r in caplog.records if r.name == "marketplace.errors"]

        await proxy.restore()
        # The same app and pool serve again as soon as the database answers.
        for call in (api_read, page_directory, page_dashboard):
            r = await asyncio.wait_for(call(), timeout=10)
            assert r.status_code == 200, (call.__name__, r.status_code, r.text[:300])
        assert (await asyncio.wait_for(api_create(), timeout=10)).status_code == 201
        await _wait_for_end(caplog)
        assert len(_outage_records(caplog)) == 2


async def _cut_inside_a_transaction(proxy: DbProxy) -> Exception:
    try:
        async with db.write_transaction():
            await db.ping()
            await proxy.cut()
            await db.ping()
    except Exception as exc:  # whatever the driver raises for a lost connection
        return exc
    raise AssertionError("a query after the cut succeeded")


@pytest.mark.usefixtures("database")
@pytest.mark.postgres_only
@pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL (set TEST_DATABASE_URL)")
async def test_a_transaction_cut_mid_way_gives_its_connection_back() -> None:
    """Piccolo's transaction skipped releasing its connection (and resetting the task's current
    transaction) when the rollback itself failed: three cuts mid-transaction emptied a pool of
    two for good, and the task kept using the dead connection."""
    async with through_proxy(os.environ["DATABASE_URL"], pool_size=2) as proxy:
        for _ in range(3):
            assert db.is_connection_failure(await _cut_inside_a_transaction(proxy))
            await proxy.restore()
            assert db.get_engine().current_transaction.get() is None
            await asyncio.wait_for(db.ping(), timeout=5)
            async with db.write_transaction():
                await asyncio.wait_for(db.ping(), timeout=5)


@pytest.mark.usefixtures("database")
async def test_an_unopenable_sqlite_file_is_503_and_a_bug_is_still_500(
    client: httpx.AsyncClient, world: World, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    owner = world.actor("a", "org:owner")
    gone = db.PooledSQLiteEngine(path=str(tmp_path / "missing-directory" / "db.sqlite3"))
    caplog.clear()
    with engine_in_use(gone):
        _assert_unavailable(await client.get("/api/v1/me", headers=owner.headers), page=False)
        _assert_unavailable(await client.get("/bodies"), page=True)
        assert len(_outage_records(caplog)) == 1
    assert (await client.get("/api/v1/me", headers=owner.headers)).status_code == 200
    await _wait_for_end(caplog)
    # A database that opens but lacks a table is a bug, not an outage: still the 500 it was.
    empty = db.PooledSQLiteEngine(path=str(tmp_path / "empty.sqlite3"))
    with engine_in_use(empty):
        r = await client.get("/api/v1/me", headers=owner.headers)
    assert r.status_code == 500
    assert r.json() == {"detail": "Something went wrong on our side."}
    assert not DATABASE_OUTAGE.active


@pytest.mark.usefixtures("database")
@pytest.mark.postgres_only
@pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL (set TEST_DATABASE_URL)")
async def test_a_served_process_answers_503_then_200_without_a_restart(tmp_path: Path) -> None:
    """A real `marketplace serve` process (its own pool) through the proxy."""
    log_path = tmp_path / "server.log"
    async with db_proxy(os.environ["DATABASE_URL"]) as proxy:
        server = live_server(
            env={"DATABASE_URL": proxy.url, "MARKETPLACE_INPROCESS_WORKER": "0"}, log_path=log_path
        )
        # Starting blocks until the server answers, and the server needs the proxy, which runs
        # on this loop: start it from a thread.
        url = await asyncio.to_thread(server.__enter__)
        try:
            async with httpx.AsyncClient(base_url=url, timeout=10) as http:
                assert (await http.get("/api/v1/bodies")).status_code == 200
                assert (await http.get("/bodies")).status_code == 200
                await proxy.cut()
                for _ in range(5):
                    _assert_unavailable(await http.get("/api/v1/bodies"), page=False)
                    _assert_unavailable(await http.get("/bodies"), page=True)
                await proxy.restore()
                assert (await http.get("/api/v1/bodies")).status_code == 200
                assert (await http.get("/bodies")).status_code == 200
                await asyncio.sleep(1.5)  # the outage watcher pings once a second
        finally:
            await asyncio.to_thread(server.__exit__, None, None, None)
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    outage = [line["message"] for line in lines if line.get("logger") == "marketplace.outage"]
    assert len(outage) == 2, outage
    assert outage[0].startswith("database unreachable (")
    assert outage[1].startswith("database reachable again after ")
    assert not [line for line in lines if line.get("level") == "error"]
