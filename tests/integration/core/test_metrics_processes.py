"""One scrape of /metrics sums every server process (prometheus_client's multiprocess mode)."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import httpx

from tests.live_server import live_server

ROUTE = "/readyz"


def _total(text: str, route: str, status: int = 200) -> float:
    match = re.search(
        rf'^marketplace_http_requests_total\{{method="GET",route="{re.escape(route)}",'
        rf'status="{status}"\}} ([\d.e+]+)$',
        text,
        re.M,
    )
    return float(match.group(1)) if match else 0.0


def _processes(log: Path, prefix: str) -> set[int]:
    """The server processes whose access log answered a request of ours."""
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return {
        line["process"]
        for line in lines
        if line.get("logger") == "marketplace.access"
        and str(line.get("request_id", "")).startswith(prefix)
    }


async def _until_both_answer(url: str, log: Path) -> int:
    """Parallel requests on fresh connections, in rounds, until two processes have answered
    some; how many were sent in all (every one must succeed)."""
    sent = 0
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        for _ in range(20):
            answers = await asyncio.gather(
                *(client.get(ROUTE, headers={"X-Request-ID": f"sum-{sent + i}"}) for i in range(10))
            )
            assert [a.status_code for a in answers] == [200] * 10
            sent += len(answers)
            if len(_processes(log, "sum-")) >= 2:
                return sent
    raise AssertionError("one process answered everything")


async def test_a_scrape_sums_the_requests_of_both_processes(tmp_path: Path, database: None) -> None:
    log = tmp_path / "serve.log"
    with live_server(workers=2, log_path=log) as url:
        sent = await _until_both_answer(url, log)
        scrapes = []
        async with httpx.AsyncClient(
            base_url=url, limits=httpx.Limits(max_keepalive_connections=0)
        ) as c:
            for _ in range(6):  # each scrape may land on either process: all say the same
                scrapes.append((await c.get("/metrics")).text)
    assert len(_processes(log, "sum-")) == 2
    assert {_total(text, ROUTE) for text in scrapes} == {float(sent)}
    # The outbox's figures (from the database) come along in the same scrape.
    assert all("marketplace_outbox_messages" in text for text in scrapes)
