"""The outbox row and its cause share one transaction; preferences decide who gets a row."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
import pytest

from marketplace.core import clock
from marketplace.core.activity import ActionEntry, on_action
from marketplace.core.activity import _listeners as listeners
from marketplace.core.db import write_transaction
from marketplace.notifications.services import notify, set_preferences
from marketplace.notifications.tables import OutboxMessage
from marketplace.scheduling.booking import TeamMember, propose_audit
from marketplace.scheduling.tables import Audit
from marketplace.settings import Settings
from tests.factories import World, csrf_from, sign_in
from tests.factories.quotes import make_quote, make_request
from tests.factories.scheduling import TODAY, at, auditor, engagement
from tests.integration.notifications.smtp import SmtpServer, deliver_all, outbox


async def _proposal(world: World) -> tuple[uuid.UUID, dict[str, object]]:
    clock.travel_to(TODAY)
    started = await engagement(world.a.org_id, world.a.body_id)
    lead = await auditor(world.a.body_id)
    return started.audit_ids["stage1"], {
        "starts_at": at("2027-03-10", 9),
        "ends_at": at("2027-03-10", 17),
        "time_zone": "Europe/London",
        "mode": "onsite",
        "team": [{"auditor_id": str(lead), "role": "lead"}],
    }


async def test_cause_and_outbox_rows_commit_together(
    client: httpx.AsyncClient, world: World
) -> None:
    audit_id, body = await _proposal(world)
    r = await client.post(
        f"/api/v1/audits/{audit_id}/proposal",
        json=body,
        headers=world.actor("a", "body:scheduler").headers,
    )
    assert r.status_code == 200
    rows = await outbox(template="audit_proposed")
    assert len(rows) == 5  # client owner + QM, body owner + scheduler, the lead by address
    assert {r["status"] for r in rows} == {"pending"}
    assert {r["data"]["audit_id"] for r in rows} == {str(audit_id)}


async def test_a_refused_cause_writes_no_outbox_row(
    client: httpx.AsyncClient, world: World
) -> None:
    audit_id, body = await _proposal(world)
    body["starts_at"], body["ends_at"] = at("2027-09-10", 9), at("2027-09-10", 17)
    r = await client.post(
        f"/api/v1/audits/{audit_id}/proposal",
        json=body,
        headers=world.actor("a", "body:scheduler").headers,
    )
    assert r.status_code == 409
    assert await OutboxMessage.count().run() == 0


async def test_cause_failing_after_the_row_was_written_rolls_both_back(world: World) -> None:
    """The row is written inside the cause's transaction: when the cause fails later on, the
    audit stays unproposed and no e-mail is left behind."""
    audit_id, body = await _proposal(world)

    async def explode(entry: ActionEntry) -> None:
        assert await OutboxMessage.count().run() == 5  # written, in this transaction
        raise RuntimeError("the cause fails after its notification was written")

    on_action("marketplace.audit.proposed", explode)
    try:
        with pytest.raises(RuntimeError):
            await propose_audit(
                audit_id,
                None,
                starts_at=dt.datetime.fromisoformat(str(body["starts_at"])),
                ends_at=dt.datetime.fromisoformat(str(body["ends_at"])),
                time_zone="Europe/London",
                team=[TeamMember(uuid.UUID(body["team"][0]["auditor_id"]), "lead")],  # type: ignore[index]
            )
    finally:
        listeners["marketplace.audit.proposed"].remove(explode)
    assert await OutboxMessage.count().run() == 0
    audit = await Audit.select(Audit.status).where(Audit.id == audit_id).first().run()
    assert audit is not None
    assert audit["status"] == "planned"


async def test_notify_inside_a_rolled_back_transaction_leaves_nothing(world: World) -> None:
    user = world.actor("a", "org:owner").user_id

    async def cause() -> None:
        async with write_transaction():
            assert await notify("quote_received", user_ids=[user], data={"x": 1}) == 1
            raise ZeroDivisionError  # the cause fails after notifying

    with pytest.raises(ZeroDivisionError):
        await cause()
    assert await OutboxMessage.count().run() == 0


async def test_dedupe_key_writes_each_recipient_once(world: World) -> None:
    users = [world.actor("a", "org:owner").user_id, world.actor("a", "org:member").user_id]
    assert await notify("report_issued", user_ids=users, data={}, dedupe_key="k1") == 2
    assert await notify("report_issued", user_ids=users, data={}, dedupe_key="k1") == 0
    assert await notify("report_issued", user_ids=users[:1], data={}, dedupe_key="k2") == 1
    assert await OutboxMessage.count().run() == 3


async def test_unknown_kind_is_a_programming_error(world: World) -> None:
    with pytest.raises(ValueError, match="unknown notification kind"):
        await notify("nonsense", user_ids=[world.outsider.user_id], data={})


async def test_opted_out_users_get_no_message(
    world: World, smtp: SmtpServer, mail_settings: Settings
) -> None:
    owner, qm = world.actor("a", "org:owner"), world.actor("a", "org:quality_manager")
    await set_preferences(owner.user_id, {"quote_received": False})
    request_id = await make_request(world)
    await make_quote(world, request_id)
    await deliver_all(mail_settings)
    assert len(smtp.inbox.to(qm.email)) == 1
    assert smtp.inbox.to(owner.email) == []
    # Other kinds still reach the owner.
    await set_preferences(owner.user_id, {"quote_received": True})
    request_id = await make_request(world)
    await make_quote(world, request_id)
    await deliver_all(mail_settings)
    assert len(smtp.inbox.to(owner.email)) == 1


async def test_preferences_api(client: httpx.AsyncClient, world: World) -> None:
    headers = world.actor("a", "org:owner").headers
    r = await client.get("/api/v1/me/notification-preferences", headers=headers)
    assert r.status_code == 200
    prefs = {p["kind"]: p for p in r.json()["preferences"]}
    assert prefs["quote_received"]["email"] is True
    assert "invitation" not in prefs  # invitations cannot be switched off
    assert all(p["label"] and p["description"] for p in prefs.values())

    r = await client.put(
        "/api/v1/me/notification-preferences",
        json={"preferences": [{"kind": "invoice_issued", "email": False}]},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    prefs = {p["kind"]: p["email"] for p in r.json()["preferences"]}
    assert prefs["invoice_issued"] is False
    assert prefs["quote_received"] is True
    # Someone else's settings are untouched.
    r = await client.get(
        "/api/v1/me/notification-preferences", headers=world.actor("a", "org:member").headers
    )
    assert {p["kind"]: p["email"] for p in r.json()["preferences"]}["invoice_issued"] is True

    for bad in (
        {"preferences": [{"kind": "invitation", "email": False}]},
        {"preferences": [{"kind": "nope", "email": False}]},
        {"preferences": [{"kind": "invoice_issued", "email": "maybe"}]},
        {"preferences": "all"},
    ):
        r = await client.put("/api/v1/me/notification-preferences", json=bad, headers=headers)
        assert r.status_code in (400, 422), (bad, r.text)
        assert "detail" in r.json()
    r = await client.get("/api/v1/me/notification-preferences")
    assert r.status_code == 401


async def test_preferences_page(client: httpx.AsyncClient, world: World) -> None:
    actor = world.actor("a", "org:owner")
    await sign_in(client, actor.user_id)
    page = await client.get("/account/notifications")
    assert page.status_code == 200
    assert '<label for="kind_quote_received">Quotes</label>' in page.text
    assert 'id="kind_quote_received" name="kind_quote_received" checked' in page.text
    # Untick everything but audit dates.
    r = await client.post(
        "/account/notifications",
        data={"_csrf_token": csrf_from(page.text), "kind_audit_scheduling": "on"},
    )
    assert r.status_code == 303
    r = await client.get(r.headers["location"])
    assert "Your choices are saved." in r.text
    assert 'name="kind_audit_scheduling" checked' in r.text
    assert 'name="kind_quote_received" checked' not in r.text
    # Without the CSRF token nothing changes.
    r = await client.post("/account/notifications", data={"kind_quote_received": "on"})
    assert r.status_code == 403


async def test_outbox_admin_page_and_api(client: httpx.AsyncClient, world: World) -> None:
    await notify("report_issued", user_ids=[world.actor("a", "org:owner").user_id], data={})
    row = (await outbox())[0]
    await (
        OutboxMessage.update(
            {OutboxMessage.status: "failed", OutboxMessage.last_error: "550 no such user"}
        )
        .where(OutboxMessage.id == row["id"])
        .run()
    )
    r = await client.get("/api/v1/admin/outbox?status=failed", headers=world.admin.headers)
    assert r.status_code == 200
    assert r.json()["total"] == 1
    assert r.json()["items"][0]["last_error"] == "550 no such user"
    assert "data" not in r.json()["items"][0]
    r = await client.get("/api/v1/admin/outbox?status=bogus", headers=world.admin.headers)
    assert r.status_code == 422
    r = await client.get("/api/v1/admin/outbox", headers=world.actor("a", "org:owner").headers)
    assert r.status_code == 403

    await sign_in(client, world.admin.user_id)
    page = await client.get("/admin/outbox?status=failed")
    assert page.status_code == 200
    assert "550 no such user" in page.text
    r = await client.post(
        f"/admin/outbox/{row['id']}/retry", data={"_csrf_token": csrf_from(page.text)}
    )
    assert r.status_code == 303
    assert (await outbox())[0]["status"] == "pending"
    r = await client.post(f"/api/v1/admin/outbox/{row['id']}/retry", headers=world.admin.headers)
    assert r.status_code == 409  # only a failed message can be retried
