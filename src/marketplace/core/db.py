"""Database engine selection, pool lifecycle and write transactions that behave alike on both engines."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlparse

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType


def engine_for_url(url: str) -> Engine:  # type: ignore[type-arg]
    """Build the Piccolo engine for a DATABASE_URL (sqlite:///path or postgresql://...)."""
    parsed = urlparse(url)
    if parsed.scheme in {"postgres", "postgresql"}:
        return PostgresEngine(config={"dsn": url.replace("postgres://", "postgresql://", 1)})
    if parsed.scheme == "sqlite":
        # sqlite:///relative/or/absolute -> everything after "sqlite://" minus one slash
        path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else parsed.path
        if not path.startswith("/") and url.startswith("sqlite:////"):
            path = "/" + path
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        # A generous busy timeout: concurrent writers wait for the lock instead of failing.
        return SQLiteEngine(path=path, timeout=30)
    raise ValueError(f"DATABASE_URL must start with sqlite:/// or postgresql://, got {url!r}")


def get_engine() -> Engine:  # type: ignore[type-arg]
    from piccolo.engine.finder import engine_finder

    engine = engine_finder()
    if engine is None:
        raise RuntimeError("no Piccolo engine configured")
    return engine


def is_postgres() -> bool:
    return isinstance(get_engine(), PostgresEngine)


async def open_pool(max_size: int = 10) -> None:
    engine = get_engine()
    if isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(max_size=max_size)
    else:
        await _prepare_sqlite(engine)


async def close_pool() -> None:
    engine = get_engine()
    if isinstance(engine, PostgresEngine):
        await engine.close_connection_pool()


async def _prepare_sqlite(engine: Any) -> None:
    # WAL lets readers proceed while one writer holds the lock; it persists in the file.
    await engine._run_in_new_connection("PRAGMA journal_mode=WAL")


@asynccontextmanager
async def write_transaction() -> AsyncIterator[None]:
    """A transaction for read-then-write work.

    On SQLite it starts IMMEDIATE so the write lock is taken before the reads: two requests can
    then never both read "free" and both insert. On PostgreSQL the usual transaction is used and
    constraints (unique, exclusion) are the last word.
    """
    engine = get_engine()
    if isinstance(engine, SQLiteEngine):
        async with engine.transaction(transaction_type=TransactionType.immediate):
            yield
    else:
        async with engine.transaction():
            yield
