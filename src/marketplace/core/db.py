"""Database engine selection, pool lifecycle and write transactions that behave alike on both engines."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlparse

import aiosqlite
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType, dict_factory
from piccolo.table import Table


class PooledSQLiteEngine(SQLiteEngine):
    """Piccolo's SQLite engine, reusing idle connections for statements outside a transaction.

    Piccolo opens a new connection (and a thread) for every statement; a page that runs ten
    queries paid that ten times. Idle connections are kept per event loop, since aiosqlite
    connections belong to the loop that opened them. Transactions still get their own
    connection, so isolation is unchanged.
    """

    MAX_IDLE = 8

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._idle: dict[int, list[Any]] = {}

    async def _borrow(self) -> Any:
        idle = self._idle.setdefault(id(asyncio.get_running_loop()), [])
        if idle:
            return idle.pop()
        connection = await aiosqlite.connect(**self.connection_kwargs)
        connection.row_factory = dict_factory  # type: ignore[assignment]
        await connection.execute("PRAGMA foreign_keys = 1")
        return connection

    async def _give_back(self, connection: Any) -> None:
        idle = self._idle.setdefault(id(asyncio.get_running_loop()), [])
        if len(idle) < self.MAX_IDLE:
            idle.append(connection)
        else:
            await connection.close()

    async def close_idle(self) -> None:
        idle = self._idle.pop(id(asyncio.get_running_loop()), [])
        for connection in idle:
            await connection.close()

    async def _run_in_new_connection(
        self,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: Any = None,
    ) -> Any:
        connection = await self._borrow()
        try:
            async with connection.execute(query, args or []) as cursor:
                await connection.commit()
                rows = await cursor.fetchall()
        except BaseException:
            # A connection that failed mid-statement is not trusted again.
            await connection.close()
            raise
        await self._give_back(connection)
        return rows


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
        return PooledSQLiteEngine(path=path, timeout=30)
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
    elif isinstance(engine, PooledSQLiteEngine):
        await engine.close_idle()


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


async def lock_row(table: type[Table], row_id: Any) -> None:
    """Inside `write_transaction`: hold this row until commit, so concurrent changes to one object
    queue instead of interleaving their reads and writes.

    PostgreSQL: `SELECT ... FOR UPDATE`. SQLite needs nothing: its IMMEDIATE transaction already
    admits one writer at a time.
    """
    if is_postgres():
        name = table._meta.tablename
        await table.raw(f'SELECT 1 FROM "{name}" WHERE id = {{}} FOR UPDATE', row_id).run()  # noqa: S608


def as_uuid(value: Any) -> uuid.UUID:
    """A UUID from a raw query's row: asyncpg answers UUIDs, SQLite answers their text."""
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
