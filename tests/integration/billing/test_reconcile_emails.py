"""A payment found by reconciliation e-mails the body's finance and the client, whichever entry point found it.

Three real processes against localstripe and a real SMTP server (aiosmtpd): the
`reconcile-payments` command (which queues the e-mails; the worker sends them), `worker --once`
and `serve` (both reconcile in their periodic sweep and send at once).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from marketplace.settings import Settings
from tests.factories import World
from tests.factories.billing import issued_invoice
from tests.integration.billing.conftest import SECRET_KEY, WEBHOOK_SECRET, Emulator
from tests.integration.billing.payments import invoice_row, start_payment
from tests.integration.notifications.smtp import (
    SmtpServer,
    deliver_all,
    outbox,
    parts,
    settings_for,
    smtp_server,
    subject,
)
from tests.live_server import live_server

FINANCE = ("body:owner", "body:finance")  # billing's FINANCE_RECIPIENTS
CLIENT = ("org:owner", "org:quality_manager")  # billing's CLIENT_RECIPIENTS: the receipt


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    yield from smtp_server()


def _env(localstripe_url: str, smtp: SmtpServer) -> dict[str, str]:
    return {
        **os.environ,
        "STRIPE_SECRET_KEY": SECRET_KEY,
        "STRIPE_PUBLISHABLE_KEY": "pk_test_x",
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": localstripe_url,
        "SMTP_URL": smtp.url,
        "MARKETPLACE_WORKER_POLL_SECONDS": "0.2",
        "PYTHONPATH": os.pathsep.join(sys.path),
    }


async def _paid_without_webhook(
    client: httpx.AsyncClient, world: World, emulator: Emulator
) -> uuid.UUID:
    """An invoice paid at Stripe whose webhook never arrived (the case reconciliation is for)."""
    invoice_id = await issued_invoice(world.a.org_id, world.a.body_id)
    started = await start_payment(client, world.actor("a", "org:owner").headers, invoice_id)
    await emulator.pay(started["payment_intent_id"])
    assert (await invoice_row(invoice_id))["status"] == "open"
    return invoice_id


async def _cli(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """`marketplace ARGS` as its own process (fresh hook registries, as in production)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "marketplace.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


def _finance(world: World) -> set[str]:
    return {world.actor("a", k).email for k in FINANCE}


def _client(world: World) -> set[str]:
    return {world.actor("a", k).email for k in CLIENT}


def _paid_mail(smtp: SmtpServer, marker: str = " paid by ") -> dict[str, str]:
    """Address -> text body of every e-mail whose subject has the marker ("invoice paid" to the
    body; "Payment received" is the client's receipt)."""
    got = {}
    for message in smtp.inbox.messages:
        if marker in subject(message):
            got[str(message["To"]).split("<")[-1].rstrip(">")] = parts(message)[0]
    return got


def _receipts(smtp: SmtpServer) -> dict[str, str]:
    return _paid_mail(smtp, "Payment received: ")


def _check(smtp: SmtpServer, world: World, invoice_id: uuid.UUID) -> None:
    mail = _paid_mail(smtp)
    assert set(mail) == _finance(world)
    for text in mail.values():
        assert "paid invoice No. 1: 1,710.00 GBP received." in text
        assert f"/invoices/{invoice_id}" in text
    receipts = _receipts(smtp)
    assert set(receipts) == _client(world)
    for text in receipts.values():
        assert "received your payment of 1,710.00 GBP for invoice No. 1." in text
        assert f"/invoices/{invoice_id}" in text


async def _wait_for(smtp: SmtpServer, world: World) -> None:
    deadline = time.monotonic() + 30
    while set(_paid_mail(smtp)) != _finance(world) or set(_receipts(smtp)) != _client(world):
        assert time.monotonic() < deadline, sorted(_paid_mail(smtp)) + sorted(_receipts(smtp))
        await asyncio.sleep(0.1)


async def test_reconcile_payments_command_queues_the_paid_e_mails(
    stripe_client: httpx.AsyncClient,
    world: World,
    emulator: Emulator,
    localstripe_url: str,
    smtp: SmtpServer,
    settings: Settings,
) -> None:
    invoice_id = await _paid_without_webhook(stripe_client, world, emulator)
    code, out, err = await _cli(_env(localstripe_url, smtp), "reconcile-payments", "--quiet")
    assert code == 0, err
    assert "recorded 1 missed success" in out
    assert (await invoice_row(invoice_id))["status"] == "paid"

    queued = await outbox(kind="invoice_paid", status="pending")
    assert {m["email"] for m in queued} == _finance(world)
    receipts = await outbox(kind="payment_receipt", status="pending")
    assert {m["email"] for m in receipts} == _client(world)
    assert await deliver_all(settings_for(settings, smtp)) >= len(queued) + len(receipts)
    _check(smtp, world, invoice_id)


async def test_worker_reconciles_in_its_sweep_and_sends(
    stripe_client: httpx.AsyncClient,
    world: World,
    emulator: Emulator,
    localstripe_url: str,
    smtp: SmtpServer,
) -> None:
    invoice_id = await _paid_without_webhook(stripe_client, world, emulator)
    code, _, err = await _cli(_env(localstripe_url, smtp), "worker", "--once")
    assert code == 0, err
    assert (await invoice_row(invoice_id))["status"] == "paid"
    _check(smtp, world, invoice_id)
    assert {m["email"] for m in await outbox(kind="invoice_paid", status="sent")} == _finance(world)


async def test_serve_reconciles_in_its_worker_and_sends(
    stripe_client: httpx.AsyncClient,
    world: World,
    emulator: Emulator,
    localstripe_url: str,
    smtp: SmtpServer,
) -> None:
    invoice_id = await _paid_without_webhook(stripe_client, world, emulator)
    env = {**_env(localstripe_url, smtp), "MARKETPLACE_INPROCESS_WORKER": "true"}
    with live_server(env=env):
        await _wait_for(smtp, world)
    assert (await invoice_row(invoice_id))["status"] == "paid"
    _check(smtp, world, invoice_id)
