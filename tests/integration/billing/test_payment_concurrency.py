"""One invoice, one live PaymentIntent: 20 simultaneous payment requests (issue 17, item 2)."""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib.util
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar

from marketplace.app import create_app
from marketplace.billing.tables import Payment
from marketplace.core import clock
from marketplace.settings import Settings, StripeSettings
from tests.factories import World
from tests.factories.billing import issued_invoice
from tests.integration.billing.conftest import SECRET_KEY, WEBHOOK_SECRET, Emulator
from tests.live_server import free_port, live_server

PARALLEL = 20


async def _intents_for(emulator: Emulator, invoice_id: uuid.UUID) -> list[dict[str, Any]]:
    """Every PaymentIntent localstripe holds for the invoice (by the metadata we send)."""
    listing = (await emulator.http.get("/v1/payment_intents", params={"limit": 100})).json()
    return [i for i in listing["data"] if i["metadata"].get("invoice_id") == str(invoice_id)]


async def _twenty_at_once(
    client: httpx.AsyncClient, headers: dict[str, str], invoice_id: uuid.UUID
) -> list[httpx.Response]:
    return list(
        await asyncio.gather(
            *[
                client.post(f"/api/v1/invoices/{invoice_id}/payment", headers=headers)
                for _ in range(PARALLEL)
            ]
        )
    )


async def _assert_one_intent(
    responses: list[httpx.Response], emulator: Emulator, invoice_id: uuid.UUID
) -> None:
    assert [r.status_code for r in responses] == [200] * PARALLEL, [r.text for r in responses]
    ids = {r.json()["payment_intent_id"] for r in responses}
    assert len(ids) == 1, ids
    secrets = {r.json()["client_secret"] for r in responses}
    assert len(secrets) == 1
    intents = await _intents_for(emulator, invoice_id)
    assert [i["id"] for i in intents] == list(ids)
    rows = await Payment.select().where(Payment.invoice == invoice_id).run()
    assert [(r["payment_intent_id"], r["state"]) for r in rows] == [(ids.pop(), "created")]


async def test_twenty_parallel_payment_requests_make_one_intent(
    stripe_client: httpx.AsyncClient, world: World, emulator: Emulator
) -> None:
    invoice_id = await issued_invoice(world.a.org_id, world.a.body_id)
    owner = world.actor("a", "org:owner").headers
    responses = await _twenty_at_once(stripe_client, owner, invoice_id)
    await _assert_one_intent(responses, emulator, invoice_id)
    # And later calls keep answering with the same intent.
    again = await stripe_client.post(f"/api/v1/invoices/{invoice_id}/payment", headers=owner)
    assert again.json()["payment_intent_id"] == responses[0].json()["payment_intent_id"]


@pytest.mark.postgres_only
async def test_twenty_parallel_payment_requests_across_two_processes(
    world: World, emulator: Emulator
) -> None:
    env = {
        "STRIPE_SECRET_KEY": SECRET_KEY,
        "STRIPE_PUBLISHABLE_KEY": "pk_test_x",
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": emulator.url,
    }
    invoice_id = await issued_invoice(world.a.org_id, world.a.body_id)
    with live_server(env=env, workers=2) as url:
        limits = httpx.Limits(max_connections=PARALLEL, max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as live:
            responses = await _twenty_at_once(
                live, world.actor("a", "org:owner").headers, invoice_id
            )
    await _assert_one_intent(responses, emulator, invoice_id)


async def test_provider_down_leaves_no_payment_and_answers_503(
    world: World, database: None
) -> None:
    # Nothing listens on this port: every call to "Stripe" fails to connect.
    settings = Settings(
        stripe=StripeSettings(
            secret_key=SECRET_KEY,
            publishable_key="pk_test_x",
            webhook_secret=WEBHOOK_SECRET,
            api_base=f"http://127.0.0.1:{free_port()}",
        )
    )
    app: Litestar = create_app(settings, manage_pool=False)
    invoice_id = await issued_invoice(world.a.org_id, world.a.body_id)
    owner = world.actor("a", "org:owner").headers
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            responses = await asyncio.gather(
                *[
                    client.post(f"/api/v1/invoices/{invoice_id}/payment", headers=owner)
                    for _ in range(3)
                ]
            )
    finally:
        gateway = app.state.get("payment_gateway")
        if gateway is not None:
            await gateway.aclose()
    assert [r.status_code for r in responses] == [503] * 3, [r.text for r in responses]
    assert {r.json()["code"] for r in responses} == {"provider_unavailable"}
    # The claims were given back: no placeholder blocks the next attempt.
    assert await Payment.count().where(Payment.invoice == invoice_id).run() == 0


async def test_migration_detaches_duplicates_the_old_race_left(world: World) -> None:
    """A database that met the old race holds several live payments per invoice: the migration
    keeps the newest live and detaches the rest (still able to record money) before indexing."""
    path = Path(__file__).parents[3] / "migrations/marketplace_2026_12_03t12_00_02_000001.py"
    spec = importlib.util.spec_from_file_location("billing_live_payment_migration", path)
    assert spec is not None
    assert spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    invoice_id = await issued_invoice(world.a.org_id, world.a.body_id)
    await Payment.raw("DROP INDEX payment_one_live_per_invoice").run()
    try:
        start = clock.now()
        for i, state in enumerate(["created", "failed", "created", "confirmed"]):
            await (
                Payment(
                    invoice=invoice_id,
                    payment_intent_id=f"pi_race_{i}",
                    amount_minor=171000,
                    currency="GBP",
                    state=state,
                    created_at=start + dt.timedelta(seconds=i),
                )
                .save()
                .run()
            )
        await Payment.raw(migration.DETACH_DUPLICATES).run()
    finally:
        for index in migration.INDEXES:
            await Payment.raw(index).run()
    rows = (
        await Payment.select(Payment.payment_intent_id, Payment.state)
        .order_by(Payment.created_at)
        .run()
    )
    assert [(r["payment_intent_id"], r["state"]) for r in rows] == [
        ("pi_race_0", "detached"),
        ("pi_race_1", "detached"),
        ("pi_race_2", "created"),
        ("pi_race_3", "confirmed"),
    ]
    # And the index now refuses a second live payment for the invoice.
    with pytest.raises(Exception, match=r"(?i)unique|duplicate key") as refused:
        await (
            Payment(
                invoice=invoice_id, payment_intent_id="pi_race_x", amount_minor=1, currency="GBP"
            )
            .save()
            .run()
        )
    assert type(refused.value).__name__ in {"UniqueViolationError", "IntegrityError"}
