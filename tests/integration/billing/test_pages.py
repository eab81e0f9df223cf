"""Billing pages: the body's draft form, the print-ready invoice, pay buttons with and without Stripe."""

from __future__ import annotations

import httpx

from marketplace.app import CSP
from marketplace.billing.api import CSP_BASE
from marketplace.billing.tables import Invoice
from tests.factories import Actor, World, csrf_from, sign_in
from tests.factories.billing import draft_invoice, issued_invoice
from tests.factories.scheduling import engagement
from tests.integration.billing.conftest import Emulator
from tests.integration.billing.payments import invoice_row


async def _sign_in(client: httpx.AsyncClient, actor: Actor) -> str:
    """Sets the session cookie and returns a CSRF token for form posts."""
    await sign_in(client, actor.user_id)
    page = await client.get("/invoices")
    assert page.status_code == 200
    return csrf_from(page.text)


def test_billing_extends_the_apps_own_policy() -> None:
    assert CSP_BASE == CSP


async def test_body_drafts_issues_and_voids_through_forms(
    client: httpx.AsyncClient, world: World
) -> None:
    started = await engagement(world.a.org_id, world.a.body_id)
    token = await _sign_in(client, world.actor("a", "body:finance"))
    page = await client.get(f"/manage/bodies/{world.a.body_id}/invoices")
    assert page.status_code == 200
    assert '<label for="engagement_id">' in page.text
    assert "Client A Ltd" in page.text
    form = {
        "_csrf_token": token,
        "engagement_id": str(started.engagement_id),
        "currency": "GBP",
        "line-0-description": "Stage 1 audit",
        "line-0-quantity": "1.5",
        "line-0-unit_amount": "950.00",
        "line-0-tax_rate": "20",
    }
    bad = await client.post(
        f"/manage/bodies/{world.a.body_id}/invoices",
        data={**form, "line-0-unit_amount": "9.505"},
    )
    assert bad.status_code == 422
    assert "decimal places" in bad.text
    # Errors land on the form row they came from, even with blank rows in between.
    skipped = await client.post(
        f"/manage/bodies/{world.a.body_id}/invoices",
        data={
            **form,
            "line-2-description": "Fees",
            "line-2-quantity": "0",
            "line-2-unit_amount": "10",
        },
    )
    assert skipped.status_code == 422
    assert 'id="lines[2].quantity-error"' in skipped.text
    assert await Invoice.count().run() == 0
    created = await client.post(f"/manage/bodies/{world.a.body_id}/invoices", data=form)
    assert created.status_code == 303, created.text
    location = created.headers["location"]
    invoice_page = await client.get(location)
    assert "1,710.00 GBP" in invoice_page.text
    assert "Issue: number it" in invoice_page.text
    issued_response = await client.post(f"{location}/issue", data={"_csrf_token": token})
    assert issued_response.status_code == 303
    invoice_id = location.rsplit("/", 1)[1]
    assert (await Invoice.select(Invoice.number).where(Invoice.id == invoice_id).first().run()) == {
        "number": 1
    }
    voided = await client.post(
        f"{location}/void", data={"_csrf_token": token, "reason": "Wrong rate"}
    )
    assert voided.status_code == 303
    credit_page = await client.get(voided.headers["location"])
    assert "Credit note 2" in credit_page.text
    assert "-1,710.00 GBP" in credit_page.text


async def test_forms_need_csrf(client: httpx.AsyncClient, world: World) -> None:
    invoice_id = await draft_invoice(world.a.org_id, world.a.body_id)
    await _sign_in(client, world.actor("a", "body:finance"))
    response = await client.post(f"/invoices/{invoice_id}/issue", data={})
    assert response.status_code == 403
    assert (await invoice_row(invoice_id))["status"] == "draft"


async def test_client_sees_not_configured_without_keys(
    client: httpx.AsyncClient, world: World
) -> None:
    invoice_id = await issued_invoice(world.a.org_id, world.a.body_id)
    await _sign_in(client, world.actor("a", "org:member"))
    page = await client.get(f"/invoices/{invoice_id}")
    assert page.status_code == 200
    assert "Online payment not configured" in page.text
    assert "js.stripe.com" not in page.text
    assert "js.stripe.com" not in page.headers["content-security-policy"]
    listing = await client.get(f"/organisations/{world.a.org_id}/invoices")
    assert "1,710.00 GBP" in listing.text
    hub = await client.get("/invoices")
    assert f"/invoices/{invoice_id}" in hub.text


async def test_pay_page_loads_stripe_only_with_keys(
    stripe_client: httpx.AsyncClient, world: World, emulator: Emulator
) -> None:
    invoice_id = await issued_invoice(world.a.org_id, world.a.body_id)
    token = await _sign_in(stripe_client, world.actor("a", "org:owner"))
    page = await stripe_client.get(f"/invoices/{invoice_id}")
    assert "Pay 1,710.00 GBP by card" in page.text
    # The invoice page itself keeps the strict policy; only the payment page widens it.
    assert page.headers["content-security-policy"] == CSP
    pay = await stripe_client.post(f"/invoices/{invoice_id}/pay", data={"_csrf_token": token})
    assert pay.status_code == 200, pay.text
    assert 'id="payment-element"' in pay.text
    assert f"{emulator.url}/js.stripe.com/v3/" in pay.text  # the emulator's Stripe.js
    policy = pay.headers["content-security-policy"]
    assert f"script-src 'self' {emulator.url}" in policy
    assert f"frame-src {emulator.url}" in policy
    assert "frame-ancestors 'none'" in policy
    script = await stripe_client.get("/billing/pay.js")
    assert script.status_code == 200
    assert "confirmPayment" in script.text


def test_production_policy_names_stripe() -> None:
    from marketplace.billing.pages import payment_csp, stripe_js_url

    policy = payment_csp(stripe_js_url(""), "")
    assert "script-src 'self' https://js.stripe.com" in policy
    assert "frame-src https://js.stripe.com https://hooks.stripe.com" in policy
    assert "connect-src 'self' https://api.stripe.com" in policy
