"""The Stripe implementation of the payment gateway (PaymentIntents through the official library)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import stripe

from marketplace.billing.gateway import GatewayError, Intent, InvoiceToPay, RefundResult
from marketplace.settings import StripeSettings


class StripeHTTPXClient(stripe.HTTPXClient):
    """Stripe's httpx transport, sending the encoded form as `content=`.

    stripe 13 passes the already-encoded body as `data=`, which httpx 0.28 deprecates (a warning
    on every call, an error under our test settings); the bytes on the wire are the same.
    """

    def _get_request_args_kwargs(self, method: str, url: str, headers: Any, post_data: Any) -> Any:
        args, kwargs = super()._get_request_args_kwargs(method, url, headers, post_data)
        kwargs.pop("data", None)
        if post_data:
            kwargs["content"] = post_data
        return [args, kwargs]


def _intent(obj: Any) -> Intent:
    error = obj.get("last_payment_error") or {}
    metadata = obj.get("metadata") or {}
    return Intent(
        id=str(obj["id"]),
        status=str(obj.get("status") or ""),
        amount_minor=int(obj.get("amount") or 0),
        currency=str(obj.get("currency") or "").upper(),
        client_secret=str(obj.get("client_secret") or ""),
        created=dt.datetime.fromtimestamp(int(obj.get("created") or 0), dt.UTC),
        metadata={str(k): str(v) for k, v in dict(metadata).items()},
        failure_message=str(error.get("message") or "") if error else "",
    )


class StripeGateway:
    """Creates PaymentIntents with the invoice id in their metadata and an idempotency key per invoice."""

    provider = "stripe"

    def __init__(self, settings: StripeSettings) -> None:
        options: dict[str, Any] = {}
        if settings.api_base:
            options["base_addresses"] = {"api": settings.api_base}
        self.publishable_key = settings.publishable_key
        # httpx serves the library's asynchronous calls (the only ones billing makes).
        self.http_client = StripeHTTPXClient()
        self.client = stripe.StripeClient(
            settings.secret_key, http_client=self.http_client, max_network_retries=2, **options
        )

    async def aclose(self) -> None:
        """Close the connection pool (the CLI and tests; the web app keeps it for its lifetime)."""
        # stripe ships close_async without annotations.
        await self.http_client.close_async()  # type: ignore[no-untyped-call]

    async def create_intent(self, invoice: InvoiceToPay) -> Intent:
        # One key per attempt (our claimed payment row): the library's network retries of this
        # call give back one intent, while a new attempt (new amount, a canceled intent) gets a
        # new one instead of Stripe's cached answer for an old key.
        key = f"payment-{invoice.attempt_id}"
        try:
            obj = await self.client.v1.payment_intents.create_async(
                params={
                    "amount": invoice.amount_minor,
                    "currency": invoice.currency.lower(),
                    "metadata": {
                        "invoice_id": str(invoice.invoice_id),
                        "invoice_number": str(invoice.number or ""),
                        "payment_id": str(invoice.attempt_id),
                    },
                },
                options={"idempotency_key": key},
            )
        except stripe.StripeError as exc:
            raise GatewayError(
                exc.user_message or "The payment provider refused the payment."
            ) from exc
        return _intent(obj)

    async def fetch_intent(self, intent_id: str) -> Intent:
        try:
            obj = await self.client.v1.payment_intents.retrieve_async(intent_id)
        except stripe.StripeError as exc:
            raise GatewayError(
                exc.user_message or "The payment provider could not be reached."
            ) from exc
        return _intent(obj)

    async def cancel_intent(self, intent_id: str) -> None:
        try:
            await self.client.v1.payment_intents.cancel_async(intent_id)
        except stripe.StripeError as exc:
            raise GatewayError(
                exc.user_message or "The payment provider could not cancel the payment."
            ) from exc

    async def refund(self, intent_id: str, amount_minor: int, key: str) -> RefundResult:
        try:
            obj = await self.client.v1.refunds.create_async(
                params={"payment_intent": intent_id, "amount": amount_minor},
                options={"idempotency_key": key},
            )
        except stripe.StripeError as exc:
            raise GatewayError(
                exc.user_message or "The payment provider refused the refund."
            ) from exc
        return RefundResult(
            id=str(obj["id"]),
            status=str(obj.get("status") or ""),
            amount_minor=int(obj.get("amount") or 0),
        )


def gateway_for(settings: StripeSettings) -> StripeGateway | None:
    """The configured gateway, or None when no secret key is set (payment shown as not configured)."""
    return StripeGateway(settings) if settings.configured else None
