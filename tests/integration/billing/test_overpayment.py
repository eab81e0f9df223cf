"""Money beyond the amount due: recorded, shown as overpaid, finance told, refunded once (issue 17)."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from typing import Any

import httpx

from marketplace import cli
from marketplace.billing.tables import Payment, Refund
from marketplace.core.tables import ActivityLog
from marketplace.notifications.email import render
from marketplace.notifications.tables import OutboxMessage
from marketplace.settings import Settings
from tests.factories import Actor, World, sign_in
from tests.factories.billing import issued_invoice
from tests.integration.billing.conftest import Emulator, deliver
from tests.integration.billing.payments import invoice_row, start_payment

TOTAL = 171000


async def _foreign_intent(emulator: Emulator, invoice_id: uuid.UUID) -> str:
    """A second channel: an intent for the same invoice made outside our payment flow (a payment
    link, the Stripe dashboard, a stale tab of an older release), carrying the invoice's id."""
    intent = await emulator.stripe.v1.payment_intents.create_async(
        params={"amount": TOTAL, "currency": "gbp", "metadata": {"invoice_id": str(invoice_id)}}
    )
    return str(intent["id"])


async def _paid_twice(
    client: httpx.AsyncClient, world: World, emulator: Emulator
) -> tuple[uuid.UUID, str, str]:
    """An invoice paid through our flow, then once more through another channel (webhooks)."""
    invoice_id = await issued_invoice(world.a.org_id, world.a.body_id)
    ours = (await start_payment(client, world.actor("a", "org:owner").headers, invoice_id))[
        "payment_intent_id"
    ]
    await emulator.pay(ours)
    assert (
        await deliver(client, await emulator.event_for("payment_intent.succeeded", ours))
    ).json() == {"status": "applied"}
    assert (await invoice_row(invoice_id))["status"] == "paid"
    assert not await _overpaid_entries(invoice_id)
    other = await _foreign_intent(emulator, invoice_id)
    await emulator.pay(other)
    payload = await emulator.event_for("payment_intent.succeeded", other)
    assert (await deliver(client, payload)).json() == {"status": "applied"}
    return invoice_id, ours, other


async def _overpaid_entries(invoice_id: uuid.UUID) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (
        await ActivityLog.select()
        .where(
            (ActivityLog.entity_id == str(invoice_id))
            & (ActivityLog.action == "marketplace.invoice.overpaid")
        )
        .run()
    )
    return rows


async def _sign_in(client: httpx.AsyncClient, actor: Actor, path: str) -> tuple[str, str]:
    """A browser session for the actor; the page at `path` and its CSRF token (or "")."""
    await sign_in(client, actor.user_id)
    page = await client.get(path)
    assert page.status_code == 200, page.text[:300]
    match = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    return page.text, match.group(1) if match else ""


async def test_second_payment_is_flagged_overpaid_and_finance_is_emailed(
    stripe_client: httpx.AsyncClient, world: World, emulator: Emulator
) -> None:
    # Finance switched payment e-mails off: an overpayment must reach them all the same.
    quiet = await stripe_client.put(
        "/api/v1/me/notification-preferences",
        json={"preferences": [{"kind": "invoice_paid", "email": False}]},
        headers=world.actor("a", "body:finance").headers,
    )
    assert quiet.status_code == 200
    invoice_id, ours, other = await _paid_twice(stripe_client, world, emulator)
    row = await invoice_row(invoice_id)
    assert row["amount_paid_minor"] == 2 * TOTAL
    for key in ("body:finance", "org:member"):
        read = (
            await stripe_client.get(
                f"/api/v1/invoices/{invoice_id}", headers=world.actor("a", key).headers
            )
        ).json()
        assert read["status"] == "paid"
        assert read["overpaid"] is True
        assert read["overpaid_minor"] == TOTAL
        assert read["amount_paid_minor"] == 2 * TOTAL
        assert read["amount_due_minor"] == 0
        assert sorted((p["provider_reference"], p["status"]) for p in read["payments"]) == sorted(
            [(ours, "confirmed"), (other, "confirmed")]
        )
    assert len(await _overpaid_entries(invoice_id)) == 1
    # The body's finance people (owner and finance) hear of it through the outbox.
    mails = (
        await OutboxMessage.select()
        .where(OutboxMessage.template == "invoice_overpaid")
        .output(load_json=True)
        .run()
    )
    assert {m["user"] for m in mails} == {
        world.actor("a", "body:owner").user_id,
        world.actor("a", "body:finance").user_id,
    }
    rendered = render("invoice_overpaid", {**mails[0]["data"], "base_url": "http://app.test"})
    assert rendered.subject == "Invoice No. 1 overpaid by Client A Ltd: 1,710.00 GBP to refund"
    assert f"http://app.test/invoices/{invoice_id}" in rendered.text
    # The invoice page says so to both parties; only the body is offered the refund.
    page, _ = await _sign_in(
        stripe_client, world.actor("a", "body:finance"), f"/invoices/{invoice_id}"
    )
    assert "overpaid</span> 1,710.00 GBP was received beyond the amount due" in page
    assert f'href="/invoices/{invoice_id}/refund"' in page
    page, _ = await _sign_in(
        stripe_client, world.actor("a", "org:owner"), f"/invoices/{invoice_id}"
    )
    assert "1,710.00 GBP was received beyond the amount due" in page
    assert f'href="/invoices/{invoice_id}/refund"' not in page


async def test_reconciliation_finds_money_on_an_intent_after_the_invoice_was_paid(
    stripe_client: httpx.AsyncClient,
    world: World,
    emulator: Emulator,
    stripe_settings: Settings,
) -> None:
    invoice_id = await issued_invoice(world.a.org_id, world.a.body_id)
    # The client opened the payment form (our live intent) ...
    ours = (await start_payment(stripe_client, world.actor("a", "org:owner").headers, invoice_id))[
        "payment_intent_id"
    ]
    # ... while their accounts team paid through another channel, which Stripe told us about.
    other = await _foreign_intent(emulator, invoice_id)
    await emulator.pay(other)
    await deliver(stripe_client, await emulator.event_for("payment_intent.succeeded", other))
    assert (await invoice_row(invoice_id))["status"] == "paid"
    # Then the open form is submitted too, and its webhook is lost.
    await emulator.pay(ours)
    _checked, recorded = await cli.reconcile_payments(stripe_settings, progress=False)
    assert recorded == 1
    row = await invoice_row(invoice_id)
    assert row["amount_paid_minor"] == 2 * TOTAL
    read = (
        await stripe_client.get(
            f"/api/v1/invoices/{invoice_id}", headers=world.actor("a", "body:owner").headers
        )
    ).json()
    assert (read["overpaid"], read["overpaid_minor"]) == (True, TOTAL)
    assert len(await _overpaid_entries(invoice_id)) == 1
    # Nothing is recorded twice on the next run.
    assert (await cli.reconcile_payments(stripe_settings, progress=False))[1] == 0
    assert (await invoice_row(invoice_id))["amount_paid_minor"] == 2 * TOTAL


async def test_refund_of_the_excess_from_the_invoice_page(
    stripe_client: httpx.AsyncClient, world: World, emulator: Emulator
) -> None:
    invoice_id, _ours, other = await _paid_twice(stripe_client, world, emulator)
    finance = world.actor("a", "body:finance")
    # A confirm step first: what will be refunded, and a form carrying the CSRF token.
    confirm, token = await _sign_in(stripe_client, finance, f"/invoices/{invoice_id}/refund")
    assert "1,710.00 GBP</strong> will be refunded through Stripe" in confirm
    assert f'action="/invoices/{invoice_id}/refund"' in confirm
    assert token
    # Without the token the form post is refused and nothing is refunded.
    forged = await stripe_client.post(f"/invoices/{invoice_id}/refund")
    assert forged.status_code == 403
    assert await Refund.count().run() == 0
    done = await stripe_client.post(f"/invoices/{invoice_id}/refund", data={"_csrf_token": token})
    assert done.status_code == 303
    assert done.headers["location"] == f"/invoices/{invoice_id}?refunded=1"
    # Stripe (localstripe) holds one refund of the excess, on the second payment.
    refunds = (await emulator.http.get("/v1/refunds", params={"payment_intent": other})).json()
    assert [(r["amount"], r["status"]) for r in refunds["data"]] == [(TOTAL, "succeeded")]
    refund = await Refund.select().first().run()
    assert refund is not None
    assert (refund["state"], refund["amount_minor"], refund["provider_refund_id"]) == (
        "succeeded",
        TOTAL,
        refunds["data"][0]["id"],
    )
    payment = await Payment.select().where(Payment.payment_intent_id == other).first().run()
    assert payment is not None
    assert (payment["state"], payment["refunded_minor"]) == ("refunded", TOTAL)
    entries = (
        await ActivityLog.select()
        .where(ActivityLog.action == "marketplace.invoice.overpayment_refunded")
        .run()
    )
    assert [(e["actor_id"], e["entity_id"]) for e in entries] == [
        (finance.user_id, str(invoice_id))
    ]
    page = (await stripe_client.get(f"/invoices/{invoice_id}?refunded=1")).text
    assert "The refund was issued through Stripe" in page
    assert "beyond the amount due" not in page
    read = (
        await stripe_client.get(f"/api/v1/invoices/{invoice_id}", headers=finance.headers)
    ).json()
    assert (read["overpaid"], read["overpaid_minor"], read["status"]) == (False, 0, "paid")
    assert [(r["status"], r["amount_minor"]) for r in read["refunds"]] == [("succeeded", TOTAL)]
    # A second try finds nothing left to refund; Stripe's later charge.refunded changes nothing.
    again = await stripe_client.post(f"/invoices/{invoice_id}/refund", data={"_csrf_token": token})
    assert again.status_code == 409
    charge = (await emulator.http.get(f"/v1/charges/{refunds['data'][0]['charge']}")).json()
    event = {
        "id": "evt_refund_x",
        "object": "event",
        "type": "charge.refunded",
        "created": 1,
        "data": {"object": charge},
    }
    assert (await deliver(stripe_client, json.dumps(event).encode())).json() == {
        "status": "ignored"
    }
    assert (await invoice_row(invoice_id))["amount_paid_minor"] == 2 * TOTAL


async def test_concurrent_refunds_issue_one(
    stripe_client: httpx.AsyncClient, world: World, emulator: Emulator
) -> None:
    invoice_id, _ours, other = await _paid_twice(stripe_client, world, emulator)
    headers = world.actor("a", "body:owner").headers
    responses = await asyncio.gather(
        *[
            stripe_client.post(f"/api/v1/invoices/{invoice_id}/refund-overpayment", headers=headers)
            for _ in range(10)
        ]
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * 9, [r.text for r in responses]
    assert {r.json()["code"] for r in responses if r.status_code == 409} <= {
        "not_overpaid",
        "refund_in_progress",
    }
    refunds = (await emulator.http.get("/v1/refunds", params={"payment_intent": other})).json()
    assert [r["amount"] for r in refunds["data"]] == [TOTAL]
    assert await Refund.count().run() == 1
    assert (
        await ActivityLog.count()
        .where(ActivityLog.action == "marketplace.invoice.overpayment_refunded")
        .run()
        == 1
    )


async def test_only_finance_and_owners_refund(
    stripe_client: httpx.AsyncClient, world: World, emulator: Emulator
) -> None:
    invoice_id, _ours, _other = await _paid_twice(stripe_client, world, emulator)
    for key, code in (("org:owner", 403), ("body:scheduler", 403), ("body:auditor", 403)):
        response = await stripe_client.post(
            f"/api/v1/invoices/{invoice_id}/refund-overpayment",
            headers=world.actor("a", key).headers,
        )
        assert response.status_code == code, (key, response.text)
    other_body = await stripe_client.post(
        f"/api/v1/invoices/{invoice_id}/refund-overpayment",
        headers=world.actor("b", "body:finance").headers,
    )
    assert other_body.status_code == 404
    _, token = await _sign_in(
        stripe_client, world.actor("a", "org:owner"), f"/invoices/{invoice_id}"
    )
    page = await stripe_client.post(f"/invoices/{invoice_id}/refund", data={"_csrf_token": token})
    assert page.status_code == 403
    assert await Refund.count().run() == 0


async def test_nothing_to_refund_on_an_exactly_paid_invoice(
    stripe_client: httpx.AsyncClient, world: World, emulator: Emulator
) -> None:
    invoice_id = await issued_invoice(world.a.org_id, world.a.body_id)
    ours = (await start_payment(stripe_client, world.actor("a", "org:owner").headers, invoice_id))[
        "payment_intent_id"
    ]
    await emulator.pay(ours)
    await deliver(stripe_client, await emulator.event_for("payment_intent.succeeded", ours))
    response = await stripe_client.post(
        f"/api/v1/invoices/{invoice_id}/refund-overpayment",
        headers=world.actor("a", "body:finance").headers,
    )
    assert response.status_code == 409
    assert response.json()["code"] == "not_overpaid"
    read = (
        await stripe_client.get(
            f"/api/v1/invoices/{invoice_id}", headers=world.actor("a", "body:finance").headers
        )
    ).json()
    assert (read["overpaid"], read["overpaid_minor"]) == (False, 0)
    assert (
        not await OutboxMessage.exists().where(OutboxMessage.template == "invoice_overpaid").run()
    )
