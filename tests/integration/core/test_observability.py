"""Every response carries a request id, the access log is JSON, and /metrics counts the traffic."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import httpx
import pytest

from marketplace.core.logs import JsonFormatter
from tests.live_server import live_server


async def test_request_id_is_generated_or_kept(client: httpx.AsyncClient) -> None:
    generated = await client.get("/readyz")
    assert len(generated.headers["x-request-id"]) == 32
    kept = await client.get("/readyz", headers={"X-Request-ID": "trace-123"})
    assert kept.headers["x-request-id"] == "trace-123"
    unsafe = await client.get("/readyz", headers={"X-Request-ID": "bad id\nwith newline"})
    assert unsafe.headers["x-request-id"] != "bad id\nwith newline"


async def test_access_log_is_one_json_object_per_request(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="marketplace.access"):
        await client.get("/api/v1/standards", headers={"X-Request-ID": "abc"})
    record = next(r for r in caplog.records if r.name == "marketplace.access")
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "abc"
    assert line["status"] == 200
    assert line["path"] == "/api/v1/standards"
    assert line["duration_ms"] >= 0


async def test_metrics_fold_ids_and_count_requests(client: httpx.AsyncClient) -> None:
    await client.get("/api/v1/organisations/6f1d2c3e-1111-4222-8333-944455556666")
    text = (await client.get("/metrics")).text
    assert re.search(r'route="/api/v1/organisations/\{[a-z_]+(:uuid)?\}",status="401"', text)
    assert "marketplace_http_request_duration_seconds_bucket" in text
    assert re.search(r"^process_resident_memory_bytes [0-9.e+]+$", text, re.M)


def _series(text: str) -> set[str]:
    return {line.rsplit(" ", 1)[0] for line in text.splitlines() if not line.startswith("#")}


async def test_metrics_stay_bounded_whatever_paths_arrive(client: httpx.AsyncClient) -> None:
    # Labels by route template: a crawl of slugs, calendar tokens and unknown URLs must not add
    # a series per path (each one would be kept in memory for the life of the process).
    async def crawl(n: int) -> None:
        for i in range(n):
            await client.get(f"/bodies/crawl-{n}-{i}")
            await client.get(f"/calendar/secret-token-{n}-{i}.ics")
            await client.get(f"/no/such/page/{n}/{i}")

    await crawl(5)
    before = _series((await client.get("/metrics")).text)
    await crawl(50)
    after = _series((await client.get("/metrics")).text)
    assert after == before
    assert not any("crawl-" in s or "secret-token" in s for s in after)


def test_a_served_process_logs_json_lines_with_the_request_id(tmp_path: Path) -> None:
    # The real `marketplace serve`, not the test app: Litestar's default logging config used to
    # replace the JSON handler with plain text once the app was built.
    log = tmp_path / "serve.log"
    with live_server(log_path=log) as url:
        answer = httpx.get(f"{url}/api/v1/standards", headers={"X-Request-ID": "json-check-1"})
        assert answer.status_code == 200
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    [access] = [line for line in lines if line.get("request_id") == "json-check-1"]
    assert access["logger"] == "marketplace.access"
    assert access["path"] == "/api/v1/standards"
    assert access["status"] == 200
    assert any("Application startup complete" in line["message"] for line in lines)


def _count(text: str, method: str, route: str, status: int) -> int:
    match = re.search(
        rf'^marketplace_http_requests_total\{{method="{method}",route="{re.escape(route)}",'
        rf'status="{status}"\}} ([\d.]+)$',
        text,
        re.M,
    )
    return int(float(match.group(1))) if match else 0


async def test_refused_csrf_is_logged_and_counted_as_the_403_the_client_got(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    # The CSRF check runs in a middleware before any handler; its refusal used to be recorded
    # as a 500, so anyone could inflate the server-error rate with bad form posts.
    before = (await client.get("/metrics")).text
    await client.get("/login")  # a CSRF cookie, but the posts below carry no or a bad token
    with caplog.at_level(logging.INFO, logger="marketplace.access"):
        missing = await client.post("/login", data={"email": "x@example.test", "password": "p"})
        bad = await client.post(
            "/login", data={"email": "x@example.test", "password": "p", "_csrf_token": "forged"}
        )
    assert missing.status_code == bad.status_code == 403
    logged = [
        json.loads(JsonFormatter().format(r))
        for r in caplog.records
        if r.name == "marketplace.access"
    ]
    assert [line["status"] for line in logged if line["method"] == "POST"] == [403, 403]
    after = (await client.get("/metrics")).text
    assert _count(after, "POST", "/login", 403) - _count(before, "POST", "/login", 403) == 2
    assert _count(after, "POST", "/login", 500) == _count(before, "POST", "/login", 500)
