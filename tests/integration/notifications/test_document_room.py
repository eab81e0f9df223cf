"""Document-room e-mails: a share tells the body's planners once, a body comment tells the client."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx

from marketplace.core import clock
from marketplace.readiness.internal_audits import create_internal_audit
from marketplace.readiness.sharing import share_documents
from marketplace.readiness.tables import ControlledDocument
from marketplace.scheduling.tables import Auditor
from marketplace.settings import Settings
from tests.factories import World
from tests.factories.readiness import approved_document
from tests.factories.scheduling import TODAY, auditor, engagement, proposal
from tests.integration.notifications.smtp import (
    SmtpServer,
    deliver_all,
    parts,
    recipients,
    subject,
)


async def _share(client: httpx.AsyncClient, world: World, docs: list[uuid.UUID]) -> None:
    r = await client.post(
        f"/api/v1/organisations/{world.a.org_id}/document-shares",
        json={"body_id": str(world.a.body_id), "document_ids": [str(d) for d in docs]},
        headers=world.actor("a", "org:quality_manager").headers,
    )
    assert r.status_code in (200, 201), r.text


async def test_sharing_documents_sends_one_email_per_share_to_the_bodys_planners(
    client: httpx.AsyncClient, world: World, smtp: SmtpServer, mail_settings: Settings
) -> None:
    await engagement(world.a.org_id, world.a.body_id)
    docs = [(await approved_document(world.a.org_id, code))[0] for code in ("QP-01", "QP-02")]
    await deliver_all(mail_settings)
    smtp.inbox.clear()
    await _share(client, world, docs)
    await deliver_all(mail_settings)
    planners = {world.actor("a", k).email for k in ("body:owner", "body:scheduler")}
    assert recipients(smtp) == planners
    assert len(smtp.inbox.messages) == 2  # one each, not one per document
    message = smtp.inbox.to(world.actor("a", "body:scheduler").email)[0]
    assert subject(message) == "Client A Ltd shared 2 documents with you"
    text, html = parts(message)
    assert "- QP-01 Document QP-01\n" in text.replace("\r\n", "\n")
    assert "<li>QP-02 Document QP-02</li>" in html
    assert "http://testserver/shared-documents" in text

    # Sharing the same documents again shares nothing new and sends nothing.
    smtp.inbox.clear()
    await _share(client, world, docs)
    await deliver_all(mail_settings)
    assert smtp.inbox.messages == []


async def test_a_body_comment_reaches_the_clients_managers_and_the_documents_owner(
    client: httpx.AsyncClient, world: World, smtp: SmtpServer, mail_settings: Settings
) -> None:
    await engagement(world.a.org_id, world.a.body_id)
    doc, version = await approved_document(world.a.org_id)
    member = world.actor("a", "org:member")
    await (
        ControlledDocument.update({ControlledDocument.owner: member.user_id})
        .where(ControlledDocument.id == doc)
        .run()
    )
    await share_documents(None, world.a.org_id, world.a.body_id, [doc])
    await deliver_all(mail_settings)
    smtp.inbox.clear()
    r = await client.post(
        f"/api/v1/bodies/{world.a.body_id}/shared-documents/{doc}/comments",
        json={"version_id": str(version), "text": "Clause 7.5.3:   retention not stated."},
        headers=world.actor("a", "body:auditor").headers,
    )
    assert r.status_code == 201, r.text
    await deliver_all(mail_settings)
    expected = {world.actor("a", k).email for k in ("org:owner", "org:quality_manager")}
    assert recipients(smtp) == expected | {member.email}
    message = smtp.inbox.to(member.email)[0]
    assert subject(message) == "Body A Certification commented on QP-01 Document QP-01"
    text, _ = parts(message)
    assert '"Clause 7.5.3: retention not stated."' in text
    assert f"http://testserver/documents/{doc}" in text


async def test_sharing_an_internal_audit_tells_the_body_and_respects_preferences(
    client: httpx.AsyncClient, world: World, smtp: SmtpServer, mail_settings: Settings
) -> None:
    await engagement(world.a.org_id, world.a.body_id)
    audit = await create_internal_audit(
        None,
        world.a.org_id,
        {
            "scope": "All processes",
            "clauses": ["4", "5"],
            "auditor_name": "Pat",
            "planned_on": clock.today() - dt.timedelta(days=3),
        },
    )
    # The scheduler switched document-room e-mails off.
    scheduler = world.actor("a", "body:scheduler")
    r = await client.put(
        "/api/v1/me/notification-preferences",
        json={"preferences": [{"kind": "document_room", "email": False}]},
        headers=scheduler.headers,
    )
    assert r.status_code == 200, r.text
    await deliver_all(mail_settings)
    smtp.inbox.clear()
    r = await client.post(
        f"/api/v1/organisations/{world.a.org_id}/internal-audits/{audit}/share",
        json={"body_id": str(world.a.body_id)},
        headers=world.actor("a", "org:quality_manager").headers,
    )
    assert r.status_code == 200, r.text
    await deliver_all(mail_settings)
    assert recipients(smtp) == {world.actor("a", "body:owner").email}
    message = smtp.inbox.messages[0]
    assert subject(message) == "Client A Ltd shared an internal audit with you"
    text, _ = parts(message)
    assert "All processes" in text
    assert f"http://testserver/shared-internal-audits/{audit}" in text


async def test_a_share_also_reaches_the_lead_auditor_booked_for_stage_1(
    client: httpx.AsyncClient, world: World, smtp: SmtpServer, mail_settings: Settings
) -> None:
    clock.travel_to(TODAY)
    started = await engagement(world.a.org_id, world.a.body_id)
    lead = await auditor(world.a.body_id)
    account = world.actor("a", "body:auditor")
    await Auditor.update({Auditor.user: account.user_id}).where(Auditor.id == lead).run()
    docs = [(await approved_document(world.a.org_id, f"QP-0{n}"))[0] for n in (1, 2, 3)]
    planners = {world.actor("a", k).email for k in ("body:owner", "body:scheduler")}
    await deliver_all(mail_settings)

    async def share_and_read(doc: uuid.UUID) -> set[str]:
        smtp.inbox.clear()
        await _share(client, world, [doc])
        await deliver_all(mail_settings)
        return recipients(smtp)

    # Stage 1 not booked yet: the planners only.
    assert await share_and_read(docs[0]) == planners
    r = await client.post(
        f"/api/v1/audits/{started.audit_ids['stage1']}/proposal",
        json=proposal(lead, "2027-03-10"),
        headers=world.actor("a", "body:scheduler").headers,
    )
    assert r.status_code == 200, r.text
    await deliver_all(mail_settings)  # the proposal's own e-mails
    # Booked: its lead too, by their account.
    assert await share_and_read(docs[1]) == planners | {account.email}
    # A lead with no account is written to at the auditor's address, as audit e-mails are.
    await Auditor.update({Auditor.user: None}).where(Auditor.id == lead).run()
    address = (await Auditor.select(Auditor.email).where(Auditor.id == lead).first().run())["email"]
    assert await share_and_read(docs[2]) == planners | {address}
