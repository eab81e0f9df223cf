"""Server processes replaced after a number of requests (MARKETPLACE_MAX_REQUESTS), with no request lost."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from marketplace.core.supervisor import RETIRING
from marketplace.settings import ServerSettings
from tests.live_server import live_server


def _start_time(metrics: str) -> float:
    m = re.search(r"^process_start_time_seconds ([\d.]+)$", metrics, re.M)
    assert m, "process_start_time_seconds missing from /metrics"
    return float(m.group(1))


def _start_times(
    url: str, keep_alive: bool = False, lives: int = 1, at_least: int = 0
) -> list[float]:
    """Ask /metrics which process answers, `at_least` times and until `lives` processes have
    answered (or a minute passes), at a steady pace, as a stream of visitors would.

    A new connection per request (while a process retires and its replacement boots, a
    connection must wait, not be refused), or one kept alive (the retiring process must hand it
    over cleanly, not close it under the next request)."""
    times: list[float] = []
    limits = httpx.Limits(max_keepalive_connections=1 if keep_alive else 0)
    deadline = time.monotonic() + 60
    with httpx.Client(base_url=url, timeout=30, limits=limits) as client:
        while len(times) < at_least or (len(set(times)) < lives and time.monotonic() < deadline):
            r = client.get("/metrics")
            assert r.status_code == 200
            times.append(_start_time(r.text))
            if len(times) % 10 == 1:  # a request the access log records (it skips /metrics)
                r = client.get("/readyz", headers={"X-Request-ID": f"recycle-{len(times)}"})
                assert r.status_code == 200
            time.sleep(0.02)
    return times


@pytest.mark.parametrize("keep_alive", [False, True], ids=["new-connections", "keep-alive"])
async def test_a_process_is_replaced_after_its_request_limit_and_no_request_fails(
    tmp_path: Path, keep_alive: bool
) -> None:
    log = tmp_path / "serve.log"
    args = ("--max-requests", "20", "--max-requests-jitter", "0")
    with live_server(args=args, log_path=log) as url:
        times = await asyncio.to_thread(_start_times, url, keep_alive, lives=4)
    served = Counter(times)
    # Four processes answered in turn (so the first two replacements are logged by then); a
    # process keeps serving past its 20 until its replacement is ready, so each retired one
    # answered at least its 20.
    assert len(served) >= 4
    first, second = sorted(served)[:2]
    assert served[first] >= 17  # 20 requests, /readyz and the start-up probe among them
    assert served[second] >= 17
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    assert sum("asking to be replaced" in line["message"] for line in lines) >= 2
    assert (
        sum(
            re.match(r"process \d+ ready; retiring \d+", line["message"]) is not None
            for line in lines
        )
        >= 2
    )
    # Every process logs JSON (the access log with its request ids), not just the first one.
    logged = {line.get("request_id") for line in lines if line["logger"] == "marketplace.access"}
    assert {f"recycle-{n}" for n in range(1, len(times) + 1, 10)} <= logged
    assert not any(line["logger"] == "uvicorn.access" for line in lines), "one access log, ours"


async def test_without_a_limit_one_process_serves_everything() -> None:
    with live_server(env={"MARKETPLACE_MAX_REQUESTS": "0"}) as url:
        times = await asyncio.to_thread(_start_times, url, False, 1, 60)
    assert len(set(times)) == 1


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


async def test_a_retiring_process_asks_keep_alive_clients_to_reconnect(
    client: httpx.AsyncClient,
) -> None:
    # While a process drains (request limit reached, or SIGTERM) its answers say
    # `Connection: close`, so a client's next request goes to a new connection (another process)
    # instead of racing the idle connection's close.
    assert "close" not in (await client.get("/readyz")).headers.get("connection", "")
    RETIRING.set()
    try:
        answer = await client.get("/readyz")
    finally:
        RETIRING.clear()
    assert answer.status_code == 200
    assert answer.headers["connection"] == "close"


def _until_replaced(url: str, log: Path, processes: int) -> list[float]:
    """Keep asking which process answers (each must answer) until `processes` replacements are
    logged, then a little longer; the start times seen, in order."""
    times: list[float] = []
    done_at = None
    deadline = time.monotonic() + 90
    with httpx.Client(
        base_url=url, timeout=30, limits=httpx.Limits(max_keepalive_connections=0)
    ) as client:
        while time.monotonic() < deadline:
            r = client.get("/metrics")
            assert r.status_code == 200
            times.append(_start_time(r.text))
            if done_at is None and log.read_text().count("ready; retiring") >= processes:
                done_at = time.monotonic()
            if done_at is not None and time.monotonic() - done_at > 2:
                return times
            time.sleep(0.02)
    raise AssertionError("the processes were not replaced within 90 s")


async def test_sighup_replaces_every_process_with_no_request_lost(tmp_path: Path) -> None:
    # A code release without downtime: `kill -HUP` on serve starts fresh processes (which import
    # the code anew) and retires the old ones once the new ones answer.
    log = tmp_path / "serve.log"
    with live_server(workers=2, log_path=log) as url:
        before = await asyncio.to_thread(_start_times, url, False, 1, 10)
        parent = re.search(r"supervisor (\d+):", log.read_text())
        assert parent
        os.kill(int(parent.group(1)), signal.SIGHUP)
        during = await asyncio.to_thread(_until_replaced, url, log, 2)
    assert len(set(before)) <= 2
    # Every request through the replacement was answered; by the end only new processes answer.
    assert during[-1] > max(before)
    assert all(t > max(before) for t in during[-10:])
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    retired = [
        m
        for line in lines
        if (m := re.match(r"process \d+ ready; retiring (\d+)", line["message"]))
    ]
    assert len(retired) == 2
    assert len({m.group(1) for m in retired}) == 2, "each old process retired once"
