"""The outbox worker: claims due messages under a lease, sends them, retries with backoff, runs the sweeps.

Delivery is at-least-once with a very narrow duplicate window, and never twice by design:

- A message is claimed by one atomic statement (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: an
  IMMEDIATE transaction, which holds the database's single write lock) that flips it to
  `sending` with `locked_by` = this worker and a lease (`locked_until`). Two workers can therefore
  never claim the same message at the same time.
- It is marked `sent` only by the worker that holds it (`locked_by` is checked), after the SMTP
  server accepted it. A worker that dies mid-send leaves the message `sending`; once the lease
  runs out, any worker claims it again and sends it. Right before each send the holder renews
  its lease (a conditional UPDATE that fails once another worker took the message over, and then
  it does not send). The lease (300 s) is far longer than the SMTP timeout (30 s per socket
  operation), so a slow but living worker finishes or gives up long before a takeover.
- The one window left: the SMTP server accepted the message (250 after DATA) and the worker died
  before its UPDATE to `sent` committed. The message is then sent again after the lease expires.
  No protocol closes that window without the mail server taking part (SMTP has no idempotency
  key), which is why every message carries a Message-ID derived from its outbox id: the copy is
  byte-for-byte the same message, and mail stores and clients that de-duplicate by Message-ID
  (Gmail, and most threading clients) show it once.

When the database goes away mid-cycle (the cycle fails), nothing waits for the lease: the worker
remembers what it holds. At the start of its next cycle, before claiming anything, it records as
`sent` the messages the SMTP server accepted meanwhile (the update is idempotent: retried until it
lands, never dropped, so none is sent again) and hands the rest back as due at once (`pending`,
the claim's attempt returned unless the message was tried). Everything is delivered within one
poll interval of the database's return, not a lease later, and a message whose `sent` the
database missed is not sent a second time.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from piccolo.columns import Column

from marketplace.core import clock
from marketplace.core.db import as_uuid, is_connection_failure, is_postgres, write_transaction
from marketplace.core.observability import DATABASE_OUTAGE
from marketplace.notifications import metrics
from marketplace.notifications.email import (
    Attachment,
    Mailer,
    PermanentFailure,
    build_message,
    mailer_for,
    message_id,
    render,
)
from marketplace.notifications.tables import OutboxMessage, SweepRun
from marketplace.settings import Settings

log = logging.getLogger("marketplace.worker")

AttachmentFn = Callable[[dict[str, Any], Settings], Awaitable[list[Attachment]]]
SweepFn = Callable[[Settings], Awaitable[int]]


@dataclass(frozen=True)
class Sweep:
    name: str
    interval: dt.timedelta
    fn: SweepFn


_attachments: dict[str, AttachmentFn] = {}
_sweeps: dict[str, Sweep] = {}


def register_attachment(template: str, fn: AttachmentFn) -> None:
    """Let a higher floor add attachments to every e-mail of a template, computed at send time
    (calendars attach the audit's iTIP invitation) without this module importing it."""
    _attachments[template] = fn


def registered_attachments() -> list[str]:
    """The templates that get attachments at send time."""
    return list(_attachments)


def register_sweep(name: str, interval: dt.timedelta, fn: SweepFn) -> None:
    """A periodic job the worker runs at most once per `interval` across all workers; `fn`
    returns how many things it did (e.g. reminders written, with dedupe keys)."""
    _sweeps[name] = Sweep(name, interval, fn)


def registered_sweeps() -> list[Sweep]:
    return list(_sweeps.values())


MAX_BACKOFF = dt.timedelta(hours=6)


def backoff(attempts: int, base_seconds: float) -> dt.timedelta:
    """Wait after the `attempts`-th failed try: base, 2 x base, 4 x base ... at most six hours."""
    seconds = base_seconds * (2 ** max(0, attempts - 1))
    return min(dt.timedelta(seconds=seconds), MAX_BACKOFF)


_CLAIM_PG = """
UPDATE outbox_message
SET status = 'sending', locked_by = {}, locked_until = {}, attempts = attempts + 1
WHERE id IN (
    SELECT id FROM outbox_message
    WHERE (status = 'pending' AND next_attempt_at <= {})
       OR (status = 'sending' AND locked_until < {})
    ORDER BY next_attempt_at
    LIMIT {}
    FOR UPDATE SKIP LOCKED
)
RETURNING id
"""

# SQLite has no row locks: the IMMEDIATE transaction around it holds the only write lock.
_CLAIM_SQLITE = _CLAIM_PG.replace("FOR UPDATE SKIP LOCKED", "")


class Worker:
    """One worker; several may run at once (processes, hosts or tasks) without sending twice."""

    def __init__(
        self,
        settings: Settings,
        *,
        mailer: Mailer | None = None,
        worker_id: str | None = None,
    ) -> None:
        self.settings = settings
        self.mailer = mailer or mailer_for(
            settings.mail.smtp_url, settings.worker.smtp_timeout_seconds
        )
        self.id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.host = urlparse(settings.app.base_url).hostname or "localhost"
        # Claimed by this worker and not finished with: id -> whether it was handed to the mailer.
        # What a failed cycle leaves here is released at the start of the next one.
        self.held: dict[uuid.UUID, bool] = {}
        # Accepted by the SMTP server, not yet recorded as sent (the database was away): id -> when.
        self.unrecorded: dict[uuid.UUID, dt.datetime] = {}
        # Automatic retry of messages that failed because the server did not answer: set when
        # a send succeeds (the server answers again); else a probe at most once per backoff.
        self._answered = False
        self._next_probe = 0.0

    @property
    def lease(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.settings.worker.lease_seconds)

    async def claim(self, limit: int = 10) -> list[dict[str, Any]]:
        """Take up to `limit` due messages (and ones whose lease expired) for this worker."""
        now = clock.now()
        args = [self.id, now + self.lease, now, now, limit]
        if is_postgres():
            rows = await OutboxMessage.raw(_CLAIM_PG, *args).run()
        else:
            async with write_transaction():
                rows = await OutboxMessage.raw(_CLAIM_SQLITE, *args).run()
        ids = [as_uuid(r["id"]) for r in rows]
        if not ids:
            return []
        self.held.update(dict.fromkeys(ids, False))
        claimed: list[dict[str, Any]] = (
            await OutboxMessage.select()
            .where(OutboxMessage.id.is_in(ids))
            .order_by(OutboxMessage.next_attempt_at)
            .output(load_json=True)
            .run()
        )
        return claimed

    async def compose(self, message: dict[str, Any]) -> Any:
        data = message["data"] if isinstance(message["data"], dict) else {}
        context = {
            **data,
            "base_url": self.settings.app.base_url,
            "data": data,
            "recipient_email": message["email"],
        }
        rendered = render(message["template"], context)
        attachments: list[Attachment] = []
        contribute = _attachments.get(message["template"])
        if contribute is not None:
            attachments = await contribute(message, self.settings)
        return build_message(
            msg_id=message_id(message["id"], self.host),
            sender=self.settings.mail.mail_from,
            to=message["email"],
            to_name=str(data.get("recipient_name") or ""),
            rendered=rendered,
            attachments=attachments,
        )

    async def deliver(self, message: dict[str, Any]) -> str:
        """Send one claimed message: "sent", "retry", "failed", or "lost" (lease taken over).

        A database failure propagates (the cycle fails) and leaves the message to `settle`."""
        key = as_uuid(message["id"])
        # A batch is sent one by one: renew the lease right before each send, so the whole lease
        # (longer than the SMTP timeout) covers this send however long the batch took so far.
        if not await self._renew(message):
            self.held.pop(key, None)
            log.warning(
                "outbox %s: lease lost before sending; left to its new holder", message["id"]
            )
            return "lost"
        try:
            email = await self.compose(message)
        except Exception as exc:
            # Attachments read the database: its outage is not this message's failure.
            if is_connection_failure(exc):
                raise
            return await self._failed(message, exc)
        self.held[key] = True
        try:
            await self.mailer.send(email)
        except Exception as exc:
            return await self._failed(message, exc)
        # From here on the message is out: it must end up `sent`, never be handed back.
        self._answered = True  # the server answers: messages it failed to take can go again
        self.held.pop(key, None)
        self.unrecorded[key] = clock.now()
        outcome = await self._record_sent(key)
        if outcome == "sent":
            log.info(
                "outbox %s sent (%s) to %s", message["id"], message["template"], message["email"]
            )
        return outcome

    async def _record_sent(self, key: uuid.UUID) -> str:
        """Mark an accepted message `sent`; idempotent, so it is simply retried until it lands."""
        done = (
            await OutboxMessage.update(
                {
                    OutboxMessage.status: "sent",
                    OutboxMessage.sent_at: self.unrecorded[key],
                    # locked_by stays: it says which worker sent the message.
                    OutboxMessage.locked_until: None,
                    OutboxMessage.last_error: "",
                }
            )
            .where(
                (OutboxMessage.id == key)
                & (OutboxMessage.locked_by == self.id)
                & (OutboxMessage.status == "sending")
            )
            .returning(OutboxMessage.id)
            .run()
        )
        del self.unrecorded[key]
        if not done:
            log.warning("outbox %s: lease lost before it was marked sent", key)
            return "lost"
        await metrics.add("sent")
        return "sent"

    async def settle(self) -> None:
        """Finish what a failed cycle left: record the sends the database missed, then hand the
        other claimed messages back as due now. Nothing to do (and no query) after a good cycle."""
        for key in list(self.unrecorded):
            if await self._record_sent(key) == "sent":
                log.info("outbox %s: recorded as sent after the database came back", key)
        if not self.held:
            return
        now = clock.now()
        tried = [k for k, handed in self.held.items() if handed]
        untried = [k for k, handed in self.held.items() if not handed]
        mine = (OutboxMessage.locked_by == self.id) & (OutboxMessage.status == "sending")
        back: dict[Column | str, Any] = {
            OutboxMessage.status: "pending",
            OutboxMessage.next_attempt_at: now,
            OutboxMessage.locked_by: None,
            OutboxMessage.locked_until: None,
        }
        if untried:
            # The claim counted an attempt that never reached the mail server: give it back.
            await (
                OutboxMessage.update({**back, OutboxMessage.attempts: OutboxMessage.attempts - 1})
                .where(OutboxMessage.id.is_in(untried) & mine)
                .run()
            )
        if tried:
            await OutboxMessage.update(back).where(OutboxMessage.id.is_in(tried) & mine).run()
        log.info(
            "worker %s released %d claimed messages after a failed cycle", self.id, len(self.held)
        )
        self.held.clear()

    async def _renew(self, message: dict[str, Any]) -> bool:
        renewed = (
            await OutboxMessage.update({OutboxMessage.locked_until: clock.now() + self.lease})
            .where(
                (OutboxMessage.id == message["id"])
                & (OutboxMessage.locked_by == self.id)
                & (OutboxMessage.status == "sending")
            )
            .returning(OutboxMessage.id)
            .run()
        )
        return bool(renewed)

    async def _failed(self, message: dict[str, Any], exc: BaseException) -> str:
        attempts = int(message["attempts"])
        permanent = isinstance(exc, PermanentFailure)
        final = permanent or attempts >= self.settings.worker.max_attempts
        status = "failed" if final else "pending"
        error = f"{type(exc).__name__}: {exc}"[:2000]
        cause = metrics.cause_of(exc)
        await (
            OutboxMessage.update(
                {
                    OutboxMessage.status: status,
                    OutboxMessage.next_attempt_at: clock.now()
                    + backoff(attempts, self.settings.worker.backoff_seconds),
                    OutboxMessage.locked_by: None,
                    OutboxMessage.locked_until: None,
                    OutboxMessage.last_error: error,
                    OutboxMessage.failure_cause: cause,
                }
            )
            .where((OutboxMessage.id == message["id"]) & (OutboxMessage.locked_by == self.id))
            .run()
        )
        self.held.pop(as_uuid(message["id"]), None)
        await metrics.add(f"failed:{cause}")
        log.warning("outbox %s attempt %s failed (%s): %s", message["id"], attempts, status, error)
        return "failed" if final else "retry"

    def beat(self) -> None:
        """Touch the heartbeat file, if one is configured: proof of progress for `worker-alive`."""
        if path := self.settings.worker.heartbeat_path:
            touch_heartbeat(path)

    async def requeue_when_answering(self) -> int:
        """Put messages that failed because the server did not answer back to pending once it
        answers again (a send succeeded, or a probe got a reply); returns how many."""
        from marketplace.notifications.services import retry_failed

        waiting = (
            await OutboxMessage.exists()
            .where(
                (OutboxMessage.status == "failed")
                & OutboxMessage.failure_cause.is_in(list(metrics.UNANSWERED))
            )
            .run()
        )
        if not waiting:
            return 0
        if not self._answered:
            if time.monotonic() < self._next_probe:
                return 0
            self._next_probe = time.monotonic() + self.settings.worker.backoff_seconds
            try:
                await self.mailer.probe()
            except Exception as exc:  # still down: the next probe is one backoff away
                log.info("mail server still not answering: %s: %s", type(exc).__name__, exc)
                return 0
        self._answered = False
        requeued = await retry_failed(None, causes=metrics.UNANSWERED, trigger="automatic")
        log.info("mail server answers again: %s failed message(s) back to pending", requeued)
        return requeued

    async def run_once(self, limit: int = 10) -> int:
        """Claim one batch and deliver it; returns how many messages were claimed."""
        await self.settle()
        await metrics.heartbeat()
        await self.requeue_when_answering()
        batch = await self.claim(limit)
        for message in batch:
            await self.deliver(message)
            self.beat()
        return len(batch)

    async def drain(self, limit: int = 10, stop: asyncio.Event | None = None) -> int:
        """Deliver until nothing is due, or until `stop` is set (checked between batches, so a
        worker told to stop finishes the batch in hand, not a whole backlog)."""
        total = 0
        while not (stop is not None and stop.is_set()):
            claimed = await self.run_once(limit)
            if not claimed:
                break
            total += claimed
        return total

    async def run_sweeps(self) -> dict[str, int]:
        """Run every registered sweep that is due, each claimed by one worker per interval."""
        results: dict[str, int] = {}
        for sweep in registered_sweeps():
            if not await self._claim_sweep(sweep):
                continue
            try:
                results[sweep.name] = await sweep.fn(self.settings)
                outcome = f"ok: {results[sweep.name]}"
            except Exception as exc:  # one broken sweep must not stop the e-mails or the others
                log.exception("sweep %s failed", sweep.name)
                outcome = f"error: {type(exc).__name__}: {exc}"[:500]
            self.beat()
            await (
                SweepRun.update(
                    {SweepRun.last_finished_at: clock.now(), SweepRun.last_result: outcome}
                )
                .where(SweepRun.name == sweep.name)
                .run()
            )
        return results

    async def _claim_sweep(self, sweep: Sweep) -> bool:
        now = clock.now()
        await (
            SweepRun.insert(SweepRun(name=sweep.name, next_run_at=now))
            .on_conflict(target=SweepRun.name, action="DO NOTHING")
            .run()
        )
        # One conditional UPDATE: of workers racing for the same due sweep exactly one matches.
        claimed = (
            await SweepRun.update(
                {SweepRun.next_run_at: now + sweep.interval, SweepRun.last_started_at: now}
            )
            .where((SweepRun.name == sweep.name) & (SweepRun.next_run_at <= now))
            .returning(SweepRun.id)
            .run()
        )
        return bool(claimed)

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set: sweeps first, then every due message."""
        poll = self.settings.worker.poll_seconds
        log.info("worker %s started (poll every %ss)", self.id, poll)
        while not stop.is_set():
            self.beat()
            try:
                await self.settle()  # first: what a failed cycle left is due before any sweep
                await self.run_sweeps()
                await self.drain(stop=stop)
            except Exception as exc:  # the database may be briefly away: wait and try again
                if is_connection_failure(exc):
                    DATABASE_OUTAGE.begin(exc, f"worker {self.id}")  # logged once per outage
                else:
                    log.exception("worker %s: cycle failed", self.id)
            else:
                DATABASE_OUTAGE.end()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=poll)
        try:
            await self.settle()  # a worker told to stop during an outage hands back what it can
        except Exception as exc:
            log.warning(
                "worker %s stopped holding %d messages (until their lease ends): %s",
                self.id,
                len(self.held) + len(self.unrecorded),
                exc,
            )
        log.info("worker %s stopped", self.id)


def touch_heartbeat(path: str) -> None:
    # The file's modification time is the heartbeat; its content is only for a person reading it.
    with open(path, "w") as f:
        f.write(clock.now().isoformat())


def heartbeat_age(path: str) -> float | None:
    """Seconds since the worker last showed progress, or None if it never has."""
    try:
        return max(0.0, time.time() - os.stat(path).st_mtime)
    except FileNotFoundError:
        return None


def with_worker_settings(settings: Settings, **changes: Any) -> Settings:
    """A copy of the settings with some worker fields changed (CLI options, tests)."""
    return dataclasses.replace(settings, worker=dataclasses.replace(settings.worker, **changes))


def inprocess_worker(settings: Settings, *, enabled: bool = True) -> Any:
    """A lifespan hook for `marketplace serve`: runs a worker task beside the app while it lives."""

    @contextlib.asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        if not (enabled and settings.worker.inprocess):
            yield
            return
        stop = asyncio.Event()
        task = asyncio.create_task(Worker(settings).run(stop), name="outbox-worker")
        try:
            yield
        finally:
            stop.set()
            await task

    return lifespan
