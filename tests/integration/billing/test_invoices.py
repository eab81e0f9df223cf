"""Drafting, issuing and voiding invoices through the API; totals, freezing and who sees what."""

from __future__ import annotations

import httpx

from marketplace.billing.tables import Invoice, InvoiceLine
from marketplace.core.tables import ActivityLog
from tests.factories import World
from tests.factories.billing import LINES, draft_invoice, issued_invoice
from tests.factories.scheduling import engagement


async def test_draft_issue_and_read(client: httpx.AsyncClient, world: World) -> None:
    started = await engagement(world.a.org_id, world.a.body_id)
    finance = world.actor("a", "body:finance").headers
    response = await client.post(
        "/api/v1/invoices",
        json={
            "engagement_id": str(started.engagement_id),
            "audit_id": str(started.audit_ids["stage1"]),
            "currency": "GBP",
            "lines": LINES,
        },
        headers=finance,
    )
    assert response.status_code == 201, response.text
    invoice = response.json()
    assert invoice["status"] == "draft"
    assert invoice["number"] is None
    # 1.5 x 950.00 = 1425.00 + 20% = 285.00; travel 123.45 untaxed.
    assert [line["net_minor"] for line in invoice["lines"]] == [142500, 12345]
    assert invoice["subtotal_minor"] == 154845
    assert invoice["tax_minor"] == 28500
    assert invoice["total_minor"] == 183345

    # The client never sees the body's draft.
    client_headers = world.actor("a", "org:owner").headers
    hidden = await client.get(f"/api/v1/invoices/{invoice['id']}", headers=client_headers)
    assert hidden.status_code == 404

    response = await client.post(f"/api/v1/invoices/{invoice['id']}/issue", headers=finance)
    assert response.status_code == 200, response.text
    issued_invoice = response.json()
    assert issued_invoice["status"] == "open"
    assert issued_invoice["number"] == 1
    assert issued_invoice["seller"]["name"] == "Body A Certification"
    assert issued_invoice["buyer"]["name"] == "Client A Ltd"
    assert issued_invoice["due_on"] is not None
    assert issued_invoice["amount_due_minor"] == 183345
    assert issued_invoice["overdue"] is False

    seen = await client.get(f"/api/v1/invoices/{invoice['id']}", headers=client_headers)
    assert seen.status_code == 200
    assert seen.json()["number"] == 1

    again = await client.post(f"/api/v1/invoices/{invoice['id']}/issue", headers=finance)
    assert again.status_code == 409
    assert again.json()["code"] == "not_draft"


async def test_frozen_parties_survive_profile_changes(
    client: httpx.AsyncClient, world: World
) -> None:
    from marketplace.accounts.tables import CertificationBody

    invoice_id = await issued_invoice(world.a.org_id, world.a.body_id)
    await (
        CertificationBody.update({CertificationBody.name: "Renamed Body"})
        .where(CertificationBody.id == world.a.body_id)
        .run()
    )
    response = await client.get(
        f"/api/v1/invoices/{invoice_id}", headers=world.actor("a", "body:owner").headers
    )
    assert response.json()["seller"]["name"] == "Body A Certification"


async def test_void_creates_a_credit_note(client: httpx.AsyncClient, world: World) -> None:
    invoice_id = await issued_invoice(world.a.org_id, world.a.body_id)
    finance = world.actor("a", "body:finance").headers
    response = await client.post(
        f"/api/v1/invoices/{invoice_id}/void", json={"reason": "Wrong day rate"}, headers=finance
    )
    assert response.status_code == 200, response.text
    voided = response.json()
    assert voided["status"] == "void"
    assert voided["total_minor"] == 142500 + 28500  # the invoice's own figures are untouched
    credit_id = voided["credit_note_id"]
    credit = (await client.get(f"/api/v1/invoices/{credit_id}", headers=finance)).json()
    assert credit["kind"] == "credit_note"
    assert credit["credit_for"] == str(invoice_id)
    assert credit["number"] == 2  # same gapless series as invoices
    assert credit["total_minor"] == -171000
    assert [line["gross_minor"] for line in credit["lines"]] == [-171000]
    # Voiding twice is a state conflict, not a second credit note.
    again = await client.post(f"/api/v1/invoices/{invoice_id}/void", headers=finance)
    assert again.status_code == 409
    assert await Invoice.count().where(Invoice.credit_for == invoice_id).run() == 1
    assert (
        await ActivityLog.count().where(ActivityLog.action == "marketplace.invoice.voided").run()
        == 2  # one entry for each party
    )


async def test_void_of_a_draft_is_refused(client: httpx.AsyncClient, world: World) -> None:
    invoice_id = await draft_invoice(world.a.org_id, world.a.body_id)
    response = await client.post(
        f"/api/v1/invoices/{invoice_id}/void", headers=world.actor("a", "body:finance").headers
    )
    assert response.status_code == 409


async def test_bad_input_is_422_and_writes_nothing(client: httpx.AsyncClient, world: World) -> None:
    started = await engagement(world.a.org_id, world.a.body_id)
    other = await engagement(world.b.org_id, world.b.body_id)
    finance = world.actor("a", "body:finance").headers
    base = {"engagement_id": str(started.engagement_id), "currency": "GBP"}
    bad = [
        {**base, "lines": [{**LINES[0], "quantity": 0}]},
        {**base, "lines": [{**LINES[0], "quantity": "1.0001"}]},
        {**base, "lines": [{**LINES[0], "tax_rate": 101}]},
        {**base, "lines": [{**LINES[0], "unit_amount_minor": -5}]},
        {**base, "lines": [{**LINES[0], "description": ""}]},
        {**base, "lines": []},
        {**base, "lines": [{**LINES[0], "unit_amount_minor": 0}]},
        {**base, "currency": "pounds", "lines": LINES},
        {**base, "due_on": "2000-01-01", "lines": LINES},
        {**base, "audit_id": str(other.audit_ids["stage1"]), "lines": LINES},
        {**base, "lines": LINES, "surprise": True},
    ]
    for payload in bad:
        response = await client.post("/api/v1/invoices", json=payload, headers=finance)
        assert response.status_code in (400, 422), (payload, response.text)
        assert "detail" in response.json()
    assert await Invoice.count().run() == 0
    assert await InvoiceLine.count().run() == 0
    malformed = await client.post(
        "/api/v1/invoices",
        content=b"{not json",
        headers={**finance, "Content-Type": "application/json"},
    )
    assert malformed.status_code == 400


async def test_roles(client: httpx.AsyncClient, world: World) -> None:
    started = await engagement(world.a.org_id, world.a.body_id)
    payload = {"engagement_id": str(started.engagement_id), "lines": LINES}
    scheduler = await client.post(
        "/api/v1/invoices", json=payload, headers=world.actor("a", "body:scheduler").headers
    )
    assert scheduler.status_code == 403
    stranger = await client.post(
        "/api/v1/invoices", json=payload, headers=world.actor("b", "body:finance").headers
    )
    assert stranger.status_code == 404
    owner = await client.post(
        "/api/v1/invoices", json=payload, headers=world.actor("a", "body:owner").headers
    )
    assert owner.status_code == 201
    assert owner.json()["currency"] == "GBP"  # the body's currency when none is given


async def test_payment_without_keys_says_not_configured(
    client: httpx.AsyncClient, world: World
) -> None:
    invoice_id = await issued_invoice(world.a.org_id, world.a.body_id)
    response = await client.post(
        f"/api/v1/invoices/{invoice_id}/payment", headers=world.actor("a", "org:owner").headers
    )
    assert response.status_code == 503
    assert response.json()["detail"] == "Online payment is not configured."
    webhook = await client.post("/webhooks/stripe", content=b"{}")
    assert webhook.status_code == 400
