"""A real SMTP server (aiosmtpd) that keeps what arrives, and helpers to run workers against it."""

from __future__ import annotations

import asyncio
import dataclasses
import email
import email.policy
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from typing import IO, Any

from aiosmtpd.controller import Controller

from marketplace.notifications.tables import OutboxMessage
from marketplace.notifications.worker import Worker
from marketplace.settings import Settings
from tests.live_server import free_port


class Inbox:
    """aiosmtpd handler: parsed messages in arrival order; can refuse or stall recipients."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse: dict[str, str] = {}  # address -> SMTP reply, e.g. "451 4.3.0 try later"
        self.stall = threading.Event()  # while set, RCPT hangs (a send stuck mid-conversation)
        self.rcpt_seen = threading.Event()
        self._lock = threading.Lock()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        self.rcpt_seen.set()
        # A threading.Event set from the test's thread, polled on the server's own loop.
        while self.stall.is_set():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()


@dataclasses.dataclass
class SmtpServer:
    inbox: Inbox
    port: int

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


def smtp_server() -> Iterator[SmtpServer]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer(inbox, port)
    finally:
        inbox.stall.clear()
        controller.stop()


def settings_for(settings: Settings, smtp: SmtpServer, **worker: Any) -> Settings:
    mail = dataclasses.replace(settings.mail, smtp_url=smtp.url)
    defaults = {"lease_seconds": 60.0, "max_attempts": 3, "backoff_seconds": 60.0}
    return dataclasses.replace(
        settings, mail=mail, worker=dataclasses.replace(settings.worker, **{**defaults, **worker})
    )


async def deliver_all(settings: Settings, worker_id: str = "test-worker") -> int:
    return await Worker(settings, worker_id=worker_id).drain()


def parts(message: EmailMessage) -> tuple[str, str]:
    """The text and HTML bodies."""
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None, "every e-mail has a text body"
    assert html is not None, "every e-mail has an HTML body"
    return str(text.get_content()), str(html.get_content())


def recipients(smtp: SmtpServer) -> set[str]:
    """Every address the SMTP server received mail for."""
    return {str(m["To"]).split("<")[-1].rstrip(">") for m in smtp.inbox.messages}


def subject(message: EmailMessage) -> str:
    # A long Subject is folded onto a continuation line; the parser keeps its leading space.
    return str(message["Subject"]).strip()


def calendar_parts(message: EmailMessage) -> list[Any]:
    return [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]


async def outbox(**where: Any) -> list[dict[str, Any]]:
    query = OutboxMessage.select().order_by(OutboxMessage.created_at)
    for name, value in where.items():
        query = query.where(getattr(OutboxMessage, name) == value)
    rows: list[dict[str, Any]] = await query.output(load_json=True).run()
    return rows


def spawn_worker(
    smtp: SmtpServer, *args: str, env: dict[str, str] | None = None, log: IO[bytes] | None = None
) -> subprocess.Popen[bytes]:
    """`marketplace worker` as a real process against the test database and SMTP server; its
    output piped, or written to `log` (to read while it runs)."""
    env = {
        **os.environ,
        "SMTP_URL": smtp.url,
        "MARKETPLACE_WORKER_MAX_ATTEMPTS": "3",
        **(env or {}),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "marketplace.cli", "worker", *args],
        env=env,
        stdout=log or subprocess.PIPE,
        stderr=log or subprocess.PIPE,
    )


def wait_until(predicate: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)
