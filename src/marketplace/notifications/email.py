"""E-mail: text and HTML bodies from templates/email/, MIME assembly, and sending over SMTP (or to the log)."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from typing import Any, Protocol
from urllib.parse import unquote, urlparse

from jinja2 import Environment, FileSystemLoader, select_autoescape

from marketplace.settings import PROJECT_ROOT
from marketplace.web.templating import local_time

log = logging.getLogger("marketplace.notifications")

TEMPLATE_DIR = PROJECT_ROOT / "templates" / "email"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # "text/calendar"
    data: bytes
    params: dict[str, str] = field(default_factory=dict)  # e.g. {"method": "REQUEST"}


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def reader_span(starts_at: str | None, ends_at: str | None, event_tz: str, reader_tz: str) -> str:
    """An event's span on the reader's clock, or "" where their clock reads the same as the
    event's (or the reader's zone is unknown): `{{ reader_span(starts_at, ends_at, ...) }}`."""
    if not (starts_at and ends_at and reader_tz):
        return ""
    instants = [dt.datetime.fromisoformat(starts_at), dt.datetime.fromisoformat(ends_at)]
    event = [local_time(i, event_tz).rsplit(" ", 1)[0] for i in instants]
    reader = [local_time(i, reader_tz) for i in instants]
    # Compare wall clocks, not names: "Europe/London" and "GB" read the same.
    if event == [r.rsplit(" ", 1)[0] for r in reader]:
        return ""
    return f"{reader[0]} to {reader[1]}"


@functools.cache
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        # HTML bodies are escaped like pages; the text bodies are plain text, never escaped.
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["reader_span"] = reader_span
    return env


def render(template: str, context: dict[str, Any]) -> Rendered:
    """Both bodies of templates/email/<template>; the subject is the text template's `subject`."""
    env = _environment()
    text_module = env.get_template(f"{template}.txt").make_module(context)
    subject = " ".join(str(getattr(text_module, "subject", "")).split())
    if not subject:
        raise ValueError(f"templates/email/{template}.txt sets no subject")
    html = env.get_template(f"{template}.html").render({**context, "subject": subject})
    return Rendered(subject=subject, text=str(text_module).strip() + "\n", html=html)


def message_id(outbox_id: Any, host: str) -> str:
    """Stable per outbox row: a retry or a second worker sends the very same Message-ID."""
    return f"<outbox-{outbox_id}@{host}>"


def build_message(
    *,
    msg_id: str,
    sender: str,
    to: str,
    to_name: str,
    rendered: Rendered,
    attachments: list[Attachment],
) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = rendered.subject
    msg["From"] = formataddr(("CertMarket", sender))
    msg["To"] = formataddr((to_name, to)) if to_name else to
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = msg_id
    # RFC 3834: tells autoresponders not to answer a machine.
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(rendered.text)
    msg.add_alternative(rendered.html, subtype="html")
    for a in attachments:
        maintype, subtype = a.content_type.split("/", 1)
        msg.add_attachment(
            a.data, maintype=maintype, subtype=subtype, filename=a.filename, params=a.params
        )
    return msg


class PermanentFailure(Exception):
    """The server refused for good (5xx): retrying cannot help."""


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None: ...

    async def probe(self) -> None:
        """Raise unless the mail server answers; the worker asks before retrying failed mail."""
        ...


class LogMailer:
    """Without SMTP_URL e-mails are only logged (the embedded default)."""

    async def probe(self) -> None:
        # No server to answer: mail that failed for want of one waits for SMTP_URL to be set
        # (or an operator's retry), rather than being "delivered" to the log.
        raise ConnectionError("SMTP_URL is unset: there is no mail server to answer")

    async def send(self, message: EmailMessage) -> None:
        log.info(
            "e-mail not sent (SMTP_URL is unset): to=%s subject=%s message_id=%s",
            message["To"],
            message["Subject"],
            message["Message-ID"],
        )


@dataclass(frozen=True)
class SmtpMailer:
    """smtp://host:port (STARTTLS when offered and credentials are given) or smtps://user:pass@host:port."""

    url: str
    timeout: float = 30.0

    def _connect(self) -> smtplib.SMTP:
        parsed = urlparse(self.url)
        host = parsed.hostname or "localhost"
        if parsed.scheme == "smtps":
            return smtplib.SMTP_SSL(
                host,
                parsed.port or 465,
                timeout=self.timeout,
                context=ssl.create_default_context(),
            )
        if parsed.scheme == "smtp":
            return smtplib.SMTP(host, parsed.port or 25, timeout=self.timeout)
        raise ValueError("SMTP_URL must start with smtp:// or smtps://")

    def _send(self, message: EmailMessage) -> None:
        parsed = urlparse(self.url)
        try:
            with self._connect() as smtp:
                smtp.ehlo()
                if parsed.scheme == "smtp" and parsed.username and smtp.has_extn("starttls"):
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if parsed.username:
                    smtp.login(unquote(parsed.username), unquote(parsed.password or ""))
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if codes and all(code >= 500 for code in codes):
                raise PermanentFailure(f"recipient refused: {exc.recipients}") from exc
            raise
        except smtplib.SMTPDataError as exc:
            # The message itself was refused. Sender refusals and failed logins are the
            # platform's configuration, not this message's fault: those are retried.
            if exc.smtp_code >= 500:
                raise PermanentFailure(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
            raise

    def _probe(self) -> None:
        with self._connect() as smtp:
            smtp.ehlo()
            smtp.noop()

    async def probe(self) -> None:
        """Raise unless the server answers (connect, EHLO, NOOP): is it back after an outage?"""
        await asyncio.to_thread(self._probe)

    async def send(self, message: EmailMessage) -> None:
        # smtplib is blocking; a thread keeps the event loop (and the in-process app) responsive.
        await asyncio.to_thread(self._send, message)


def mailer_for(smtp_url: str, timeout: float = 30.0) -> Mailer:
    return SmtpMailer(smtp_url, timeout) if smtp_url else LogMailer()
