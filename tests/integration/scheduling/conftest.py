"""Scheduling tests: skip PostgreSQL-only tests on SQLite; a fixed clock before the 2027 DST changes."""

from __future__ import annotations

import os

import pytest

from marketplace.core import clock
from tests.factories.scheduling import TODAY


def on_postgres() -> bool:
    return (os.environ.get("TEST_DATABASE_URL") or "").startswith("postgres")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    skip = pytest.mark.skip(reason="needs PostgreSQL (set TEST_DATABASE_URL)")
    for item in items:
        if item.get_closest_marker("postgres_only") and not on_postgres():
            item.add_marker(skip)


@pytest.fixture
def frozen_clock() -> None:
    clock.travel_to(TODAY)
