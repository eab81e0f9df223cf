"""End to end: localstripe delivers its own signed webhooks to a running server, which records them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from tests.factories import World
from tests.factories.billing import issued_invoice
from tests.integration.billing.conftest import SECRET_KEY, WEBHOOK_SECRET, Emulator
from tests.integration.billing.payments import invoice_row, start_payment
from tests.live_server import live_server


async def _eventually(check: Callable[[], Awaitable[bool]], seconds: float = 20) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not await check():
        assert loop.time() < deadline, "the webhook did not arrive in time"
        await asyncio.sleep(0.2)


async def test_localstripe_webhooks_reach_the_app(world: World, emulator: Emulator) -> None:
    env = {
        "STRIPE_SECRET_KEY": SECRET_KEY,
        "STRIPE_PUBLISHABLE_KEY": "pk_test_x",
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": emulator.url,
    }
    paid_id = await issued_invoice(world.a.org_id, world.a.body_id)
    failing_id = await issued_invoice(world.a.org_id, world.a.body_id)
    with live_server(env=env) as url:
        await emulator.register_webhook("app-under-test", f"{url}/webhooks/stripe")
        try:
            async with httpx.AsyncClient(base_url=url) as live:
                owner = world.actor("a", "org:owner").headers
                good = await start_payment(live, owner, paid_id)
                bad = await start_payment(live, owner, failing_id)
                await emulator.pay(good["payment_intent_id"])
                await emulator.pay(bad["payment_intent_id"], card="pm_card_chargeCustomerFail")

                async def paid() -> bool:
                    row: dict[str, Any] = await invoice_row(paid_id)
                    return bool(row["status"] == "paid")

                async def failure_shown() -> bool:
                    row: dict[str, Any] = await invoice_row(failing_id)
                    return bool(row["payment_failure"])

                await _eventually(paid)
                await _eventually(failure_shown)
                failing = await invoice_row(failing_id)
                assert failing["status"] == "open"
                assert failing["payment_failure"] == "Your card was declined."
        finally:
            # Point the emulator's webhook away from the stopped server.
            await emulator.register_webhook("app-under-test", "http://127.0.0.1:9/")
