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
    # Our payment row claimed for this attempt: the idempotency key and the intent's metadata, so
    # the library's retries of one attempt never make two intents and a lost row can be found.
    attempt_id: uuid.UUID


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


@dataclass(frozen=True)
class RefundResult:
    """A provider's refund: its id, Stripe's status word and the amount it returns."""

    id: str
    status: str
    amount_minor: int


class PaymentGateway(Protocol):
    provider: str
    publishable_key: str

    async def create_intent(self, invoice: InvoiceToPay) -> Intent:
        """A new intent for the amount due, keyed by the attempt (one attempt, one intent).

        Billing's own database decides that an invoice has one live attempt: provider
        idempotency is only a second line (localstripe, for one, ignores the key).
        """
        ...

    async def fetch_intent(self, intent_id: str) -> Intent:
        """The provider's current view of an intent (reconciliation trusts only this)."""
        ...

    async def cancel_intent(self, intent_id: str) -> None:
        """Cancel an intent that is no longer the invoice's live one, so it cannot take money."""
        ...

    async def refund(self, intent_id: str, amount_minor: int, key: str) -> RefundResult:
        """Refund part or all of a succeeded intent; `key` makes a retried request one refund."""
        ...
