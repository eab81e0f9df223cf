"""Billing test harness: localstripe on 127.0.0.1 (a free port), an app pointed at it, signed events."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe
from litestar import Litestar

from marketplace.app import create_app
from marketplace.billing.stripe_gateway import StripeHTTPXClient
from marketplace.settings import Settings, StripeSettings
from tests.live_server import free_port

WEBHOOK_SECRET = "whsec_test"
SECRET_KEY = "sk_test_x"


def on_postgres() -> bool:
    return (os.environ.get("TEST_DATABASE_URL") or "").startswith("postgres")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    skip = pytest.mark.skip(reason="needs PostgreSQL (set TEST_DATABASE_URL)")
    for item in items:
        if item.get_closest_marker("postgres_only") and not on_postgres():
            item.add_marker(skip)


@pytest.fixture(scope="session")
def localstripe_url() -> Iterator[str]:
    """localstripe in its own process, bound to loopback only."""
    port = free_port()
    script = Path(__file__).with_name("localstripe_server.py")
    proc = subprocess.Popen(
        [sys.executable, str(script), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("localstripe did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def stripe_settings(localstripe_url: str) -> Settings:
    return Settings(
        stripe=StripeSettings(
            secret_key=SECRET_KEY,
            publishable_key="pk_test_x",
            webhook_secret=WEBHOOK_SECRET,
            api_base=localstripe_url,
        )
    )


@pytest.fixture(scope="session")
async def stripe_app(stripe_settings: Settings, database: None) -> AsyncIterator[Litestar]:
    """A second application object, configured for Stripe (the default `app` has no keys)."""
    app = create_app(stripe_settings, manage_pool=False)
    yield app
    gateway = app.state.get("payment_gateway")
    if gateway is not None:
        await gateway.aclose()


@pytest.fixture
async def stripe_client(stripe_app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=stripe_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


class Emulator:
    """The test's side of localstripe: act as the browser and read what Stripe recorded."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.transport = StripeHTTPXClient()
        self.stripe = stripe.StripeClient(
            SECRET_KEY, base_addresses={"api": url}, http_client=self.transport
        )
        self.http = httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {SECRET_KEY}"}
        )

    async def pay(self, intent_id: str, card: str = "pm_card_visa") -> None:
        """What Stripe.js does in the browser: attach the card, then confirm."""
        await self.stripe.v1.payment_intents.update_async(
            intent_id, params={"payment_method": card}
        )
        try:
            await self.stripe.v1.payment_intents.confirm_async(intent_id)
        except stripe.CardError:
            if card == "pm_card_visa":
                raise

    async def event_for(self, kind: str, object_id: str) -> bytes:
        """The raw JSON of the event localstripe recorded for an object (as Stripe would POST it)."""
        listing = (await self.http.get("/v1/events", params={"type": kind, "limit": 100})).json()
        for event in listing["data"]:
            if event["data"]["object"]["id"] == object_id:
                raw = await self.http.get(f"/v1/events/{event['id']}")
                return raw.content
        raise AssertionError(f"no {kind} event for {object_id}")

    async def refund_event(self, intent_id: str) -> bytes:
        """Refund at localstripe and build the charge.refunded event it does not emit itself."""
        await self.stripe.v1.refunds.create_async(params={"payment_intent": intent_id})
        intent = (await self.http.get(f"/v1/payment_intents/{intent_id}")).json()
        charge = intent["latest_charge"]
        charge_id = charge["id"] if isinstance(charge, dict) else charge
        charge = (await self.http.get(f"/v1/charges/{charge_id}")).json()
        event = {
            "id": f"evt_refund_{charge_id}",
            "object": "event",
            "type": "charge.refunded",
            "created": int(time.time()),
            "data": {"object": charge},
        }
        return json.dumps(event).encode()

    async def register_webhook(self, name: str, url: str) -> None:
        response = await self.http.post(
            f"/_config/webhooks/{name}", data={"url": url, "secret": WEBHOOK_SECRET}
        )
        response.raise_for_status()


@pytest.fixture
async def emulator(localstripe_url: str) -> AsyncIterator[Emulator]:
    emu = Emulator(localstripe_url)
    # Each test starts from an empty emulator, so event look-ups never see older tests' objects.
    (await emu.http.delete("/_config/data")).raise_for_status()
    yield emu
    await emu.http.aclose()
    await emu.transport.close_async()


def sign(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """A Stripe-Signature header: t=<unix time>,v1=HMAC-SHA256(secret, "<t>.<payload>")."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


async def deliver(
    client: httpx.AsyncClient, payload: bytes, signature: str | None = None
) -> httpx.Response:
    return await client.post(
        "/webhooks/stripe",
        content=payload,
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": signature if signature is not None else sign(payload),
        },
    )


def event_json(payload: bytes) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(payload)
    return data
