"""The worker through a database outage (a proxy cut in front of PostgreSQL): what it held is
delivered within a poll interval of the database's return, and nothing twice."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import time
from collections import Counter

import pytest

from marketplace.core import clock
from marketplace.core.db import write_transaction
from marketplace.notifications.services import notify
from marketplace.notifications.worker import Worker
from marketplace.settings import Settings
from tests.db_proxy import through_proxy
from tests.integration.notifications.smtp import SmtpServer, outbox, settings_for, wait_until

ON_POSTGRES = os.environ["DATABASE_URL"].startswith("postgres")
pytestmark = [
    pytest.mark.usefixtures("database"),
    pytest.mark.postgres_only,
    pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL (set TEST_DATABASE_URL)"),
]

POLL = 1.0
OUTAGE = 6.0  # seconds the database stays away
SEND_SLACK = 3.0  # sending ten e-mails to a local SMTP server, on a busy machine


async def _invite(address: str) -> None:
    async with write_transaction():
        await notify(
            "invitation",
            emails=[address],
            data={
                "tenant_name": "Acme Ltd",
                "tenant_kind": "organisation",
                "role": "member",
                "inviter": "Ann",
                "email": address,
                "path": "/register",
            },
        )


async def _all_sent(count: int, deadline: float) -> float:
    """Seconds until `count` messages are `sent` (polling the database), or the deadline."""
    started = time.monotonic()
    while time.monotonic() < started + deadline:
        rows = await outbox()
        if len(rows) == count and {r["status"] for r in rows} == {"sent"}:
            return time.monotonic() - started
        await asyncio.sleep(0.05)
    rows = await outbox()
    raise AssertionError(
        f"not all sent {deadline:.0f} s after the database came back: "
        f"{Counter(r['status'] for r in rows)}"
    )


async def test_an_outage_mid_batch_delays_nothing_past_one_poll_and_sends_nothing_twice(
    settings: Settings, smtp: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The worker claimed ten messages and is in the middle of sending the first when the
    database goes away. The SMTP server accepts that one while the database is down (so its
    `sent` update fails); the other nine are held. Once the database is back, the first is
    recorded as sent (not sent again) and the nine are delivered within one poll interval."""
    caplog.set_level(logging.INFO, logger="marketplace")
    addresses = [f"outage{n}@example.test" for n in range(10)]
    for address in addresses:
        await _invite(address)
    mail_settings = settings_for(settings, smtp, poll_seconds=POLL, lease_seconds=300.0)
    worker = Worker(mail_settings, worker_id="outage-worker")
    stop = asyncio.Event()
    async with through_proxy(os.environ["DATABASE_URL"]) as proxy:
        smtp.inbox.stall.set()  # the first RCPT hangs: the worker is mid-send, holding the batch
        task = asyncio.create_task(worker.run(stop))
        try:
            await asyncio.to_thread(wait_until, smtp.inbox.rcpt_seen.is_set)
            await proxy.cut()
            smtp.inbox.stall.clear()  # ... and the server accepts it while the database is away
            await asyncio.to_thread(wait_until, lambda: len(smtp.inbox.messages) == 1)
            await asyncio.sleep(OUTAGE)
            assert len(smtp.inbox.messages) == 1  # nothing can be claimed meanwhile
            await proxy.restore()
            took = await _all_sent(len(addresses), deadline=POLL + SEND_SLACK + 20)
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=30)

    print(f"\noutage {OUTAGE:.0f} s: {len(addresses)} messages all sent {took:.2f} s after it")
    assert took <= POLL + SEND_SLACK
    arrived = Counter(str(m["Message-ID"]) for m in smtp.inbox.messages)
    rows = await outbox()
    assert arrived == {f"<outbox-{r['id']}@testserver>": 1 for r in rows}  # one copy each
    assert Counter(str(m["To"]) for m in smtp.inbox.messages) == dict.fromkeys(addresses, 1)
    # One attempt each: the claim the outage interrupted was handed back, not counted.
    assert {(r["status"], r["locked_by"], r["attempts"]) for r in rows} == {
        ("sent", "outage-worker", 1)
    }
    assert worker.held == {}
    assert worker.unrecorded == {}
    # Past the old lease nothing is left to take over and send again.
    clock.travel_to(clock.now() + dt.timedelta(seconds=301))
    assert await Worker(mail_settings, worker_id="later").drain() == 0
    assert len(smtp.inbox.messages) == len(addresses)
    # The outage is logged when it starts and when it ends, not once per failed cycle.
    outage = [r for r in caplog.records if r.name == "marketplace.outage"]
    messages = [r.getMessage() for r in outage]
    assert len(messages) == 2, messages
    assert messages[0].startswith("database unreachable (")
    assert "first met by worker outage-worker" in messages[0]
    assert messages[1].startswith("database reachable again after ")
    assert not [r for r in caplog.records if "cycle failed" in r.getMessage()]
