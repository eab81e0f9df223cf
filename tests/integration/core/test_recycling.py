"""Server processes replaced after a number of requests (MARKETPLACE_MAX_REQUESTS), or all at once on
SIGHUP, by gunicorn, with no request lost."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from marketplace.settings import ServerSettings
from tests.live_server import live_server


def _lines(log: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


def _answered_by(log: Path, prefix: str) -> dict[str, int]:
    """Request id -> the server process whose access log answered it."""
    return {
        str(line["request_id"]): int(str(line["process"]))
        for line in _lines(log)
        if line.get("logger") == "marketplace.access"
        and str(line.get("request_id", "")).startswith(prefix)
    }


def _ask(url: str, log: Path, prefix: str, keep_alive: bool, lives: int, at_least: int) -> int:
    """Ask /readyz, `at_least` times and until `lives` processes have answered (or two minutes
    pass), at a steady pace, as a stream of visitors would; every answer must be a 200.

    A new connection per request (while a process retires and its replacement boots, a
    connection must wait, not be refused), or one kept alive (the retiring process must hand it
    over cleanly, not close it under the next request)."""
    sent = 0
    limits = httpx.Limits(max_keepalive_connections=1 if keep_alive else 0)
    deadline = time.monotonic() + 120
    with httpx.Client(base_url=url, timeout=30, limits=limits) as client:
        while sent < at_least or (
            len(set(_answered_by(log, prefix).values())) < lives and time.monotonic() < deadline
        ):
            r = client.get("/readyz", headers={"X-Request-ID": f"{prefix}{sent}"})
            assert r.status_code == 200
            sent += 1
            time.sleep(0.02)
    return sent


@pytest.mark.parametrize("keep_alive", [False, True], ids=["new-connections", "keep-alive"])
async def test_a_process_is_replaced_after_its_request_limit_and_no_request_fails(
    tmp_path: Path, keep_alive: bool, database: None
) -> None:
    log = tmp_path / "serve.log"
    args = ("--max-requests", "20", "--max-requests-jitter", "0")
    with live_server(args=args, log_path=log) as url:
        sent = await asyncio.to_thread(_ask, url, log, "recycle-", keep_alive, 4, 0)
    answered = _answered_by(log, "recycle-")
    # Every request was answered, by four processes in turn (uvicorn looks at its count every
    # tenth of a second, so a process may answer a few past its 20).
    assert len(answered) == sent
    assert len(set(answered.values())) >= 4
    lines = _lines(log)
    assert sum("Maximum request limit of 20" in str(line["message"]) for line in lines) >= 3
    # Every process logs JSON (the access log with its request ids), and one access log, ours.
    assert not any(line["logger"] == "uvicorn.access" for line in lines)


async def test_a_process_at_its_limit_asks_keep_alive_clients_to_reconnect(
    tmp_path: Path, database: None
) -> None:
    # From its last request on, a retiring process's answers say `Connection: close`, so a
    # client's next request goes to a new connection instead of racing the idle one's close.
    args = ("--max-requests", "5", "--max-requests-jitter", "0")
    with live_server(args=args) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            answers = [await client.get("/readyz") for _ in range(8)]
    assert [a.status_code for a in answers] == [200] * 8
    assert "close" in [a.headers.get("connection", "") for a in answers]


async def test_without_a_limit_one_process_serves_everything(
    tmp_path: Path, database: None
) -> None:
    log = tmp_path / "serve.log"
    with live_server(env={"MARKETPLACE_MAX_REQUESTS": "0"}, log_path=log) as url:
        await asyncio.to_thread(_ask, url, log, "steady-", False, 1, 60)
    assert len(set(_answered_by(log, "steady-").values())) == 1


@pytest.mark.parametrize(
    ("env", "limit", "jitter"),
    [
        ({}, 0, 0),
        ({"MARKETPLACE_MAX_REQUESTS": "25000"}, 25000, 2500),
        ({"MARKETPLACE_MAX_REQUESTS": "25000", "MARKETPLACE_MAX_REQUESTS_JITTER": "0"}, 25000, 0),
    ],
)
def test_limit_and_jitter_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], limit: int, jitter: int
) -> None:
    for name in ("MARKETPLACE_MAX_REQUESTS", "MARKETPLACE_MAX_REQUESTS_JITTER"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = ServerSettings()
    assert settings.max_requests == limit
    assert settings.jitter_for(settings.max_requests) == jitter


def test_a_limit_given_on_the_command_line_gets_a_tenth_as_jitter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `serve --max-requests 8000` with no jitter set anywhere: processes still spread out.
    monkeypatch.delenv("MARKETPLACE_MAX_REQUESTS_JITTER", raising=False)
    assert ServerSettings().jitter_for(8000) == 800
    monkeypatch.setenv("MARKETPLACE_MAX_REQUESTS_JITTER", "5")
    assert ServerSettings().jitter_for(8000) == 5


@pytest.mark.parametrize(
    "args", [("--max-requests", "-1"), ("--max-requests-jitter", "-5"), ("--workers", "0")]
)
def test_negative_limits_are_refused_in_one_line(args: tuple[str, ...]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "marketplace.cli", "serve", "--port", "1", *args],
        env=os.environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "at least" in done.stderr


def _master(log: Path) -> int:
    found = re.search(r'"Listening at: \S+ \((\d+)\)"', log.read_text())
    assert found, "gunicorn's start line is missing"
    return int(found.group(1))


async def test_sighup_replaces_every_process_with_no_request_lost(
    tmp_path: Path, database: None
) -> None:
    # A code release without downtime: `kill -HUP` on serve starts fresh processes (which import
    # the code anew) and retires the old ones gracefully.
    log = tmp_path / "serve.log"
    with live_server(workers=2, log_path=log) as url:
        await asyncio.to_thread(_ask, url, log, "before-", False, 1, 10)
        before = set(_answered_by(log, "before-").values())
        os.kill(_master(log), signal.SIGHUP)
        sent = 0
        # Ask until only new processes answer; every request meanwhile must be answered.
        for _ in range(30):
            sent = await asyncio.to_thread(_ask, url, log, f"during-{sent}-", False, 1, 10)
            during = _answered_by(log, f"during-{sent}-")
            if during and not set(during.values()) & before:
                break
        else:
            raise AssertionError("the old processes still answer")
    assert len(before) <= 2
    assert "Handling signal: hup" in log.read_text()
