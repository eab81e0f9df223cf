"""The worker against a real SMTP server: delivery, retries, crashes, concurrent workers, sweeps."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import os
import re
import signal
import subprocess
import sys
import uuid
from collections import Counter
from email.message import EmailMessage
from pathlib import Path

import pytest

from marketplace.core import clock
from marketplace.core.db import write_transaction
from marketplace.notifications.services import notify
from marketplace.notifications.tables import OutboxMessage, SweepRun
from marketplace.notifications.worker import (
    Worker,
    inprocess_worker,
    register_sweep,
    registered_sweeps,
    with_worker_settings,
)
from marketplace.settings import Settings
from tests.integration.notifications.smtp import (
    SmtpServer,
    deliver_all,
    outbox,
    parts,
    settings_for,
    spawn_worker,
    subject,
    wait_until,
)

pytestmark = pytest.mark.usefixtures("database")


async def _invite(address: str, tenant: str = "Acme Ltd") -> None:
    async with write_transaction():
        await notify(
            "invitation",
            emails=[address],
            data={
                "tenant_name": tenant,
                "tenant_kind": "organisation",
                "role": "member",
                "inviter": "Ann",
                "email": address,
                "path": "/register",
            },
        )


async def _status(address: str) -> dict[str, object]:
    row = await OutboxMessage.select().where(OutboxMessage.email == address).first().run()
    assert row is not None
    return row


async def test_message_is_rendered_and_sent_with_a_stable_message_id(
    smtp: SmtpServer, mail_settings: Settings
) -> None:
    await _invite("new.person@example.test")
    assert await deliver_all(mail_settings) == 1
    [message] = smtp.inbox.messages
    row = await _status("new.person@example.test")
    assert message["Message-ID"] == f"<outbox-{row['id']}@testserver>"
    assert subject(message) == "Ann invites you to Acme Ltd on CertMarket"
    assert message["To"] == "new.person@example.test"
    text, html = parts(message)
    assert "Ann invites new.person@example.test to join Acme Ltd as member." in text
    assert "http://testserver/register" in text  # absolute links on MARKETPLACE_BASE_URL
    assert '<a href="http://testserver/register"' in html
    assert (row["status"], row["attempts"]) == ("sent", 1)
    assert row["sent_at"] is not None
    # Nothing is sent twice: a second pass finds nothing due.
    assert await deliver_all(mail_settings) == 0
    assert len(smtp.inbox.messages) == 1


async def test_html_body_escapes_what_users_typed(
    smtp: SmtpServer, mail_settings: Settings
) -> None:
    await _invite("x@example.test", tenant="<script>alert(1)</script> & Co")
    await deliver_all(mail_settings)
    text, html = parts(smtp.inbox.messages[0])
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in html
    assert "<script>" not in html
    assert "<script>alert(1)</script> & Co" in text  # plain text stays as typed


async def test_temporary_failures_back_off_then_fail(
    smtp: SmtpServer, mail_settings: Settings
) -> None:
    smtp.inbox.refuse["busy@example.test"] = "451 4.3.0 Mailbox busy, try later"
    start = dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC)
    clock.travel_to(start)
    await _invite("busy@example.test")
    worker = Worker(mail_settings, worker_id="w1")

    assert await worker.run_once() == 1
    row = await _status("busy@example.test")
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert "451" in str(row["last_error"])
    wait = row["next_attempt_at"] - clock.now()  # type: ignore[operator]
    assert dt.timedelta(seconds=55) < wait <= dt.timedelta(seconds=60)
    assert await worker.run_once() == 0  # not due yet: backing off

    clock.travel_to(start + dt.timedelta(seconds=61))
    assert await worker.run_once() == 1
    row = await _status("busy@example.test")
    assert (row["status"], row["attempts"]) == ("pending", 2)
    wait = row["next_attempt_at"] - clock.now()  # type: ignore[operator]
    assert dt.timedelta(seconds=115) < wait <= dt.timedelta(seconds=120)  # doubled

    clock.travel_to(start + dt.timedelta(seconds=200))
    assert await worker.run_once() == 1
    row = await _status("busy@example.test")
    assert (row["status"], row["attempts"]) == ("failed", 3)  # max_attempts = 3
    clock.travel_to(start + dt.timedelta(days=2))
    assert await worker.run_once() == 0  # failed is final
    assert smtp.inbox.messages == []


async def test_a_recovered_server_gets_the_retried_message(
    smtp: SmtpServer, mail_settings: Settings
) -> None:
    smtp.inbox.refuse["later@example.test"] = "451 4.3.0 try later"
    await _invite("later@example.test")
    await deliver_all(mail_settings)
    assert smtp.inbox.messages == []
    del smtp.inbox.refuse["later@example.test"]
    clock.travel_to(clock.now() + dt.timedelta(minutes=2))
    await deliver_all(mail_settings)
    assert len(smtp.inbox.to("later@example.test")) == 1
    row = await _status("later@example.test")
    assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 2, "")


async def test_permanent_refusal_fails_at_once(smtp: SmtpServer, mail_settings: Settings) -> None:
    smtp.inbox.refuse["nobody@example.test"] = "550 5.1.1 No such user"
    await _invite("nobody@example.test")
    await deliver_all(mail_settings)
    row = await _status("nobody@example.test")
    assert (row["status"], row["attempts"]) == ("failed", 1)
    assert "550" in str(row["last_error"])


async def test_server_down_is_retried(settings: Settings, smtp: SmtpServer) -> None:
    from tests.live_server import free_port

    up = settings_for(settings, smtp)
    down = dataclasses.replace(
        up, mail=dataclasses.replace(up.mail, smtp_url=f"smtp://127.0.0.1:{free_port()}")
    )
    await _invite("a@example.test")
    await deliver_all(down)
    row = await _status("a@example.test")
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert row["last_error"]


async def test_expired_lease_is_taken_over_and_sent_once(
    smtp: SmtpServer, mail_settings: Settings
) -> None:
    """A worker that claimed a message and died: after its lease another worker sends it."""
    await _invite("lease@example.test")
    dead = Worker(mail_settings, worker_id="dead-worker")
    [claimed] = await dead.claim()  # ... and it never sends
    other = Worker(mail_settings, worker_id="other")
    assert await other.run_once() == 0  # the lease still holds
    clock.travel_to(clock.now() + dt.timedelta(seconds=61))
    assert await other.run_once() == 1
    assert len(smtp.inbox.to("lease@example.test")) == 1
    row = await _status("lease@example.test")
    assert (row["status"], row["locked_by"], row["attempts"]) == ("sent", "other", 2)
    # The first worker, were it only slow and came back now, neither sends nor marks anything.
    assert await dead.deliver(claimed) == "lost"
    assert len(smtp.inbox.to("lease@example.test")) == 1


async def test_worker_killed_mid_send_resumes_without_duplicates(
    smtp: SmtpServer, mail_settings: Settings
) -> None:
    """A real `marketplace worker` process killed with SIGKILL in the middle of an SMTP
    conversation; a second worker takes the message over after the lease: exactly one e-mail
    per message arrives."""
    for n in range(3):
        await _invite(f"killed{n}@example.test")
    smtp.inbox.stall.set()  # the first RCPT hangs: the process is stuck mid-send
    proc = spawn_worker(smtp, "--once", "--lease", "5")
    try:
        await asyncio.to_thread(wait_until, smtp.inbox.rcpt_seen.is_set)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.communicate(timeout=10)  # reaps it and closes its pipes
    assert proc.returncode == -signal.SIGKILL
    smtp.inbox.stall.clear()
    rows = await outbox()
    assert {r["status"] for r in rows} == {"sending"}  # claimed as a batch, none marked sent
    assert smtp.inbox.messages == []

    rescuer = Worker(mail_settings, worker_id="rescuer")
    assert await rescuer.drain() == 0  # the dead worker's lease has not run out
    clock.travel_to(clock.now() + dt.timedelta(seconds=6))
    assert await rescuer.drain() == 3
    arrived = Counter(str(m["To"]) for m in smtp.inbox.messages)
    assert arrived == {f"killed{n}@example.test": 1 for n in range(3)}
    assert {(r["status"], r["locked_by"]) for r in await outbox()} == {("sent", "rescuer")}


class SlowMailer:
    """Records every send and yields to the loop, so two in-process workers interleave."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []  # (worker id, Message-ID)
        self.worker = ""

    def bound(self, worker_id: str) -> SlowMailer.Bound:
        return SlowMailer.Bound(self, worker_id)

    class Bound:
        def __init__(self, parent: SlowMailer, worker_id: str) -> None:
            self.parent, self.worker_id = parent, worker_id

        async def send(self, message: EmailMessage) -> None:
            await asyncio.sleep(0.01)
            self.parent.sent.append((self.worker_id, str(message["Message-ID"])))

        async def probe(self) -> None:
            return None


async def test_two_workers_in_one_process_never_send_the_same_message(
    mail_settings: Settings,
) -> None:
    for n in range(24):
        await _invite(f"p{n}@example.test")
    mailer = SlowMailer()
    w1 = Worker(mail_settings, mailer=mailer.bound("w1"), worker_id="w1")
    w2 = Worker(mail_settings, mailer=mailer.bound("w2"), worker_id="w2")
    await asyncio.gather(w1.drain(limit=2), w2.drain(limit=2))
    ids = [mid for _, mid in mailer.sent]
    assert len(ids) == 24
    assert len(set(ids)) == 24
    by_worker = Counter(w for w, _ in mailer.sent)
    assert by_worker["w1"] > 0
    assert by_worker["w2"] > 0
    assert {r["status"] for r in await outbox()} == {"sent"}


async def test_concurrent_claims_are_disjoint(mail_settings: Settings) -> None:
    for n in range(30):
        await _invite(f"c{n}@example.test")
    workers = [Worker(mail_settings, worker_id=f"w{i}") for i in range(6)]
    batches = await asyncio.gather(*(w.claim(limit=4) for w in workers))
    claimed = [m["id"] for batch in batches for m in batch]
    assert len(claimed) == len(set(claimed)) == 24


async def test_two_worker_processes_never_send_the_same_message(
    smtp: SmtpServer, mail_settings: Settings
) -> None:
    for n in range(40):
        await _invite(f"proc{n}@example.test")
    procs = [spawn_worker(smtp, "--once") for _ in range(2)]
    for proc in procs:
        _out, err = await asyncio.to_thread(proc.communicate, None, 60)
        assert proc.returncode == 0, err.decode()[-2000:]
    ids = Counter(str(m["Message-ID"]) for m in smtp.inbox.messages)
    assert len(ids) == 40
    assert set(ids.values()) == {1}
    rows = await outbox()
    assert {r["status"] for r in rows} == {"sent"}
    assert {r["attempts"] for r in rows} == {1}


def _worker_alive(heartbeat: Path | None, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MARKETPLACE_WORKER_HEARTBEAT"}
    if heartbeat is not None:
        env["MARKETPLACE_WORKER_HEARTBEAT"] = str(heartbeat)
    return subprocess.run(
        [sys.executable, "-m", "marketplace.cli", "worker-alive", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_the_liveness_check_fails_while_the_worker_is_stuck(
    smtp: SmtpServer, tmp_path: Path
) -> None:
    heartbeat = tmp_path / "worker.alive"
    before = await asyncio.to_thread(_worker_alive, heartbeat)
    assert before.returncode == 1
    assert "No heartbeat" in before.stdout
    proc = spawn_worker(smtp, "--poll", "0.2", env={"MARKETPLACE_WORKER_HEARTBEAT": str(heartbeat)})
    try:
        await asyncio.to_thread(wait_until, heartbeat.exists, 30)
        alive = await asyncio.to_thread(_worker_alive, heartbeat, "--max-age", "5")
        assert alive.returncode == 0, alive.stdout
        assert "Alive" in alive.stdout
        # A frozen process stands for a stuck loop: its heartbeat stops moving.
        proc.send_signal(signal.SIGSTOP)
        await asyncio.sleep(2.5)
        stuck = await asyncio.to_thread(_worker_alive, heartbeat, "--max-age", "2")
        assert stuck.returncode == 1, stuck.stdout
        assert "stuck" in stuck.stdout
        proc.send_signal(signal.SIGCONT)
        await asyncio.sleep(1)
        again = await asyncio.to_thread(_worker_alive, heartbeat, "--max-age", "2")
        assert again.returncode == 0, again.stdout
    finally:
        proc.send_signal(signal.SIGCONT)
        proc.terminate()
        await asyncio.to_thread(proc.communicate, None, 30)
    assert proc.returncode == 0


def test_the_liveness_check_says_when_no_heartbeat_is_configured() -> None:
    result = _worker_alive(None)
    assert result.returncode == 2
    assert "MARKETPLACE_WORKER_HEARTBEAT" in result.stdout


async def test_sweeps_run_once_per_interval_across_workers(mail_settings: Settings) -> None:
    calls: list[str] = []

    async def sweep(_: Settings) -> int:
        calls.append("ran")
        return 1

    name = f"test-sweep-{uuid.uuid4().hex[:6]}"
    register_sweep(name, dt.timedelta(hours=1), sweep)
    try:
        w1, w2 = Worker(mail_settings, worker_id="w1"), Worker(mail_settings, worker_id="w2")
        results = await asyncio.gather(w1.run_sweeps(), w2.run_sweeps())
        assert sum(r.get(name, 0) for r in results) == 1
        assert calls == ["ran"]
        await w1.run_sweeps()
        assert calls == ["ran"]  # not due again within the hour
        clock.travel_to(clock.now() + dt.timedelta(minutes=61))
        await w2.run_sweeps()
        assert calls == ["ran", "ran"]
        run = await SweepRun.select().where(SweepRun.name == name).first().run()
        assert run is not None
        assert run["last_result"] == "ok: 1"
    finally:
        from marketplace.notifications import worker as module

        module._sweeps.pop(name, None)
    assert name not in {s.name for s in registered_sweeps()}


async def test_a_failing_sweep_does_not_stop_the_others(mail_settings: Settings) -> None:
    async def broken(_: Settings) -> int:
        raise RuntimeError("boom")

    name = f"broken-{uuid.uuid4().hex[:6]}"
    register_sweep(name, dt.timedelta(hours=1), broken)
    try:
        results = await Worker(mail_settings).run_sweeps()
        assert name not in results
        assert "corrective_action_reminders" in results
        run = await SweepRun.select().where(SweepRun.name == name).first().run()
        assert run is not None
        assert run["last_result"] == "error: RuntimeError: boom"
    finally:
        from marketplace.notifications import worker as module

        module._sweeps.pop(name, None)


async def test_inprocess_worker_sends_while_the_app_lives(
    smtp: SmtpServer, mail_settings: Settings
) -> None:
    """The embedded default: `marketplace serve` runs a worker task in its lifespan."""
    quick = with_worker_settings(mail_settings, poll_seconds=0.05)
    off = with_worker_settings(quick, inprocess=False)
    await _invite("inproc@example.test")
    async with inprocess_worker(off)(None):
        await asyncio.sleep(0.3)
    assert smtp.inbox.messages == []  # MARKETPLACE_INPROCESS_WORKER=0: production's setting
    async with inprocess_worker(quick)(None):
        for _ in range(100):
            if smtp.inbox.messages:
                break
            await asyncio.sleep(0.05)
    assert len(smtp.inbox.to("inproc@example.test")) == 1
    assert (await _status("inproc@example.test"))["status"] == "sent"


async def test_the_worker_renews_itself_in_the_same_process_and_keeps_sending(
    smtp: SmtpServer, tmp_path: Path
) -> None:
    # MARKETPLACE_WORKER_RENEW_SECONDS bounds the worker's memory: it finishes its cycle and
    # execs itself afresh, keeping its process id (its supervisor and probes see no restart).
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        proc = spawn_worker(
            smtp, "--poll", "0.2", env={"MARKETPLACE_WORKER_RENEW_SECONDS": "1"}, log=out
        )
        try:
            await asyncio.to_thread(
                wait_until, lambda: log.read_text().count("renewing after") >= 2, 60
            )
            await _invite("after-renewal@example.test")
            await asyncio.to_thread(
                wait_until, lambda: bool(smtp.inbox.to("after-renewal@example.test")), 30
            )
        finally:
            proc.terminate()
            await asyncio.to_thread(proc.wait, 30)
    assert proc.returncode == 0
    text = log.read_text()
    starts = re.findall(r"worker \S+?:(\d+):\w+ started", text)
    assert len(starts) >= 3
    assert set(starts) == {str(proc.pid)}, "the same process throughout"
    assert len(smtp.inbox.to("after-renewal@example.test")) == 1


async def test_sigterm_stops_the_worker_after_its_batch_not_after_the_backlog(
    smtp: SmtpServer,
) -> None:
    # A deploy's SIGTERM must not wait for a backlog of thousands to be sent (the orchestrator
    # would kill the worker mid-send after its grace period): the batch in hand, then stop.
    addresses = [f"backlog{n}@example.test" for n in range(1000)]
    async with write_transaction():
        await notify(
            "invitation",
            emails=addresses,
            data={
                "tenant_name": "Acme Ltd",
                "tenant_kind": "organisation",
                "role": "member",
                "inviter": "Ann",
                "email": "backlog@example.test",
                "path": "/register",
            },
        )
    proc = spawn_worker(smtp, "--poll", "0.2")
    try:
        await asyncio.to_thread(wait_until, lambda: len(smtp.inbox.messages) >= 1, 30)
        proc.terminate()
        await asyncio.to_thread(proc.communicate, None, 15)
    finally:
        if proc.returncode is None:
            proc.kill()
    assert proc.returncode == 0
    sent = [m["To"] for m in smtp.inbox.messages]
    assert len(sent) == len(set(sent)), "nothing twice"
    left = [r for r in await outbox() if r["status"] == "pending"]
    assert left, "the backlog waits for the next worker"
    assert len(sent) + len(left) <= 1000
