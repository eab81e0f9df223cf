"""E-mail rendering and assembly without a database: every template, subjects, MIME structure."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from marketplace.notifications.email import (
    TEMPLATE_DIR,
    Attachment,
    LogMailer,
    SmtpMailer,
    build_message,
    mailer_for,
    message_id,
    reader_span,
    render,
)
from marketplace.notifications.services import KINDS
from marketplace.notifications.worker import backoff

SAMPLE = {
    "base_url": "https://market.example",
    "path": "/somewhere/1",
    "recipient_name": "Ann Example",
    "organisation": "Acme Ltd",
    "body_name": "Certify & Co",
    "standard": "ISO 9001:2015",
    "total": "1,000.00 GBP",
    "amount": "1,000.00 GBP",
    "quoted_days": 5,
    "baseline_days": 3.5,
    "below_baseline": False,
    "audit_label": "ISO 9001 stage 1",
    "starts": "2027-03-10 09:00 Europe/London",
    "ends": "2027-03-10 17:00 Europe/London",
    "mode": "on site",
    "team": "Lee Lead (lead)",
    "reason": "",
    "findings": 2,
    "corrective_actions": 1,
    "grade": "minor",
    "clause": "8.5.1",
    "due_on": "2027-04-01",
    "days_left": 7,
    "number_label": "No. 7",
    "number": "CC-2027-0001",
    "expires_on": "2030-03-01",
    "tenant_name": "Acme Ltd",
    "tenant_kind": "organisation",
    "role": "member",
    "inviter": "Bob",
    "email": "new@example.test",
    "count": 2,
    "documents": ["QP-01 Quality policy", "PR-07 Control of records"],
    "scope": "All processes at the Leeds site",
    "held_on": "2027-02-01",
    "document": "QP-01 Quality policy",
    "version": 3,
    "excerpt": "Retention period not stated.",
}
TEMPLATES = sorted(p.stem for p in Path(TEMPLATE_DIR).glob("[!_]*.txt"))


def test_every_text_template_has_an_html_twin() -> None:
    assert TEMPLATES
    for name in TEMPLATES:
        assert (Path(TEMPLATE_DIR) / f"{name}.html").exists(), name


@pytest.mark.parametrize("template", TEMPLATES)
def test_template_renders_subject_and_both_bodies(template: str) -> None:
    rendered = render(template, dict(SAMPLE))
    assert rendered.subject
    assert "\n" not in rendered.subject
    assert "{{" not in rendered.subject
    assert "Hello Ann Example," in rendered.text
    assert "https://market.example/somewhere/1" in rendered.text
    assert 'href="https://market.example/somewhere/1"' in rendered.html
    assert "https://market.example/account/notifications" in rendered.text
    assert "&amp; Co" in rendered.html or "Certify" not in rendered.html


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize(
    "variant",
    [{}, {"reason": "The site is closed", "below_baseline": True, "grade": "major"}],
    ids=["plain", "with-optional-lines"],
)
def test_text_body_keeps_its_lines_apart(template: str, variant: dict[str, object]) -> None:
    # Jinja's trim_blocks eats the newline after a tag that ends a line of text; a sentence that
    # ran into the next one ("...on site).Reason: ...") was how that showed.
    text = render(template, {**SAMPLE, **variant}).text
    assert text.startswith("Hello Ann Example,\n\n")
    glued = [line for line in text.splitlines() if re.search(r"[.)][A-Z]", line)]
    assert glued == []
    if variant.get("reason") and "reason" in (Path(TEMPLATE_DIR) / f"{template}.txt").read_text():
        assert "\nReason: The site is closed\n" in text


def test_reader_span_only_where_the_readers_clock_differs() -> None:
    starts, ends = "2027-03-10T09:00:00+00:00", "2027-03-10T17:00:00+00:00"
    assert reader_span(starts, ends, "Europe/London", "Asia/Kolkata") == (
        "2027-03-10 14:30 Asia/Kolkata to 2027-03-10 22:30 Asia/Kolkata"
    )
    # Same wall clock under another name, an unknown reader zone, or no instants: nothing.
    assert reader_span(starts, ends, "Europe/London", "UTC") == ""
    assert reader_span(starts, ends, "Europe/London", "") == ""
    assert reader_span("", ends, "Europe/London", "Asia/Kolkata") == ""
    # In July London is an hour ahead of UTC, so a UTC reader gets the line.
    summer = reader_span(
        "2027-07-10T08:00:00+00:00", "2027-07-10T16:00:00+00:00", "Europe/London", "UTC"
    )
    assert summer == "2027-07-10 08:00 UTC to 2027-07-10 16:00 UTC"


def test_audit_mail_adds_the_readers_time() -> None:
    sample = {
        **SAMPLE,
        "starts_at": "2027-03-10T09:00:00+00:00",
        "ends_at": "2027-03-10T17:00:00+00:00",
        "time_zone": "Europe/London",
        "recipient_time_zone": "America/New_York",
    }
    rendered = render("audit_proposed", sample)
    line = "In your time zone that is 2027-03-10 04:00 America/New_York to 2027-03-10 12:00 America/New_York."
    assert line in rendered.text.splitlines()
    assert f"<p>{line}</p>" in rendered.html
    assert "In your time zone" not in render("audit_proposed", dict(SAMPLE)).text


def test_every_kind_is_labelled() -> None:
    assert all(k.label and k.description for k in KINDS.values())
    assert not KINDS["invitation"].optional


def test_message_has_text_html_and_attachment() -> None:
    rendered = render("invitation", dict(SAMPLE))
    msg = build_message(
        msg_id=message_id("abc", "market.example"),
        sender="no-reply@market.example",
        to="new@example.test",
        to_name="New Person",
        rendered=rendered,
        attachments=[
            Attachment("invite.ics", "text/calendar", b"BEGIN:VCALENDAR", {"method": "REQUEST"})
        ],
    )
    assert msg["Message-ID"] == "<outbox-abc@market.example>"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg.get_body(preferencelist=("plain",)) is not None
    assert msg.get_body(preferencelist=("html",)) is not None
    [part] = list(msg.iter_attachments())
    assert part.get_content_type() == "text/calendar"
    assert part.get_param("method") == "REQUEST"
    assert part.get_filename() == "invite.ics"


def test_mailer_choice() -> None:
    assert isinstance(mailer_for(""), LogMailer)
    mailer = mailer_for("smtps://user:p%40ss@mail.example:465", 5)
    assert isinstance(mailer, SmtpMailer)
    assert mailer.timeout == 5
    with pytest.raises(ValueError, match="smtp://"):
        SmtpMailer("http://mail.example")._connect()


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff(n, 60).total_seconds() for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert backoff(30, 60) == dt.timedelta(hours=6)
