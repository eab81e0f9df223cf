"""Reconciliation: a success Stripe saw but no webhook delivered is recorded exactly once."""

from __future__ import annotations

import httpx

from marketplace import cli
from marketplace.settings import Settings
from tests.factories import World
from tests.factories.billing import issued_invoice
from tests.integration.billing.conftest import Emulator, deliver
from tests.integration.billing.payments import counts, invoice_row, start_payment


async def test_killed_before_webhook_then_reconciled_once(
    stripe_client: httpx.AsyncClient,
    world: World,
    emulator: Emulator,
    stripe_settings: Settings,
    capsys: object,
) -> None:
    paid_id = await issued_invoice(world.a.org_id, world.a.body_id)
    unpaid_id = await issued_invoice(world.a.org_id, world.a.body_id)
    owner = world.actor("a", "org:owner").headers
    started = await start_payment(stripe_client, owner, paid_id)
    await start_payment(stripe_client, owner, unpaid_id)  # opened, never confirmed
    # The intent succeeds at Stripe, then the process dies: no webhook is ever delivered.
    await emulator.pay(started["payment_intent_id"])
    assert (await invoice_row(paid_id))["status"] == "open"

    assert await cli.reconcile_payments(stripe_settings, progress=False) == (2, 1)
    assert (await invoice_row(paid_id))["status"] == "paid"
    assert (await invoice_row(unpaid_id))["status"] == "open"
    assert await counts(paid_id) == {"confirmed": 1, "paid_entries": 1, "events": 0}

    # Running it again changes nothing; the paid invoice is no longer even asked about.
    assert await cli.reconcile_payments(stripe_settings, progress=False) == (1, 0)
    assert await counts(paid_id) == {"confirmed": 1, "paid_entries": 1, "events": 0}

    # The webhook finally arrives: acknowledged and stored, but nothing is counted twice.
    payload = await emulator.event_for("payment_intent.succeeded", started["payment_intent_id"])
    response = await deliver(stripe_client, payload)
    assert response.json() == {"status": "ignored"}
    assert await counts(paid_id) == {"confirmed": 1, "paid_entries": 1, "events": 1}
    assert (await invoice_row(paid_id))["amount_paid_minor"] == 171000


def test_cli_without_keys_fails_with_one_line(capsys: object) -> None:
    import pytest

    assert isinstance(capsys, pytest.CaptureFixture)
    code = cli.main(["reconcile-payments", "--quiet"])
    assert code == 1
    err = capsys.readouterr().err
    assert err.strip() == (
        "marketplace reconcile-payments: online payment is not configured (set STRIPE_SECRET_KEY)"
    )
