"""Database engine selection, pool lifecycle and write transactions that behave alike on both engines."""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlparse

import aiosqlite
import asyncpg
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction
from piccolo.engine.sqlite import SQLiteEngine, TransactionType, dict_factory
from piccolo.querystring import QueryString
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


class _ResilientPostgresTransaction(PostgresTransaction):
    """Piccolo's transaction, giving its connection back to the pool even when the database is gone.

    Piccolo's own `__aexit__` rolls back, then releases the connection and resets the "current
    transaction" context variable. When the server went away mid-transaction the rollback raises,
    so neither happens: the pool lost a connection for good (ten such failures and every request
    waits forever for one), and a long-lived task such as the worker kept running every later
    query on the dead connection of a transaction that no longer exists.
    """

    async def __aenter__(self) -> PostgresTransaction:
        if self._parent is not None:
            return self._parent
        self.connection = await self.get_connection()  # type: ignore[no-untyped-call]
        self.transaction = self.connection.transaction()
        try:
            await self.begin()  # type: ignore[no-untyped-call]
        except BaseException:
            await self._give_back()
            raise
        self.context = self.engine.current_transaction.set(self)
        return self

    async def __aexit__(self, exception_type: Any, exception: Any, traceback: Any) -> bool:
        if self._parent:
            return exception is None
        try:
            if exception:
                if not self._rolled_back:
                    await self.rollback()  # type: ignore[no-untyped-call]
            elif not self._committed and not self._rolled_back:
                await self.commit()  # type: ignore[no-untyped-call]
        finally:
            self.engine.current_transaction.reset(self.context)
            await self._give_back()
        return exception is None

    async def _give_back(self) -> None:
        if self.engine.pool:
            # asyncpg's pool replaces a closed connection with a new one on the next acquire.
            await self.engine.pool.release(self.connection)
        else:
            try:
                await self.connection.close()
            except Exception:  # already broken: drop it without the goodbye
                self.connection.terminate()


class ResilientPostgresEngine(PostgresEngine):
    """Piccolo's PostgreSQL engine whose transactions survive the server going away (see above)."""

    def transaction(self, allow_nested: bool = True) -> PostgresTransaction:
        return _ResilientPostgresTransaction(engine=self, allow_nested=allow_nested)


def engine_for_url(url: str) -> Engine:  # type: ignore[type-arg]
    """Build the Piccolo engine for a DATABASE_URL (sqlite:///path or postgresql://...)."""
    parsed = urlparse(url)
    if parsed.scheme in {"postgres", "postgresql"}:
        return ResilientPostgresEngine(
            config={"dsn": url.replace("postgres://", "postgresql://", 1)}
        )
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


# Failures that mean "the database cannot be reached", as opposed to a query it refused.
_UNREACHABLE_PG = (
    asyncpg.exceptions.PostgresConnectionError,  # SQLSTATE class 08, and a connection lost mid-query
    asyncpg.exceptions.CannotConnectNowError,  # 57P03: starting up or shutting down
    asyncpg.exceptions.AdminShutdownError,  # 57P01: the server was stopped
    asyncpg.exceptions.CrashShutdownError,  # 57P02
    asyncpg.exceptions.TooManyConnectionsError,  # 53300
)
# The messages of SQLite's OperationalError that say the file itself is out of reach; the rest
# ("no such table", syntax errors ...) are bugs and stay a 500.
_UNREACHABLE_SQLITE = ("unable to open database file", "disk i/o error")
# Our driver modules: an OSError raised inside them is the database's socket, not a file of ours.
_DRIVER_MODULES = ("asyncpg", "piccolo", "aiosqlite", "sqlite3", "marketplace.core.db")

#: Exception types that may be a connection failure; `is_connection_failure` decides each case.
CONNECTION_FAILURE_TYPES: tuple[type[BaseException], ...] = (
    OSError,
    sqlite3.OperationalError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
)


def is_connection_failure(exc: BaseException) -> bool:
    """True when `exc` means the database is out of reach (refused, reset, stopped, lost), not a
    statement it rejected: constraint violations and bugs are never a connection failure."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _unreachable(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def _unreachable(exc: BaseException) -> bool:
    if isinstance(exc, _UNREACHABLE_PG):
        return True
    if isinstance(exc, asyncpg.exceptions.InterfaceError):
        # asyncpg's client-side errors: only those about a closed connection or pool.
        return "closed" in str(exc).lower()
    if isinstance(exc, sqlite3.OperationalError):
        return str(exc).lower().startswith(_UNREACHABLE_SQLITE)
    if isinstance(exc, ConnectionError | TimeoutError | socket.gaierror):
        return _raised_in_driver(exc)
    return False


def _raised_in_driver(exc: BaseException) -> bool:
    tb = exc.__traceback__
    while tb is not None:
        module = str(tb.tb_frame.f_globals.get("__name__", ""))
        if module.startswith(_DRIVER_MODULES):
            return True
        tb = tb.tb_next
    return False


async def ping() -> None:
    """One trivial query through the engine (and its pool): raises while the database is away."""
    await get_engine().run_querystring(QueryString("SELECT 1"))


async def wait_until_reachable(interval: float = 1.0) -> None:
    """Return once the database answers again, trying every `interval` seconds."""
    while True:
        try:
            await ping()
        except Exception as exc:
            if not is_connection_failure(exc):
                raise
            await asyncio.sleep(interval)
        else:
            return
