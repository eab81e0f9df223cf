"""HTML pages of billing: the body's invoices and draft form, the invoice itself (print-ready), paying."""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect, Template

from marketplace.accounts.guards import Principal, me, require_role, requires_login
from marketplace.accounts.roles import TenantKind
from marketplace.billing import drafts, invoices, payments, refunds
from marketplace.billing.access import BILLERS, CLIENT_ALL
from marketplace.billing.api import CSP_BASE, gateway_of
from marketplace.billing.schemas import InvoiceIn, VoidIn
from marketplace.core.errors import DomainError, Invalid
from marketplace.settings import settings_of
from marketplace.web.forms import convert, errors_by_field, form_data

NO_BODY = "No such certification body."
FORM_LINES = 5
PAY_JS = (Path(__file__).with_name("pay.js")).read_text(encoding="utf-8")
# ISO 4217 currencies with other than two decimals (as the money filter shows them).
_EXPONENT = {"JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3, "OMR": 3, "TND": 3}


def _back(path: str) -> Redirect:
    return Redirect(path, status_code=303)


def _minor(value: str, currency: str, field: str) -> int:
    """A typed amount in major units ("950.00") as integer minor units for the currency."""
    exponent = _EXPONENT.get(currency.upper(), 2)
    try:
        amount = Decimal(value.replace(",", "").strip())
    except InvalidOperation:
        raise Invalid.field(field, "Type an amount such as 950.00.") from None
    if not amount.is_finite():
        raise Invalid.field(field, "Type an amount such as 950.00.")
    scaled = amount.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise Invalid.field(field, f"Use at most {exponent} decimal places.")
    return int(scaled)


def _form_lines(data: dict[str, Any], currency: str, rows: list[int]) -> list[dict[str, Any]]:
    """The filled-in rows of the form as API lines; `rows` records which form row each came from."""
    lines = []
    for i in range(FORM_LINES):
        description = str(data.get(f"line-{i}-description", "")).strip()
        if not description:
            continue
        lines.append(
            {
                "description": description,
                "quantity": str(data.get(f"line-{i}-quantity") or "1"),
                "unit_amount_minor": _minor(
                    str(data.get(f"line-{i}-unit_amount") or "0"), currency, f"line-{i}-unit_amount"
                ),
                "tax_rate": str(data.get(f"line-{i}-tax_rate") or "0"),
            }
        )
        rows.append(i)
    return lines


def _row_errors(errors: dict[str, str], rows: list[int]) -> dict[str, str]:
    """Point "lines[1].quantity" at the form row it came from (blank rows are skipped)."""
    mapped = {}
    for key, message in errors.items():
        if key.startswith("lines[") and "]" in key:
            index = int(key[6 : key.index("]")])
            if index < len(rows):
                key = f"lines[{rows[index]}]{key[key.index(']') + 1 :]}"
        mapped[key] = message
    return mapped


def stripe_js_url(api_base: str) -> str:
    """Stripe.js, or the emulator's copy of it when the API points at localstripe."""
    if api_base:
        return api_base.rstrip("/") + "/js.stripe.com/v3/"
    return "https://js.stripe.com/v3/"


def payment_csp(js_url: str, api_base: str) -> str:
    """The app's policy plus Stripe's script, frames and API, for the one page that needs them."""
    parts = urlsplit(js_url)
    js_origin = f"{parts.scheme}://{parts.netloc}"
    if api_base:
        api = urlsplit(api_base)
        api_origin = frames = f"{api.scheme}://{api.netloc}"
    else:
        api_origin, frames = "https://api.stripe.com", f"{js_origin} https://hooks.stripe.com"
    return CSP_BASE.replace("script-src 'self'", f"script-src 'self' {js_origin}") + (
        f"; frame-src {frames}; connect-src 'self' {api_origin}"
    )


class InvoicePages(Controller):
    include_in_schema = False
    guards = [requires_login]

    @get("/invoices")
    async def hub(self, request: Request[Any, Any, Any]) -> Template:
        """Every invoice the caller may see: their bodies' (finance, owner) and their clients'."""
        principal = me(request)
        sections = []
        for m in principal.memberships:
            if m.kind == TenantKind.body and m.role in BILLERS:
                rows, _ = await invoices.list_invoices(body_id=m.tenant_id)
                sections.append(
                    {"kind": "body", "id": m.tenant_id, "name": m.tenant_name, "invoices": rows}
                )
            elif m.kind == TenantKind.organisation:
                rows, _ = await invoices.list_invoices(organisation_id=m.tenant_id)
                sections.append(
                    {
                        "kind": "organisation",
                        "id": m.tenant_id,
                        "name": m.tenant_name,
                        "invoices": rows,
                    }
                )
        return Template("billing/hub.html", context={"sections": sections})

    @get("/manage/bodies/{body_id:uuid}/invoices")
    async def body_invoices(
        self,
        request: Request[Any, Any, Any],
        body_id: uuid.UUID,
        status: str | None = None,
        overdue: bool | None = None,
        organisation: uuid.UUID | None = None,
    ) -> Template:
        # The filters arrive from the dashboards' links (one client's, open or overdue invoices).
        filters = {"status": status or None, "overdue": overdue, "organisation_id": organisation}
        return await self._body_page(me(request), body_id, filters=filters)

    async def _body_page(
        self,
        principal: Principal,
        body_id: uuid.UUID,
        errors: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
        status_code: int = 200,
        filters: dict[str, Any] | None = None,
    ) -> Template:
        require_role(principal, TenantKind.body, body_id, BILLERS, what=NO_BODY)
        rows, total = await invoices.list_invoices(body_id=body_id, **(filters or {}))
        return Template(
            "billing/body_invoices.html",
            context={
                "body_id": body_id,
                "invoices": rows,
                "total": total,
                "filtered": any((filters or {}).values()),
                "engagements": await drafts.body_engagements(body_id),
                "errors": errors or {},
                "values": values or {},
                "form_lines": range(FORM_LINES),
            },
            status_code=status_code,
        )

    @post("/manage/bodies/{body_id:uuid}/invoices")
    async def create(self, request: Request[Any, Any, Any], body_id: uuid.UUID) -> Response[Any]:
        principal = me(request)
        require_role(principal, TenantKind.body, body_id, BILLERS, what=NO_BODY)
        data = await form_data(request)
        rows: list[int] = []
        try:
            try:
                engagement_id = uuid.UUID(str(data.get("engagement_id", "")))
            except ValueError:
                raise Invalid.field("engagement_id", "Choose an engagement.") from None
            currency = str(data.get("currency") or "").strip().upper()
            lines = None if data.get("prefill") else _form_lines(data, currency or "EUR", rows)
            payload = convert(
                {
                    "engagement_id": str(engagement_id),
                    "currency": currency or None,
                    "due_on": data.get("due_on") or None,
                    "lines": lines,
                    "notes": str(data.get("notes", "")),
                },
                InvoiceIn,
            )
            invoice_id = await drafts.draft_invoice(principal, payload, body_id=body_id)
        except DomainError as exc:
            errors = _row_errors(errors_by_field(exc), rows)
            return await self._body_page(principal, body_id, errors, dict(data), exc.status_code)
        return _back(f"/invoices/{invoice_id}")

    @get("/organisations/{organisation_id:uuid}/invoices")
    async def organisation_invoices(
        self,
        request: Request[Any, Any, Any],
        organisation_id: uuid.UUID,
        status: str | None = None,
        overdue: bool | None = None,
    ) -> Template:
        require_role(
            me(request), TenantKind.organisation, organisation_id, what="No such organisation."
        )
        rows, total = await invoices.list_invoices(
            organisation_id=organisation_id, status=status or None, overdue=overdue
        )
        return Template(
            "billing/organisation_invoices.html",
            context={
                "organisation_id": organisation_id,
                "invoices": rows,
                "total": total,
                "filtered": bool(status or overdue),
            },
        )

    @get("/invoices/{invoice_id:uuid}")
    async def invoice(self, request: Request[Any, Any, Any], invoice_id: uuid.UUID) -> Template:
        seen = await invoices.read_invoice(me(request), invoice_id, client=CLIENT_ALL, body=BILLERS)
        return Template(
            "billing/invoice.html",
            context={
                "invoice": seen.invoice,
                "side": seen.side,
                "payment_configured": settings_of(request).stripe.configured,
                "paid_notice": request.query_params.get("redirect_status") == "succeeded",
                "refunded_notice": request.query_params.get("refunded") == "1",
            },
        )

    @get("/invoices/{invoice_id:uuid}/refund")
    async def refund_confirm(
        self, request: Request[Any, Any, Any], invoice_id: uuid.UUID
    ) -> Template:
        """Ask once more before money leaves: the amount, from which payment, to whom."""
        seen = await invoices.read_invoice(me(request), invoice_id, body=BILLERS)
        return Template("billing/refund_confirm.html", context={"invoice": seen.invoice})

    @post("/invoices/{invoice_id:uuid}/refund")
    async def refund(self, request: Request[Any, Any, Any], invoice_id: uuid.UUID) -> Redirect:
        await refunds.refund_excess(me(request), gateway_of(request), invoice_id)
        return _back(f"/invoices/{invoice_id}?refunded=1")

    @post("/invoices/{invoice_id:uuid}/issue")
    async def issue(self, request: Request[Any, Any, Any], invoice_id: uuid.UUID) -> Redirect:
        await invoices.issue_draft(me(request), invoice_id)
        return _back(f"/invoices/{invoice_id}")

    @post("/invoices/{invoice_id:uuid}/void")
    async def void(self, request: Request[Any, Any, Any], invoice_id: uuid.UUID) -> Redirect:
        data = await form_data(request)
        # A reason past the API's limit is cut rather than refused: the form has no error slot.
        form = convert({"reason": str(data.get("reason", ""))[:1000]}, VoidIn)
        credit_id = await invoices.void_open(me(request), invoice_id, form.reason)
        return _back(f"/invoices/{credit_id}")

    @post("/invoices/{invoice_id:uuid}/pay")
    async def pay(self, request: Request[Any, Any, Any], invoice_id: uuid.UUID) -> Template:
        """The Payment Element for the invoice's intent (created once, then reused)."""
        principal = me(request)
        seen = await invoices.read_invoice(principal, invoice_id, client=CLIENT_ALL)
        gateway = gateway_of(request)
        if gateway is None:
            return Template(
                "billing/pay.html",
                context={"invoice": seen.invoice, "configured": False},
                status_code=503,
            )
        started = await payments.pay_invoice(principal, gateway, invoice_id)
        settings = settings_of(request)
        js_url = stripe_js_url(settings.stripe.api_base)
        return Template(
            "billing/pay.html",
            context={
                "invoice": seen.invoice,
                "configured": True,
                "client_secret": started.client_secret,
                "publishable_key": started.publishable_key,
                "stripe_js": js_url,
                "return_url": f"{settings.app.base_url}/invoices/{invoice_id}",
            },
            headers={"Content-Security-Policy": payment_csp(js_url, settings.stripe.api_base)},
        )

    @get("/billing/pay.js", cache=3600, media_type="application/javascript")
    async def pay_js(self) -> str:
        """Our few lines that mount the Payment Element, served from our own origin."""
        return PAY_JS


PAGE_CONTROLLERS: list[Any] = [InvoicePages]
