"""A TCP proxy in front of the test database that a test can cut and restore: a database outage
without touching the shared server (which other people use at the same time)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlparse, urlunparse

from piccolo.table import TABLE_REGISTRY

import marketplace.piccolo_conf
from marketplace.core.db import engine_for_url
from tests.live_server import free_port


class DbProxy:
    """Forwards 127.0.0.1:<port> to the database's host:port.

    `cut()` is what a stopped server looks like to its clients: every open connection is closed
    at once (queries in flight fail) and new ones are refused (nothing listens on the port).
    `restore()` listens again on the same port; nothing else changes.
    """

    def __init__(self, upstream_url: str) -> None:
        parsed = urlparse(upstream_url)
        self.upstream_host = parsed.hostname or "127.0.0.1"
        self.upstream_port = parsed.port or 5432
        self.port = free_port()
        auth = parsed.netloc.rsplit("@", 1)[0] + "@" if "@" in parsed.netloc else ""
        self.url = urlunparse(parsed._replace(netloc=f"{auth}127.0.0.1:{self.port}"))
        self.connections = 0  # accepted so far
        self._generation = 0  # cuts so far
        self._server: asyncio.Server | None = None
        self._live: set[asyncio.StreamWriter] = set()
        self._pumps: set[asyncio.Task[None]] = set()

    @property
    def up(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, "127.0.0.1", self.port, reuse_address=True
        )

    async def cut(self) -> None:
        self._generation += 1
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._live):
            writer.transport.abort()
        self._live.clear()
        for pump in list(self._pumps):
            pump.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)
        if server is not None:
            await server.wait_closed()

    async def restore(self) -> None:
        await self.start()

    async def close(self) -> None:
        await self.cut()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        generation = self._generation
        self._live.add(writer)
        try:
            up_reader, up_writer = await asyncio.open_connection(
                self.upstream_host, self.upstream_port
            )
        except OSError:
            writer.transport.abort()
            return
        if generation != self._generation:  # cut while this one was being connected
            writer.transport.abort()
            up_writer.transport.abort()
            return
        self._live.add(up_writer)
        pumps = [
            asyncio.create_task(self._pump(reader, up_writer)),
            asyncio.create_task(self._pump(up_reader, writer)),
        ]
        self._pumps.update(pumps)
        for pump in pumps:
            pump.add_done_callback(self._pumps.discard)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            # One side ended: end the other, as a real server's socket would.
            writer.transport.abort()
            self._live.discard(writer)


@contextlib.asynccontextmanager
async def db_proxy(upstream_url: str) -> AsyncIterator[DbProxy]:
    proxy = DbProxy(upstream_url)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.close()


@contextlib.contextmanager
def engine_in_use(engine: Any) -> Iterator[None]:
    """Every table (and `core.db.get_engine()`) on `engine` for the block: the code under test, in
    this process, then reaches the database only through it."""
    before = marketplace.piccolo_conf.DB
    tables = {table: table._meta.db for table in TABLE_REGISTRY}
    marketplace.piccolo_conf.DB = engine
    for table in tables:
        table._meta.db = engine
    try:
        yield
    finally:
        marketplace.piccolo_conf.DB = before
        for table, db in tables.items():
            table._meta.db = db


@contextlib.asynccontextmanager
async def through_proxy(upstream_url: str, pool_size: int = 4) -> AsyncIterator[DbProxy]:
    """A proxy in front of the test database, and this process's tables on a pool through it."""
    async with db_proxy(upstream_url) as proxy:
        # Piccolo's engine asks the server's version on construction, with a loop of its own.
        engine = await asyncio.to_thread(engine_for_url, proxy.url)
        await engine.start_connection_pool(min_size=1, max_size=pool_size)
        try:
            with engine_in_use(engine):
                yield proxy
        finally:
            if not proxy.up:
                await proxy.restore()
            await engine.close_connection_pool()
