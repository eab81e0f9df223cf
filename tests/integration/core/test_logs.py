"""Logs through structlog: one JSON object per line, the request id on each line of a request,
the traceback of an unhandled error included; readable lines when asked for."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import httpx
import pytest
from litestar import get

from marketplace.app import create_app
from marketplace.core import logs
from marketplace.settings import Settings


@get("/test-only/boom", sync_to_thread=False)
def boom() -> None:
    raise RuntimeError("the kettle boiled dry")


@pytest.fixture
def written() -> Iterator[io.StringIO]:
    """What the production formatter writes for marketplace's loggers while the test runs
    (formatted as each line is logged, inside the request, as the server's handler does)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("marketplace")
    logger.addHandler(handler)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)


async def test_an_unhandled_error_logs_its_traceback_with_the_request_id(
    settings: Settings, database: None, written: io.StringIO
) -> None:
    app = create_app(settings, manage_pool=False)
    app.register(boom)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        answer = await client.get("/test-only/boom", headers={"X-Request-ID": "fail-42"})
    assert answer.status_code == 500
    assert answer.headers["x-request-id"] == "fail-42"
    lines = [json.loads(line) for line in written.getvalue().splitlines()]
    [error] = [line for line in lines if line["logger"] == "marketplace.errors"]
    assert error["request_id"] == answer.headers["x-request-id"]
    assert error["level"] == "error"
    assert error["message"] == "unhandled error on GET /test-only/boom"
    assert "Traceback" in error["exception"]
    assert "RuntimeError: the kettle boiled dry" in error["exception"]
    [access] = [line for line in lines if line["logger"] == "marketplace.access"]
    assert access["request_id"] == "fail-42"
    assert access["status"] == 500


async def test_a_generated_request_id_is_on_the_lines_and_the_answer(
    client: httpx.AsyncClient, written: io.StringIO
) -> None:
    answer = await client.get("/api/v1/standards")
    [access] = [
        json.loads(line)
        for line in written.getvalue().splitlines()
        if '"marketplace.access"' in line
    ]
    assert access["request_id"] == answer.headers["x-request-id"]
    assert set(access) >= {"time", "level", "logger", "message", "process", "duration_ms"}


def test_console_lines_read_as_text(capsys: pytest.CaptureFixture[str]) -> None:
    record = logging.LogRecord(
        "marketplace.access", logging.INFO, __file__, 1, "GET / 200", None, None
    )
    record.fields = {"request_id": "abc", "status": 200}
    line = logs.formatter("console").format(record)
    assert "GET / 200" in line
    assert "request_id=abc" in line
    assert not line.startswith("{")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "json"),
        ({"MARKETPLACE_DEBUG": "true"}, "console"),
        ({"MARKETPLACE_LOG_FORMAT": "json", "MARKETPLACE_DEBUG": "true"}, "json"),
        ({"MARKETPLACE_LOG_FORMAT": "Console"}, "console"),
    ],
)
def test_the_format_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    for name in ("MARKETPLACE_LOG_FORMAT", "MARKETPLACE_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert logs.log_format() == expected


def test_an_unknown_format_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARKETPLACE_LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="MARKETPLACE_LOG_FORMAT"):
        logs.log_format()
