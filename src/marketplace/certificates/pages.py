"""HTML pages of certificates: public search and verification, the document with its QR code, decisions."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import segno
from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect, Template

from marketplace.accounts.guards import Principal, current_principal, me, requires_login
from marketplace.accounts.roles import TenantKind
from marketplace.certificates import registry, status, verification
from marketplace.certificates.decisions import (
    DECIDERS,
    check_decider,
    decide_as,
    decision_status,
)
from marketplace.certificates.schemas import CertificateRecord, DecisionIn
from marketplace.core.errors import Conflict, DomainError, Invalid
from marketplace.scheduling.context import BODY_ALL, CLIENT_ALL, check_access
from marketplace.settings import settings_of
from marketplace.web.forms import convert, errors_by_field, form_data


def _back(path: str) -> Redirect:
    return Redirect(path, status_code=303)


def verification_url(request: Request[Any, Any, Any], number: str) -> str:
    return f"{settings_of(request).app.base_url}/certificates/{number}"


def qr_svg(url: str) -> str:
    """The verification page's address as an inline SVG QR code (no script, no external image)."""
    return str(
        segno.make(url, error="m").svg_inline(
            scale=3, title="QR code: verify this certificate online"
        )
    )


def _is_party(principal: Principal | None, row: CertificateRecord) -> bool:
    return principal is not None and bool(
        principal.roles_in(TenantKind.organisation, row.organisation)
        or principal.roles_in(TenantKind.body, row.body)
    )


class PublicCertificatePages(Controller):
    include_in_schema = False
    path = "/certificates"

    @get("")
    async def search(self, q: str | None = None) -> Template:
        errors: dict[str, str] = {}
        results: list[CertificateRecord] = []
        try:
            results = await verification.search(q or "")
        except DomainError as exc:
            errors = errors_by_field(exc)
        return Template(
            "certificates/search.html",
            context={"q": q or "", "results": results, "errors": errors},
            status_code=422 if errors else 200,
        )

    async def _page(
        self,
        request: Request[Any, Any, Any],
        number: str,
        errors: dict[str, str] | None = None,
        status_code: int = 200,
        template: str = "certificates/certificate.html",
    ) -> Template:
        row = await registry.certificate_row(number)
        principal = current_principal(request)
        party = _is_party(principal, row)
        can_decide = principal is not None and bool(
            principal.roles_in(TenantKind.body, row.body) & DECIDERS
        )
        url = verification_url(request, row.number)
        return Template(
            template,
            context={
                "cert": registry.public_fields(row),
                "row": row,
                "standard_title": row.standard_title,
                "party": party,
                "can_decide": can_decide,
                "at_risk": await registry.at_risk(row) if party else False,
                "events": await registry.history(row.id) if party else [],
                "errors": errors or {},
                "url": url,
                "qr": qr_svg(url),
            },
            status_code=status_code,
        )

    @get("/{number:str}")
    async def view(self, request: Request[Any, Any, Any], number: str) -> Template:
        return await self._page(request, number)

    @get("/{number:str}/document")
    async def document(self, request: Request[Any, Any, Any], number: str) -> Template:
        return await self._page(request, number, template="certificates/document.html")

    @post("/{number:str}/{action:str}", guards=[requires_login])
    async def change(
        self, request: Request[Any, Any, Any], number: str, action: str
    ) -> Response[Any]:
        data = await form_data(request)
        try:
            await status.change_status(me(request), number, action, str(data.get("reason", "")))
        except (Invalid, Conflict) as exc:
            if exc.errors and exc.errors[0]["field"] == "action":
                raise  # a mangled address, not the form's fault: the error page
            return await self._page(request, number, errors_by_field(exc), exc.status_code)
        return _back(f"/certificates/{number.strip().upper()}")


class DecisionPages(Controller):
    include_in_schema = False
    path = "/cycles/{cycle_id:uuid}/decision"
    guards = [requires_login]

    async def _page(
        self,
        principal: Principal,
        cycle_id: uuid.UUID,
        errors: dict[str, str] | None = None,
        status_code: int = 200,
        values: dict[str, Any] | None = None,
    ) -> Template:
        state = await decision_status(cycle_id)
        cycle = state.cycle
        side = check_access(
            principal,
            cycle.organisation_id,
            cycle.body_id,
            client=CLIENT_ALL,
            body=BODY_ALL,
            what="No such certification cycle.",
        )
        can_decide = bool(principal.roles_in(TenantKind.body, cycle.body_id) & DECIDERS)
        certificate = None
        if state.decision is not None:
            issued = await registry.certificates_for(body_id=cycle.body_id)
            certificate = next((c for c in issued if c.cycle == cycle_id), None)
        return Template(
            "certificates/decision.html",
            context={
                "state": state,
                "cycle": cycle,
                "side": side,
                "can_decide": can_decide,
                "certificate": certificate,
                "errors": errors or {},
                "values": values or {},
            },
            status_code=status_code,
        )

    @get("")
    async def form(self, request: Request[Any, Any, Any], cycle_id: uuid.UUID) -> Template:
        return await self._page(me(request), cycle_id)

    @post("")
    async def decide(self, request: Request[Any, Any, Any], cycle_id: uuid.UUID) -> Response[Any]:
        principal = me(request)
        # Who may not decide hears so before any field error (decide_as checks again).
        await check_decider(principal, cycle_id)
        data = await form_data(request)
        if data.get("decided_on") == "":
            data.pop("decided_on")
        try:
            result = await decide_as(principal, cycle_id, convert(data, DecisionIn))
        except (Invalid, Conflict) as exc:
            return await self._page(
                principal, cycle_id, errors_by_field(exc), exc.status_code, data
            )
        if result.certificate is not None:
            return _back(f"/certificates/{result.certificate.number}")
        return _back(f"/cycles/{cycle_id}/decision")


class BodyCertificatePages(Controller):
    include_in_schema = False
    path = "/manage/bodies/{body_id:uuid}/certificates"
    guards = [requires_login]

    @get("")
    async def list(
        self,
        request: Request[Any, Any, Any],
        body_id: uuid.UUID,
        at_risk: bool | None = None,
        expiring_by: dt.date | None = None,
    ) -> Template:
        rows = await registry.body_certificates(me(request), body_id)
        risky = sum(1 for r in rows if r.at_risk)
        # Filters the dashboards link to: at risk, or still valid and expiring by a date.
        if at_risk:
            rows = [r for r in rows if r.at_risk]
        if expiring_by is not None:
            rows = [
                r
                for r in rows
                if r.effective_status in ("active", "suspended") and r.expires_on <= expiring_by
            ]
        return Template(
            "certificates/body_list.html",
            context={
                "body_id": body_id,
                "rows": rows,
                "at_risk": risky,
                "filtered": bool(at_risk or expiring_by),
            },
        )


PAGE_CONTROLLERS = [PublicCertificatePages, DecisionPages, BodyCertificatePages]
