"""Which exceptions mean "the database is out of reach" (503) and which stay a bug (500)."""

from __future__ import annotations

import sqlite3

import asyncpg
import pytest
from tests.live_server import free_port

from marketplace.core.db import is_connection_failure


async def test_a_refused_postgresql_connection_is_a_connection_failure() -> None:
    with pytest.raises(ConnectionRefusedError) as caught:
        await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{free_port()}/x", timeout=5)
    assert is_connection_failure(caught.value)


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.AdminShutdownError(
            "terminating connection due to administrator command"
        ),
        asyncpg.exceptions.ConnectionDoesNotExistError(
            "connection was closed in the middle of operation"
        ),
        asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.exceptions.InterfaceError("connection is closed"),
        sqlite3.OperationalError("unable to open database file"),
        sqlite3.OperationalError("disk I/O error"),
    ],
    ids=type,
)
def test_unreachable(exc: BaseException) -> None:
    assert is_connection_failure(exc)


def _raised_here(exc: BaseException) -> BaseException:
    try:
        raise exc
    except BaseException as caught:
        return caught


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.exceptions.UniqueViolationError("duplicate key value"),
        asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"),
        asyncpg.exceptions.InterfaceError(
            "cannot perform operation: another operation is in progress"
        ),
        sqlite3.IntegrityError("UNIQUE constraint failed: user.email"),
        sqlite3.OperationalError("no such table: user"),
        # Raised by our own code (a file, another service), not by the database driver.
        _raised_here(ConnectionRefusedError(111, "Connection refused")),
        _raised_here(FileNotFoundError(2, "No such file or directory")),
        ValueError("a bug"),
    ],
    ids=lambda e: f"{type(e).__name__}: {e}",
)
def test_not_an_outage(exc: BaseException) -> None:
    assert not is_connection_failure(exc)
