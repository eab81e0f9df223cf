"""Operators see the outbox on /metrics and send failed e-mails again: from the admin page (with a
confirm step), from the CLI, and automatically once a mail server that was down answers again."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import os
import re
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from aiosmtpd.controller import Controller

from marketplace.core import clock
from marketplace.core.tables import ActivityLog
from marketplace.notifications.services import notify
from marketplace.notifications.worker import Worker
from marketplace.settings import Settings
from tests.factories import World, csrf_from, sign_in
from tests.integration.notifications.smtp import (
    Inbox,
    SmtpServer,
    outbox,
    recipients,
    settings_for,
)
from tests.live_server import free_port

INVITE = {
    "tenant_kind": "organisation",
    "tenant_name": "Acme",
    "role": "member",
    "inviter": "Ada",
    "path": "/register",
}
# One sample of the Prometheus text format: name, optional {labels}, value.
SAMPLE = re.compile(r'^([a-z_:][a-z0-9_:]*)(?:\{([a-z_]+="[^"]*"(?:,[a-z_]+="[^"]*")*)\})? (\S+)$')


def parse(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Strict parse: every line is a HELP/TYPE comment or a well-formed sample."""
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for line in text.splitlines():
        if not line or line.startswith(("# HELP ", "# TYPE ")):
            continue
        match = SAMPLE.match(line)
        assert match, f"not a Prometheus sample: {line!r}"
        name, labels, value = match.groups()
        pairs = frozenset(
            tuple(p.split("=", 1)) for p in re.findall(r'[a-z_]+="[^"]*"', labels or "")
        )
        samples[(name, frozenset((k, v.strip('"')) for k, v in pairs))] = float(value)
    return samples


def value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples[(name, frozenset(labels.items()))]


async def invite(*addresses: str) -> None:
    await notify("invitation", emails=list(addresses), data={**INVITE, "email": "x"})


def _down(settings: Settings, **worker: float) -> Settings:
    """Settings pointing at a port nobody listens on: every send fails with a connection error."""
    return settings_for(settings, SmtpServer(Inbox(), free_port()), **worker)


async def test_metrics_show_the_outbox_and_the_worker(
    client: httpx.AsyncClient, settings: Settings, smtp: SmtpServer
) -> None:
    before = time.time()
    await invite("ok@example.test", "refused@example.test")
    smtp.inbox.refuse["refused@example.test"] = "550 5.1.1 no such user"
    # One worker against the live server: one sent, one refused for good.
    await Worker(settings_for(smtp=smtp, settings=settings)).drain()
    await invite("later@example.test")  # then the server is down for the next one
    await Worker(_down(settings, max_attempts=1)).drain()
    await invite("waiting@example.test")

    r = await client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    samples = parse(r.text)
    state = {
        s: value(samples, "marketplace_outbox_messages", state=s)
        for s in ("pending", "sending", "sent", "failed")
    }
    assert state == {"pending": 1, "sending": 0, "sent": 1, "failed": 2}
    age = value(samples, "marketplace_outbox_oldest_pending_age_seconds")
    assert 0 <= age < 60  # "waiting", just written
    assert value(samples, "marketplace_outbox_sent_total") == 1
    assert value(samples, "marketplace_outbox_send_failures_total", cause="refused") == 1
    assert value(samples, "marketplace_outbox_send_failures_total", cause="connection") == 1
    assert value(samples, "marketplace_outbox_send_failures_total", cause="timeout") == 0
    beat = value(samples, "marketplace_worker_last_heartbeat_timestamp_seconds")
    assert before - 1 <= beat <= time.time() + 1
    assert "# TYPE marketplace_outbox_sent_total counter" in r.text
    assert "# TYPE marketplace_outbox_messages gauge" in r.text


async def test_oldest_pending_age(client: httpx.AsyncClient) -> None:
    clock.travel_to(clock.now() - dt.timedelta(minutes=10))
    await invite("old@example.test")
    clock.reset()
    await invite("new@example.test")
    samples = parse((await client.get("/metrics")).text)
    assert 600 <= value(samples, "marketplace_outbox_oldest_pending_age_seconds") < 660
    assert value(samples, "marketplace_worker_last_heartbeat_timestamp_seconds") == 0


async def _failed(settings: Settings, *addresses: str) -> None:
    await invite(*addresses)
    await Worker(_down(settings, max_attempts=1)).drain()
    assert {m["status"] for m in await outbox()} == {"failed"}


async def test_retry_failed_from_the_admin_page(
    client: httpx.AsyncClient, world: World, settings: Settings
) -> None:
    await _failed(settings, "one@example.test", "two@example.test")
    # Platform administrators only: a tenant owner is refused the confirm page and the action.
    await sign_in(client, world.actor("a", "org:owner").user_id)
    assert (await client.get("/admin/outbox/retry-failed")).status_code == 403
    home = await client.get("/account/notifications")
    r = await client.post("/admin/outbox/retry-failed", data={"_csrf_token": csrf_from(home.text)})
    assert r.status_code == 403
    assert {m["status"] for m in await outbox()} == {"failed"}

    await sign_in(client, world.admin.user_id)
    listing = await client.get("/admin/outbox")
    assert 'href="/admin/outbox/retry-failed"' in listing.text
    confirm = await client.get("/admin/outbox/retry-failed")
    assert confirm.status_code == 200
    assert "2 message(s) failed" in confirm.text
    # Without the CSRF token nothing changes.
    assert (await client.post("/admin/outbox/retry-failed")).status_code == 403
    assert {m["status"] for m in await outbox()} == {"failed"}
    r = await client.post(
        "/admin/outbox/retry-failed", data={"_csrf_token": csrf_from(confirm.text)}
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/admin/outbox?status=pending&requeued=2"
    assert "2 failed message(s) back to pending." in (await client.get(r.headers["location"])).text
    rows = await outbox()
    assert {(m["status"], m["attempts"]) for m in rows} == {("pending", 0)}
    entry = (
        await ActivityLog.select()
        .where(ActivityLog.action == "marketplace.outbox.retried")
        .first()
        .run()
    )
    assert entry is not None
    assert entry["actor_id"] == world.admin.user_id
    samples = parse((await client.get("/metrics")).text)
    assert value(samples, "marketplace_outbox_requeued_total", trigger="operator") == 2


async def test_retry_failed_from_the_api(
    client: httpx.AsyncClient, world: World, settings: Settings
) -> None:
    await _failed(settings, "one@example.test", "two@example.test")
    path = "/api/v1/admin/outbox/retry-failed"
    r = await client.post(path, headers=world.actor("a", "org:owner").headers)
    assert r.status_code == 403
    r = await client.post(path, headers=world.admin.headers)
    assert r.status_code == 200
    assert r.json() == {"requeued": 2}
    assert (await client.post(path, headers=world.admin.headers)).json() == {"requeued": 0}
    assert {m["status"] for m in await outbox()} == {"pending"}


async def test_retry_failed_from_the_command_line(settings: Settings, database: None) -> None:
    await _failed(settings, "one@example.test", "two@example.test", "three@example.test")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "marketplace.cli",
        "retry-failed",
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    assert out.decode().startswith("3 failed message(s) back to pending")
    assert {m["status"] for m in await outbox()} == {"pending"}


@dataclasses.dataclass
class Flaky:
    """A real aiosmtpd server on a fixed port that the test takes down and brings back."""

    port: int
    inbox: Inbox
    controller: Controller | None = None

    def up(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def down(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def flaky() -> Iterator[Flaky]:
    server = Flaky(free_port(), Inbox())
    try:
        yield server
    finally:
        server.down()


async def test_failed_messages_go_out_once_the_server_answers_again(
    settings: Settings, flaky: Flaky, database: None
) -> None:
    smtp = SmtpServer(flaky.inbox, flaky.port)
    # backoff 0: the worker probes the server on every cycle (production: once per backoff).
    mail = settings_for(settings, smtp, max_attempts=2, backoff_seconds=0.0)
    await invite("one@example.test", "two@example.test")
    worker = Worker(mail)
    for _ in range(2):  # two attempts while the server is down, then "failed"
        await worker.drain()
    rows = await outbox()
    assert {(m["status"], m["failure_cause"]) for m in rows} == {("failed", "connection")}

    await worker.drain()  # still down: the probe gets no answer, nothing moves
    assert {m["status"] for m in await outbox()} == {"failed"}

    flaky.up()
    await worker.drain()  # the probe is answered: back to pending, and sent in the same drain
    assert {m["status"] for m in await outbox()} == {"sent"}
    assert recipients(smtp) == {"one@example.test", "two@example.test"}

    # A message the server refused for good is not retried by itself.
    flaky.inbox.refuse["bad@example.test"] = "550 5.1.1 no such user"
    await invite("bad@example.test")
    await worker.drain()
    await worker.drain()
    bad = await outbox(email="bad@example.test")
    assert (bad[0]["status"], bad[0]["failure_cause"]) == ("failed", "refused")
