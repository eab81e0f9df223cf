"""E-mail rendering and assembly without a database: every template, subjects, MIME structure."""

from __future__ import annotations

import datetime as dt
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
