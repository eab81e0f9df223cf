"""Each hooked notification, from its cause through the outbox and a real SMTP server to the inbox."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from icalendar import Calendar  # type: ignore[import-untyped]

from marketplace.accounts.tables import User
from marketplace.billing.payments import record_success
from marketplace.certificates.registry import certificate_row
from marketplace.certificates.status import restore, suspend
from marketplace.core import clock
from marketplace.core.db import write_transaction
from marketplace.findings.tables import CorrectiveAction
from marketplace.notifications.worker import Worker
from marketplace.scheduling.tables import Auditor
from marketplace.settings import Settings
from tests.factories import World
from tests.factories.billing import issued_invoice
from tests.factories.certificates import granted
from tests.factories.findings import issued_report
from tests.factories.quotes import make_quote, make_request
from tests.factories.scheduling import TODAY, at, auditor, engagement, proposal
from tests.integration.notifications.smtp import (
    SmtpServer,
    calendar_parts,
    deliver_all,
    outbox,
    parts,
    recipients,
    subject,
)


def _addresses(world: World, *keys: str) -> set[str]:
    return {world.actor("a", k).email for k in keys}


def _only(smtp: SmtpServer, address: str) -> EmailMessage:
    got = smtp.inbox.to(address)
    assert len(got) == 1, [subject(m) for m in got]
    return got[0]


async def test_quote_request_and_quote(
    world: World, smtp: SmtpServer, mail_settings: Settings
) -> None:
    request_id = await make_request(world)
    await deliver_all(mail_settings)
    # The body's owner and scheduler hear of the request; nobody else.
    assert recipients(smtp) == _addresses(world, "body:owner", "body:scheduler")
    message = _only(smtp, world.actor("a", "body:scheduler").email)
    assert subject(message).startswith("New quote request from ")
    text, html = parts(message)
    link = f"http://testserver/manage/bodies/{world.a.body_id}/quote-requests/{request_id}"
    assert link in text
    assert f'href="{link}"' in html
    assert "ISO 9001:2015" in text

    smtp.inbox.clear()
    await make_quote(world, request_id, days={"stage1": 0.5, "stage2": 1})
    await deliver_all(mail_settings)
    assert recipients(smtp) == _addresses(world, "org:owner", "org:quality_manager")
    text, html = parts(_only(smtp, world.actor("a", "org:owner").email))
    assert "below the IAF MD 5 minimum of 3.5 days" in text
    assert f"http://testserver/quote-requests/{request_id}" in text
    assert "GBP" in html


def _invitation(message: EmailMessage) -> Any:
    [part] = calendar_parts(message)
    assert part.get_content_type() == "text/calendar"
    calendar = Calendar.from_ical(part.get_content())
    [event] = calendar.walk("VEVENT")
    return part.get_param("method"), calendar, event


async def test_audit_lifecycle_with_calendar_invitations(
    client: httpx.AsyncClient, world: World, smtp: SmtpServer, mail_settings: Settings
) -> None:
    clock.travel_to(TODAY)
    started = await engagement(world.a.org_id, world.a.body_id)
    audit_id = started.audit_ids["stage1"]
    lead = await auditor(world.a.body_id)
    lead_email = (await Auditor.select(Auditor.email).where(Auditor.id == lead).first().run())[
        "email"
    ]
    scheduler = world.actor("a", "body:scheduler").headers
    # The owner reads mail in New York; the quality manager's zone (UTC) reads as London in March.
    owner = world.actor("a", "org:owner")
    await User.update({User.time_zone: "America/New_York"}).where(User.id == owner.user_id).run()
    expected = _addresses(
        world, "org:owner", "org:quality_manager", "body:owner", "body:scheduler"
    ) | {lead_email}

    r = await client.post(
        f"/api/v1/audits/{audit_id}/proposal",
        json=proposal(lead, "2027-03-10"),
        headers=scheduler,
    )
    assert r.status_code == 200, r.text
    await deliver_all(mail_settings)
    assert recipients(smtp) == expected  # client, body planners and the team (by address)
    message = _only(smtp, world.actor("a", "org:owner").email)
    assert subject(message) == "Audit proposed: ISO 9001 stage 1 on 2027-03-10 09:00 Europe/London"
    text, html = parts(message)
    assert "Lee Lead (lead)" in text
    assert "Lee Lead (lead)" in html
    theirs = "2027-03-10 04:00 America/New_York to 2027-03-10 12:00 America/New_York"
    assert f"In your time zone that is {theirs}." in text
    assert f"In your time zone that is {theirs}." in html
    qm_text, _ = parts(_only(smtp, world.actor("a", "org:quality_manager").email))
    assert "from 2027-03-10 09:00 Europe/London to 2027-03-10 17:00 Europe/London" in qm_text
    assert "In your time zone" not in qm_text
    assert f"http://testserver/audits/{audit_id}" in text
    method, calendar, event = _invitation(message)
    assert method == "REQUEST"
    assert str(calendar["METHOD"]) == "REQUEST"
    assert str(event["UID"]) == f"audit-{audit_id}@testserver"
    assert int(event["SEQUENCE"]) == 0
    assert str(event["STATUS"]) == "TENTATIVE"
    assert event.decoded("DTSTART") == dt.datetime(2027, 3, 10, 9, 0, tzinfo=dt.UTC)
    attendees = {str(a).lower() for a in event.get("ATTENDEE")}
    assert f"mailto:{lead_email}" in attendees

    smtp.inbox.clear()
    r = await client.post(
        f"/api/v1/audits/{audit_id}/confirm", headers=world.actor("a", "org:owner").headers
    )
    assert r.status_code == 200
    await deliver_all(mail_settings)
    message = _only(smtp, lead_email)
    assert subject(message).startswith("Audit confirmed: ISO 9001 stage 1")
    method, _, event = _invitation(message)
    assert (method, str(event["STATUS"])) == ("REQUEST", "CONFIRMED")

    smtp.inbox.clear()
    r = await client.post(
        f"/api/v1/audits/{audit_id}/reschedule",
        json={
            "starts_at": at("2027-03-17", 9),
            "ends_at": at("2027-03-17", 17),
            "reason": "Plant shutdown",
        },
        headers=scheduler,
    )
    assert r.status_code == 200, r.text
    await deliver_all(mail_settings)
    assert recipients(smtp) == expected
    message = _only(smtp, world.actor("a", "org:quality_manager").email)
    text, _html = parts(message)
    assert "Reason: Plant shutdown" in text
    _, _, event = _invitation(message)
    assert int(event["SEQUENCE"]) == 1  # calendars update the event in place
    assert event.decoded("DTSTART") == dt.datetime(2027, 3, 17, 9, 0, tzinfo=dt.UTC)

    smtp.inbox.clear()
    r = await client.post(
        f"/api/v1/audits/{audit_id}/cancel", json={"reason": "Client withdrew"}, headers=scheduler
    )
    assert r.status_code == 200
    await deliver_all(mail_settings)
    assert recipients(smtp) == expected  # the released team is told too
    message = _only(smtp, lead_email)
    assert subject(message) == "Audit cancelled: ISO 9001 stage 1"
    method, calendar, event = _invitation(message)
    assert method == "CANCEL"
    assert str(calendar["METHOD"]) == "CANCEL"
    assert (str(event["STATUS"]), int(event["SEQUENCE"])) == ("CANCELLED", 2)
    assert str(event["UID"]) == f"audit-{audit_id}@testserver"


async def test_a_cancellation_goes_to_the_team_it_released_only(
    client: httpx.AsyncClient, world: World, smtp: SmtpServer, mail_settings: Settings
) -> None:
    # The same slot is booked twice in the same minute with different leads; cancelling the
    # second booking must tell its lead, not the first booking's (released earlier).
    clock.travel_to(TODAY)
    started = await engagement(world.a.org_id, world.a.body_id)
    audit_id = started.audit_ids["stage1"]
    scheduler = world.actor("a", "body:scheduler").headers
    emails = {}
    for name in ("Ann First", "Bob Second"):
        lead = await auditor(world.a.body_id, name)
        row = await Auditor.select(Auditor.email).where(Auditor.id == lead).first().run()
        emails[name] = row["email"]
        r = await client.post(
            f"/api/v1/audits/{audit_id}/proposal",
            json=proposal(lead, "2027-03-10"),
            headers=scheduler,
        )
        assert r.status_code == 200, r.text
        await deliver_all(mail_settings)
        smtp.inbox.clear()
        r = await client.post(
            f"/api/v1/audits/{audit_id}/cancel", json={"reason": "Not needed"}, headers=scheduler
        )
        assert r.status_code == 200, r.text
        await deliver_all(mail_settings)
        cancelled_to = {a for a in emails.values() if smtp.inbox.to(a)}
        assert cancelled_to == {emails[name]}
        message = _only(smtp, emails[name])
        assert subject(message) == "Audit cancelled: ISO 9001 stage 1"


async def test_report_issued_and_corrective_action_reminders(
    world: World, smtp: SmtpServer, mail_settings: Settings
) -> None:
    _made, report_id, actions = await issued_report(
        world.a.org_id, world.a.body_id, ("major", "minor")
    )
    await deliver_all(mail_settings)
    assert recipients(smtp) == _addresses(world, "org:owner", "org:quality_manager")
    message = _only(smtp, world.actor("a", "org:owner").email)
    assert subject(message) == "Audit report issued: ISO 9001 stage 2"
    text, html = parts(message)
    assert "Findings: 2. Corrective actions opened: 2." in text
    assert f'href="http://testserver/reports/{report_id}"' in html

    # The major's owner is the quality manager; the minor has no owner (goes to owner + QM).
    qm = world.actor("a", "org:quality_manager")
    await (
        CorrectiveAction.update({CorrectiveAction.owner: qm.user_id})
        .where(CorrectiveAction.id == actions["major"])
        .run()
    )
    await (
        CorrectiveAction.update({CorrectiveAction.due_on: clock.today() + dt.timedelta(days=7)})
        .where(CorrectiveAction.id == actions["major"])
        .run()
    )
    await (
        CorrectiveAction.update({CorrectiveAction.due_on: clock.today() + dt.timedelta(days=40)})
        .where(CorrectiveAction.id == actions["minor"])
        .run()
    )
    smtp.inbox.clear()
    worker = Worker(mail_settings)
    await worker.run_sweeps()
    await worker.drain()
    message = _only(smtp, qm.email)
    assert subject(message).startswith("Corrective action due on ")
    text, _ = parts(message)
    assert "major nonconformity against clause 8.5.1" in text
    assert "in 7 days" in text
    assert f"http://testserver/corrective-actions/{actions['major']}" in text
    assert smtp.inbox.to(world.actor("a", "org:owner").email) == []  # not the minor yet

    # Sweeps run again (another hour, another worker): the same reminder is not repeated.
    clock.travel_to(clock.now() + dt.timedelta(hours=2))
    await Worker(mail_settings).run_sweeps()
    assert len(await outbox(template="corrective_action_due")) == 1

    # Eight days later the major is overdue: one overdue reminder, however often the sweep runs.
    smtp.inbox.clear()
    clock.travel_to(clock.now() + dt.timedelta(days=8))
    for _ in range(2):
        await Worker(mail_settings).run_sweeps()
        clock.travel_to(clock.now() + dt.timedelta(hours=2))
    await deliver_all(mail_settings)
    message = _only(smtp, qm.email)
    assert subject(message).startswith("Overdue: corrective action for clause 8.5.1")
    assert "certification decision waits" in parts(message)[0]


async def test_invoice_issued_and_paid(
    world: World, smtp: SmtpServer, mail_settings: Settings
) -> None:
    invoice_id = await issued_invoice(world.a.org_id, world.a.body_id)
    await deliver_all(mail_settings)
    assert recipients(smtp) == _addresses(world, "org:owner", "org:quality_manager")
    message = _only(smtp, world.actor("a", "org:owner").email)
    assert subject(message).startswith("Invoice No. 1 from ")
    text, html = parts(message)
    assert "1,710.00 GBP" in text  # 1.5 x 950.00 + 20% VAT
    assert f'href="http://testserver/invoices/{invoice_id}"' in html

    smtp.inbox.clear()
    from marketplace.billing.tables import Payment

    payment = Payment(
        invoice=invoice_id, payment_intent_id="pi_test_1", amount_minor=171000, state="pending"
    )
    await payment.save().run()
    async with write_transaction():
        assert await record_success(payment.id, 171000, clock.now())
    await deliver_all(mail_settings)
    # The body's finance hears the money arrived; the client's people get a receipt.
    assert recipients(smtp) == _addresses(
        world, "body:owner", "body:finance", "org:owner", "org:quality_manager"
    )
    text, _ = parts(_only(smtp, world.actor("a", "body:finance").email))
    assert "paid invoice No. 1: 1,710.00 GBP received." in text
    receipt = _only(smtp, world.actor("a", "org:quality_manager").email)
    assert subject(receipt).startswith("Payment received: invoice No. 1 from ")
    assert "received your payment of 1,710.00 GBP for invoice No. 1." in parts(receipt)[0]


async def test_certificate_suspended_at_risk_and_expiring(
    world: World, smtp: SmtpServer, mail_settings: Settings
) -> None:
    _made, number = await granted(world.a.org_id, world.a.body_id)
    owner = world.actor("a", "org:owner").email
    await Worker(mail_settings).run_sweeps()
    smtp.inbox.clear()
    await deliver_all(mail_settings)
    smtp.inbox.clear()

    # 13 months on, surveillance 1 was never held: at risk (and only once).
    clock.travel_to(clock.now() + dt.timedelta(days=400))
    for _ in range(2):
        await Worker(mail_settings).run_sweeps()
        clock.travel_to(clock.now() + dt.timedelta(hours=7))
    await deliver_all(mail_settings)
    message = _only(smtp, owner)
    assert subject(message) == f"Certificate {number} is at risk of suspension"
    assert f"http://testserver/certificates/{number}" in parts(message)[0]

    smtp.inbox.clear()
    await suspend(None, number, "Surveillance 1 not held")
    await deliver_all(mail_settings)
    message = _only(smtp, owner)
    assert subject(message) == f"Certificate {number} is suspended"
    assert "Reason: Surveillance 1 not held" in parts(message)[0]

    smtp.inbox.clear()
    await restore(None, number, "Surveillance held")
    row = await certificate_row(number)
    clock.travel_to(
        dt.datetime.combine(row.expires_on - dt.timedelta(days=60), dt.time(9), tzinfo=dt.UTC)
    )
    await Worker(mail_settings).run_sweeps()
    await deliver_all(mail_settings)
    expiring = [m for m in smtp.inbox.to(owner) if "expires on" in subject(m)]
    assert len(expiring) == 1
    assert "in 60 days" in parts(expiring[0])[0]


async def test_invitation_to_an_unknown_address(
    client: httpx.AsyncClient, world: World, smtp: SmtpServer, mail_settings: Settings
) -> None:
    address = f"invitee-{uuid.uuid4().hex[:6]}@example.test"
    r = await client.post(
        f"/api/v1/organisations/{world.a.org_id}/members",
        json={"email": address, "role": "quality_manager"},
        headers=world.actor("a", "org:owner").headers,
    )
    assert r.status_code == 201, r.text
    await deliver_all(mail_settings)
    message = _only(smtp, address)
    text, html = parts(message)
    assert "to join" in text
    assert "as quality manager" in text
    # A single-use link on the base URL; the accept page asks the person to sign in first.
    link = re.search(r'href="(http://testserver/invitations/[A-Za-z0-9_-]{40,})"', html)
    assert link, html
    assert link.group(1) in text
    assert "You join only if you accept" in text


@pytest.mark.parametrize("kind", ["org:member", "body:auditor"])
async def test_roles_without_a_stake_get_nothing(
    world: World, smtp: SmtpServer, mail_settings: Settings, kind: str
) -> None:
    request_id = await make_request(world)
    await make_quote(world, request_id)
    await deliver_all(mail_settings)
    assert smtp.inbox.messages
    assert smtp.inbox.to(world.actor("a", kind).email) == []
