"""The payment-provider interface billing talks to (pretix's provider hooks, reduced to what we use)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Protocol


class GatewayError(Exception):
    """The provider refused or could not be reached; the message is safe to show."""


@dataclass(frozen=True)
class InvoiceToPay:
    invoice_id: uuid.UUID
    number: int | None
    amount_minor: int
    currency: str


@dataclass(frozen=True)
class Intent:
    """A provider's payment intent, as much of it as billing needs."""

    id: str
    status: str  # Stripe's words: requires_payment_method, processing, succeeded, canceled ...
    amount_minor: int
    currency: str
    client_secret: str
    created: dt.datetime
    metadata: dict[str, str] = field(default_factory=dict)
    failure_message: str = ""


class PaymentGateway(Protocol):
    provider: str
    publishable_key: str

    async def create_or_reuse_intent(self, invoice: InvoiceToPay) -> Intent:
        """An intent for the amount due; the same invoice and amount give back the same intent."""
        ...

    async def fetch_intent(self, intent_id: str) -> Intent:
        """The provider's current view of an intent (reconciliation trusts only this)."""
        ...
