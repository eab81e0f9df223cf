"""Counting the SQL statements a directory request runs (search must stay a few queries)."""

from __future__ import annotations

import pytest

from marketplace.core.db import get_engine


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
