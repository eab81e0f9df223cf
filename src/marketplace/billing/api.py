"""JSON API of billing: invoices, issuing, voiding, paying, and Stripe's webhook."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import msgspec
import stripe
from litestar import Controller, MediaType, Request, get, post
from litestar.params import JSONBody, Parameter

from marketplace.accounts.guards import principal_of, require_role, requires_login
from marketplace.accounts.roles import TenantKind
from marketplace.billing import drafts, invoices, payments, refunds, webhooks
from marketplace.billing.access import BILLERS, CLIENT_ALL
from marketplace.billing.gateway import PaymentGateway
from marketplace.billing.schemas import (
    InvoiceIn,
    InvoiceOut,
    InvoiceSummaryOut,
    PaymentStartOut,
    RefundStartOut,
    VoidIn,
    WebhookOut,
)
from marketplace.billing.stripe_gateway import gateway_for
from marketplace.core.errors import BadRequest, Invalid
from marketplace.core.pagination import Page, PageParams
from marketplace.settings import settings_of

log = logging.getLogger("marketplace.billing")

# The application's policy (app.py), which billing's payment page extends for Stripe only.
CSP_BASE = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)


def gateway_of(request: Request[Any, Any, Any]) -> PaymentGateway | None:
    """The app's payment gateway: one per application, built from its settings on first use."""
    state = request.app.state
    if "payment_gateway" not in state:
        state["payment_gateway"] = gateway_for(settings_of(request).stripe)
    gateway: PaymentGateway | None = state["payment_gateway"]
    return gateway


class InvoiceController(Controller):
    path = "/api/v1/invoices"
    tags = ["billing"]
    guards = [requires_login]

    @post("", summary="Draft an invoice for an engagement (body finance or owner)", status_code=201)
    async def create(
        self, request: Request[Any, Any, Any], data: JSONBody[InvoiceIn]
    ) -> InvoiceOut:
        invoice_id = await drafts.draft_invoice(principal_of(request), data)
        return (await invoices.invoice_detail(invoice_id)).api()

    @get("/{invoice_id:uuid}", summary="The invoice (both parties; clients never see drafts)")
    async def read(self, request: Request[Any, Any, Any], invoice_id: uuid.UUID) -> InvoiceOut:
        seen = await invoices.read_invoice(
            principal_of(request), invoice_id, client=CLIENT_ALL, body=BILLERS
        )
        return seen.invoice.api()

    @post(
        "/{invoice_id:uuid}/issue",
        summary="Issue a draft: gapless number per body, frozen parties (finance, owner)",
        status_code=200,
    )
    async def issue(self, request: Request[Any, Any, Any], invoice_id: uuid.UUID) -> InvoiceOut:
        await invoices.issue_draft(principal_of(request), invoice_id)
        return (await invoices.invoice_detail(invoice_id)).api()

    @post(
        "/{invoice_id:uuid}/void",
        summary="Void an open invoice with a credit note that refers to it (finance, owner)",
        status_code=200,
    )
    async def void(self, request: Request[Any, Any, Any], invoice_id: uuid.UUID) -> InvoiceOut:
        # The body is optional (`{"reason": ...}`), so it is read by hand rather than declared.
        raw = await request.body()
        try:
            data = msgspec.json.decode(raw, type=VoidIn) if raw.strip() else VoidIn()
        except msgspec.DecodeError as exc:
            raise Invalid.field("reason", f'Send {{"reason": "..."}} or nothing ({exc}).') from exc
        await invoices.void_open(principal_of(request), invoice_id, data.reason)
        return (await invoices.invoice_detail(invoice_id)).api()

    @post(
        "/{invoice_id:uuid}/payment",
        summary="Start (or resume) paying an open invoice online (the client)",
        status_code=200,
    )
    async def payment(
        self, request: Request[Any, Any, Any], invoice_id: uuid.UUID
    ) -> PaymentStartOut:
        return await payments.pay_invoice(principal_of(request), gateway_of(request), invoice_id)

    @post(
        "/{invoice_id:uuid}/refund-overpayment",
        summary="Refund what was paid beyond the amount due, once (body finance or owner)",
        status_code=200,
    )
    async def refund(
        self, request: Request[Any, Any, Any], invoice_id: uuid.UUID
    ) -> RefundStartOut:
        return await refunds.refund_excess(principal_of(request), gateway_of(request), invoice_id)


def _page(rows: list[dict[str, Any]], total: int, params: PageParams) -> Page[InvoiceSummaryOut]:
    items = msgspec.convert(rows, list[InvoiceSummaryOut], strict=False)
    return Page(items=items, total=total, page=params.page, per_page=params.per_page)


class TenantInvoiceController(Controller):
    tags = ["billing"]
    guards = [requires_login]

    @get("/api/v1/bodies/{body_id:uuid}/invoices", summary="The body's invoices (finance, owner)")
    async def body_invoices(
        self,
        request: Request[Any, Any, Any],
        body_id: uuid.UUID,
        page: int = Parameter(default=1),
        per_page: int = Parameter(default=20),
        status: str | None = Parameter(default=None, max_length=10),
        overdue: bool | None = None,
        organisation_id: uuid.UUID | None = None,
    ) -> Page[InvoiceSummaryOut]:
        require_role(principal_of(request), TenantKind.body, body_id, BILLERS, what="No such body.")
        params = PageParams.of(page, per_page)
        rows, total = await invoices.list_invoices(
            body_id=body_id,
            organisation_id=organisation_id,
            status=status,
            overdue=overdue,
            limit=params.per_page,
            offset=params.offset,
        )
        return _page(rows, total, params)

    @get(
        "/api/v1/organisations/{organisation_id:uuid}/invoices",
        summary="The client's issued invoices (client members)",
    )
    async def organisation_invoices(
        self,
        request: Request[Any, Any, Any],
        organisation_id: uuid.UUID,
        page: int = Parameter(default=1),
        per_page: int = Parameter(default=20),
        status: str | None = Parameter(default=None, max_length=10),
        overdue: bool | None = None,
    ) -> Page[InvoiceSummaryOut]:
        require_role(
            principal_of(request),
            TenantKind.organisation,
            organisation_id,
            what="No such organisation.",
        )
        params = PageParams.of(page, per_page)
        rows, total = await invoices.list_invoices(
            organisation_id=organisation_id,
            status=status,
            overdue=overdue,
            limit=params.per_page,
            offset=params.offset,
        )
        return _page(rows, total, params)


class StripeWebhookController(Controller):
    """Stripe's deliveries: authenticated by signature only (no session, no CSRF, no token)."""

    path = "/webhooks/stripe"
    include_in_schema = False

    @post("", status_code=200, media_type=MediaType.JSON)
    async def receive(self, request: Request[Any, Any, Any]) -> WebhookOut:
        secret = settings_of(request).stripe.webhook_secret
        if not secret:
            raise BadRequest("Stripe webhooks are not configured.", code="not_configured")
        # The signature covers the exact bytes Stripe sent, so verify before any parsing.
        payload = await request.body()
        signature = request.headers.get("stripe-signature", "")
        try:
            # stripe ships this helper without annotations; it returns an Event we do not use.
            stripe.Webhook.construct_event(  # type: ignore[no-untyped-call]
                payload.decode("utf-8"), signature, secret
            )
            event = json.loads(payload)
        except stripe.SignatureVerificationError as exc:
            raise BadRequest("The Stripe signature does not verify.", code="bad_signature") from exc
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            # Signed but unreadable: not JSON, or JSON the library cannot turn into an Event
            # (it calls .get on whatever it parsed). UnicodeDecodeError is a ValueError.
            raise BadRequest(
                "The event is not a readable JSON object.", code="malformed_body"
            ) from exc
        if not isinstance(event, dict):
            raise BadRequest("The event is not a JSON object.", code="malformed_body")
        try:
            outcome = await webhooks.handle_event(event)
        except webhooks.MalformedEvent as exc:
            raise BadRequest(str(exc), code="malformed_body") from exc
        return WebhookOut(status=outcome)


API_CONTROLLERS: list[Any] = [InvoiceController, TenantInvoiceController, StripeWebhookController]
