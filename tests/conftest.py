"""Test harness: one database per run (SQLite by default, PostgreSQL when TEST_DATABASE_URL is set), emptied between tests."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator

_TMP = tempfile.mkdtemp(prefix="marketplace-tests-")
os.environ["PICCOLO_CONF"] = "marketplace.piccolo_conf"
os.environ["MARKETPLACE_VAR_DIR"] = _TMP
os.environ["MARKETPLACE_SECRET_KEY"] = "test-secret-key-that-is-long-enough-0123456789"
os.environ["MARKETPLACE_BASE_URL"] = "http://testserver"
# Tests write rows straight into tables (bypassing the services that tell the directory's caches),
# so every search reads live; test_search_cache turns the cache on to test it.
os.environ["MARKETPLACE_DIRECTORY_CACHE_SECONDS"] = "0"
os.environ["DATABASE_URL"] = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{_TMP}/test.sqlite3"
for _name in ("STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET", "SMTP_URL"):
    os.environ.pop(_name, None)

import httpx  # noqa: E402
import pytest  # noqa: E402
from litestar import Litestar  # noqa: E402

from marketplace.app import create_app  # noqa: E402
from marketplace.core import clock, db  # noqa: E402
from marketplace.settings import Settings  # noqa: E402
from tests.factories import World, build_world, reset_database, setup_database  # noqa: E402

pytest_plugins: list[str] = []


def pytest_report_header() -> str:
    url = os.environ["DATABASE_URL"]
    return f"database: {'PostgreSQL' if url.startswith('postgres') else 'SQLite'} ({url.split('@')[-1]})"


@pytest.fixture(scope="session")
async def database() -> AsyncIterator[None]:
    await setup_database()
    await db.open_pool(max_size=20)
    yield
    await db.close_pool()


@pytest.fixture(autouse=True)
async def _clean(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    # Pure unit tests need no database; everything else starts from empty tenant data.
    if "database" in request.fixturenames or request.node.get_closest_marker("db"):
        await reset_database()
    clock.reset()
    yield
    clock.reset()


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings.from_env()


@pytest.fixture(scope="session")
def app(settings: Settings, database: None) -> Litestar:
    # The pool belongs to the test session's event loop, so the app must not open its own.
    return create_app(settings, manage_pool=False)


@pytest.fixture
async def client(app: Litestar, database: None) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def world(database: None) -> World:
    """Two complete tenants (a and b): a client organisation and a certification body each,
    with one user per role and an API token for every user."""
    return await build_world()
