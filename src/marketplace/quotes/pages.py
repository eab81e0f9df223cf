"""HTML pages of quotes: the audit-time calculator, the request form, the comparison, the body inbox and answer."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter, QueryParameter
from litestar.response import Redirect, Template

from marketplace.accounts import organisations as accounts
from marketplace.accounts.guards import Principal, me, require_role, requires_login
from marketplace.accounts.roles import TenantKind
from marketplace.accounts.tables import CertificationBody
from marketplace.core import clock
from marketplace.core.errors import Conflict, DomainError, Invalid, NotFound
from marketplace.core.pagination import PageParams
from marketplace.directory.services import ratings_for
from marketplace.quotes import acceptance, offers, requests
from marketplace.quotes.access import QUOTE_HANDLERS, REQUESTERS, Viewer, viewer_of
from marketplace.quotes.baseline import (
    AUDIT_KINDS,
    AUDIT_LABELS,
    baseline,
    baseline_for_request,
    baseline_out,
    planned_days,
)
from marketplace.quotes.requests import MAX_BODIES, requests_of_organisation
from marketplace.quotes.schemas import AuditTimeOut, DeclineIn, QuoteIn, QuoteRequestIn
from marketplace.quotes.tables import Quote
from marketplace.reference import services as reference
from marketplace.rules.audit_time import Complexity
from marketplace.web.forms import as_list, convert, errors_by_field, form_data

COMPLEXITIES = [c.value for c in Complexity]
# ?body=<id>&body=<id> preselects bodies (links from the compare page); `body` is reserved by Litestar.
_BODY_QUERY = QueryParameter(name="body")
# Currencies whose minor unit is not the cent (ISO 4217); the rest have two decimals.
_EXPONENT = {"JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3, "OMR": 3, "TND": 3}
_MONEY_FIELDS = {"day_rate_minor": "day_rate", "fees_minor": "fees", "travel_minor": "travel"}
# Names a body's rating summary may carry its average and count under (directory's breakdown, or
# columns on the body row); the comparison shows "no rating yet" when none is set.
_RATING_KEYS = ("rating", "rating_average", "average_rating", "rating_mean")
_REVIEW_COUNT_KEYS = ("review_count", "rating_count", "reviews_count")
# The 404 sentence of the body pages: the body is in their address.
_NO_BODY = "No such certification body."


def _blank_to_none(value: Any) -> Any:
    return None if value in (None, "") else value


def _minor(raw: Any, currency: str) -> int | None:
    """Major units typed in a form ("1 250.50") to integer minor units; None when unreadable."""
    text = str(raw or "0").replace(",", "").replace(" ", "").strip() or "0"
    if len(text) > 20:  # no fee needs more digits; it also keeps "1e999999" away from Decimal
        return None
    try:
        amount = Decimal(text).scaleb(_EXPONENT.get(currency.upper(), 2))
    except ArithmeticError:  # InvalidOperation, Overflow
        return None
    if not amount.is_finite() or amount != amount.to_integral_value():
        return None
    return int(amount)


def _first(row: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if row.get(key) is not None:
            return row[key]
    return None


async def _bodies(ids: list[uuid.UUID] | None = None, limit: int = 200) -> list[dict[str, Any]]:
    query = CertificationBody.select().order_by(CertificationBody.name)
    if ids is not None:
        if not ids:
            return []
        query = query.where(CertificationBody.id.is_in(ids))
    else:
        query = query.limit(limit)
    rows: list[dict[str, Any]] = await query.run()
    return rows


async def _ratings(body_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    """Each body's rating summary from the directory."""
    if not body_ids:
        return {}
    return await ratings_for(body_ids)


def _uuids(values: list[str]) -> list[uuid.UUID]:
    out: list[uuid.UUID] = []
    for v in values:
        try:
            out.append(uuid.UUID(v))
        except ValueError:
            continue  # a mangled ?body= link: ignore it rather than fail the whole form
    return out


def _calculation(values: dict[str, str]) -> tuple[int, int, float]:
    """The calculator's typed numbers, each unreadable one a field error."""
    try:
        personnel = int(values["effective_personnel"])
    except ValueError:
        raise Invalid.field("effective_personnel", "Give a whole number of persons.") from None
    try:
        n_sites = int(values["sites"])
    except ValueError:
        raise Invalid.field("sites", "Give a whole number of sites.") from None
    try:
        pct = float(values["adjustment_pct"])
    except ValueError:
        raise Invalid.field("adjustment_pct", "Give a percentage such as -10.") from None
    return personnel, n_sites, pct


class AuditTimePages(Controller):
    include_in_schema = False

    @get("/audit-time")
    async def calculator(
        self,
        standard: str | None = Parameter(default=None),
        effective_personnel: str | None = Parameter(default=None),
        complexity: str | None = Parameter(default=None),
        sites: str | None = Parameter(default=None),
        adjustment_pct: str | None = Parameter(default=None),
    ) -> Template:
        values = {
            "standard": standard or "",
            "effective_personnel": effective_personnel or "",
            "complexity": complexity or "",
            "sites": sites or "1",
            "adjustment_pct": adjustment_pct or "0",
        }
        result: AuditTimeOut | None = None
        errors: dict[str, str] = {}
        status = 200
        if standard and effective_personnel:
            try:
                personnel, n_sites, pct = _calculation(values)
                base = await baseline(standard, personnel, complexity, n_sites, pct)
                result = baseline_out(base, personnel, n_sites)
            except DomainError as exc:
                errors, status = errors_by_field(exc), exc.status_code
        return Template(
            "quotes/audit_time.html",
            context={
                "standards": await reference.list_standards(),
                "complexities": COMPLEXITIES,
                "values": values,
                "result": result,
                "labels": AUDIT_LABELS,
                "errors": errors,
            },
            status_code=status,
        )


# --- the client's request form -------------------------------------------------------------


async def _request_form(
    organisation_id: uuid.UUID,
    values: dict[str, Any],
    chosen: list[uuid.UUID],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    org = await accounts.get_organisation(organisation_id)
    chosen_rows = await _bodies(chosen)
    others = [b for b in await _bodies() if b["id"] not in set(chosen)]
    return Template(
        "quotes/request_form.html",
        context={
            "org": org,
            "values": values,
            "chosen": chosen_rows,
            "others": others,
            "chosen_ids": {str(c) for c in chosen},
            "standards": await reference.list_standards(),
            "sectors": await reference.list_iaf_sectors(),
            "complexities": COMPLEXITIES,
            "max_bodies": MAX_BODIES,
            "errors": errors or {},
        },
        status_code=status_code,
    )


def _requester(principal: Principal, organisation: uuid.UUID) -> None:
    # Checked before any form is shown or re-shown: the form carries the organisation's profile.
    require_role(
        principal, TenantKind.organisation, organisation, REQUESTERS, what="No such organisation."
    )


def _request_payload(organisation: uuid.UUID, data: dict[str, Any], chosen: list[str]) -> Any:
    """The request form's fields as the API's QuoteRequestIn (blank numbers: the profile's)."""
    return convert(
        {
            "organisation_id": str(organisation),
            "standard": data.get("standard", ""),
            "body_ids": chosen,
            "iaf_sector": _blank_to_none(data.get("iaf_sector")),
            "effective_personnel": _blank_to_none(data.get("effective_personnel")),
            "sites": _blank_to_none(data.get("sites")),
            "shifts": _blank_to_none(data.get("shifts")) or 1,
            "complexity": _blank_to_none(data.get("complexity")),
            "message": data.get("message", ""),
            "desired_start": _blank_to_none(data.get("desired_start")),
        },
        QuoteRequestIn,
    )


class QuoteRequestPages(Controller):
    include_in_schema = False
    guards = [requires_login]

    @get("/quote-requests")
    async def index(self, request: Request[Any, Any, Any]) -> Template:
        principal = me(request)
        organisations = []
        for m in principal.memberships:
            if m.kind == TenantKind.organisation:
                page = await requests_of_organisation(m.tenant_id, PageParams(1, 50))
                organisations.append(
                    {
                        "id": m.tenant_id,
                        "name": m.tenant_name,
                        "can_request": m.role in REQUESTERS,
                        "requests": page.items,
                    }
                )
        bodies = [
            {"id": m.tenant_id, "name": m.tenant_name}
            for m in principal.memberships
            if m.kind == TenantKind.body and m.role in QUOTE_HANDLERS
        ]
        return Template(
            "quotes/index.html", context={"organisations": organisations, "bodies": bodies}
        )

    @get("/quote-requests/new")
    async def new_form(
        self,
        request: Request[Any, Any, Any],
        organisation: uuid.UUID | None = None,
        bodies: Annotated[list[str] | None, _BODY_QUERY] = None,
        standard: str | None = Parameter(default=None),
    ) -> Template:
        principal = me(request)
        if organisation is None:
            mine = principal.tenants(TenantKind.organisation, REQUESTERS)
            if not mine:
                raise NotFound(
                    "Quote requests are sent by a client organisation's owner or quality "
                    "manager; register your organisation first."
                )
            organisation = mine[0]
        _requester(principal, organisation)
        org = await accounts.get_organisation(organisation)
        values = {
            "standard": standard or "ISO 9001:2015",
            "iaf_sector": org["iaf_sector"],
            "effective_personnel": org["effective_personnel"],
            "sites": max(1, len(org["sites"])),
            "shifts": 1,
            "complexity": "",
            "desired_start": "",
            "message": "",
        }
        return await _request_form(organisation, values, _uuids(bodies or [])[:MAX_BODIES])

    @post("/quote-requests/new")
    async def create(self, request: Request[Any, Any, Any]) -> Response[Any]:
        principal = me(request)
        data = await form_data(request)
        try:
            organisation = uuid.UUID(str(data.get("organisation_id", "")))
        except ValueError:
            raise NotFound("No such organisation.") from None
        _requester(principal, organisation)
        chosen = as_list(data.get("body_ids"))
        try:
            payload = _request_payload(organisation, data, chosen)
            request_id = await requests.send_request(principal, payload)
        except DomainError as exc:
            return await _request_form(
                organisation, data, _uuids(chosen), errors_by_field(exc), exc.status_code
            )
        return Redirect(f"/quote-requests/{request_id}")


# --- the client's comparison (a body is shown its own view) --------------------------------


def _column(
    recipient: dict[str, Any],
    quotes_by_body: dict[Any, Any],
    profile: dict[str, Any],
    rating: dict[str, Any],
) -> dict[str, Any]:
    """One body's column: its answer, quote, profile, rating and how fast it answered."""
    answered_hours = None
    if recipient["responded_at"] is not None:
        elapsed = recipient["responded_at"] - recipient["created_at"]
        answered_hours = round(elapsed.total_seconds() / 3600)
    return {
        "recipient": recipient,
        "quote": quotes_by_body.get(recipient["body_id"]),
        "body": profile,
        "rating": _first(rating, _RATING_KEYS) or _first(profile, _RATING_KEYS),
        "review_count": _first(rating, _REVIEW_COUNT_KEYS) or _first(profile, _REVIEW_COUNT_KEYS),
        "answered_hours": answered_hours,
    }


async def _compare(
    viewer: Viewer,
    view: dict[str, Any],
    errors: dict[str, str] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Template:
    base = await baseline_for_request(view)
    bodies = {b["id"]: b for b in await _bodies([r["body_id"] for r in view["recipients"]])}
    quotes_by_body = {q["body_id"]: q for q in view["quotes"]}
    ratings = await _ratings(list(bodies))
    columns = [
        _column(r, quotes_by_body, bodies.get(r["body_id"], {}), ratings.get(r["body_id"], {}))
        for r in view["recipients"]
    ]
    return Template(
        "quotes/compare.html",
        context={
            "req": view,
            "viewer": viewer,
            "can_accept": viewer.client and viewer.role in REQUESTERS,
            "columns": columns,
            "baseline": baseline_out(base, view["effective_personnel"], view["sites"]),
            "planned": planned_days(base.estimate),
            "kinds": AUDIT_KINDS,
            "labels": AUDIT_LABELS,
            "errors": errors or {},
            "notice": notice,
        },
        status_code=status_code,
    )


async def _refused(principal: Principal, request_id: uuid.UUID, exc: DomainError) -> Template:
    """The comparison again, with why the client's decision was refused."""
    viewer, view = await requests.visible_request(principal, request_id)
    return await _compare(viewer, view, errors={"form": exc.detail}, status_code=exc.status_code)


class ComparisonPages(Controller):
    include_in_schema = False
    guards = [requires_login]

    @get("/quote-requests/{request_id:uuid}")
    async def view(self, request: Request[Any, Any, Any], request_id: uuid.UUID) -> Response[Any]:
        viewer, view = await requests.visible_request(me(request), request_id)
        if not viewer.client:
            body_id = sorted(viewer.body_ids)[0]
            return Redirect(f"/manage/bodies/{body_id}/quote-requests/{request_id}")
        return await _compare(viewer, view, notice=await _outcome(view))

    @post("/quotes/{quote_id:uuid}/accept")
    async def accept(self, request: Request[Any, Any, Any], quote_id: uuid.UUID) -> Response[Any]:
        principal = me(request)
        quote = await requests.get_quote_row(quote_id)
        try:
            await acceptance.accept(principal, quote_id)
        except (Conflict, Invalid) as exc:
            return await _refused(principal, quote["request"], exc)
        return Redirect(f"/quote-requests/{quote['request']}")

    @post("/quote-requests/{request_id:uuid}/withdraw")
    async def withdraw(
        self, request: Request[Any, Any, Any], request_id: uuid.UUID
    ) -> Response[Any]:
        principal = me(request)
        try:
            await acceptance.withdraw(principal, request_id)
        except (Conflict, Invalid) as exc:
            return await _refused(principal, request_id, exc)
        return Redirect(f"/quote-requests/{request_id}")


# --- the body's inbox and answer -----------------------------------------------------------


def _handler(principal: Principal, body_id: uuid.UUID) -> None:
    # Checked before any answer form is shown or re-shown: it carries the body's own quote.
    require_role(principal, TenantKind.body, body_id, QUOTE_HANDLERS, what=_NO_BODY)


async def _body_form(
    request: Request[Any, Any, Any], body_id: uuid.UUID
) -> tuple[Principal, dict[str, Any]]:
    """The signed-in handler of the body in the address, and the form they posted."""
    principal = me(request)
    _handler(principal, body_id)
    return principal, await form_data(request)


def _answer_defaults(body: dict[str, Any], planned: dict[str, float]) -> dict[str, Any]:
    """The answer form's first values: the baseline's days at the body's lowest day rate."""
    defaults: dict[str, Any] = {
        "currency": body.get("currency", "EUR"),
        "valid_until": (clock.today() + dt.timedelta(days=60)).isoformat(),
        "message": "",
    }
    rate = Decimal(int(body.get("day_rate_min_minor") or 0)).scaleb(
        -_EXPONENT.get(str(defaults["currency"]), 2)
    )
    for kind in AUDIT_KINDS:
        defaults[f"{kind}_days"] = f"{planned[kind]:g}"
        defaults[f"{kind}_day_rate"] = f"{rate:f}"
        defaults[f"{kind}_fees"] = "0"
        defaults[f"{kind}_travel"] = "0"
    return defaults


async def _answer(
    principal: Principal,
    body_id: uuid.UUID,
    request_id: uuid.UUID,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Template:
    _handler(principal, body_id)
    viewer = await viewer_of(principal, await requests.get_request_row(request_id))
    if body_id not in viewer.body_ids:
        raise NotFound("No such quote request.")
    view = await requests.request_view(request_id, Viewer(False, frozenset({body_id}), "body"))
    base = await baseline_for_request(view)
    planned = planned_days(base.estimate)
    body = (await _bodies([body_id]) or [{}])[0]
    recipient = view["recipients"][0] if view["recipients"] else None
    return Template(
        "quotes/answer.html",
        context={
            "req": view,
            "body": body,
            "recipient": recipient,
            "quote": view["quotes"][0] if view["quotes"] else None,
            "baseline": baseline_out(base, view["effective_personnel"], view["sites"]),
            "planned": planned,
            "kinds": AUDIT_KINDS,
            "labels": AUDIT_LABELS,
            "values": {**_answer_defaults(body, planned), **(values or {})},
            "errors": errors or {},
            "can_answer": view["status"] == "open"
            and recipient is not None
            and recipient["status"] == "pending",
        },
        status_code=status_code,
    )


def _quote_lines(
    data: dict[str, Any], currency: str
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The answer form's days and amounts per audit as API lines, with the unreadable fields."""
    errors: dict[str, str] = {}
    lines = []
    for kind in AUDIT_KINDS:
        line: dict[str, Any] = {"audit_kind": kind}
        try:
            line["auditor_days"] = float(str(data.get(f"{kind}_days") or "0"))
        except ValueError:
            errors[f"{kind}_days"] = "Give a number of days such as 1.5."
            line["auditor_days"] = 0.0
        for api_name, form_name in _MONEY_FIELDS.items():
            value = _minor(data.get(f"{kind}_{form_name}"), currency)
            if value is None:
                errors[f"{kind}_{form_name}"] = "Give an amount such as 950.00."
            line[api_name] = value or 0
        lines.append(line)
    return lines, errors


class AnswerPages(Controller):
    include_in_schema = False
    guards = [requires_login]

    @get("/manage/bodies/{body_id:uuid}/quote-requests")
    async def inbox(
        self,
        request: Request[Any, Any, Any],
        body_id: uuid.UUID,
        page: int = Parameter(default=1),
    ) -> Template:
        result = await requests.body_inbox(me(request), body_id, PageParams.of(page, 50))
        body = (await _bodies([body_id]) or [{}])[0]
        return Template(
            "quotes/inbox.html",
            context={"body": body, "page": result, "today": clock.today()},
        )

    @get("/manage/bodies/{body_id:uuid}/quote-requests/{request_id:uuid}")
    async def answer_form(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID, request_id: uuid.UUID
    ) -> Template:
        return await _answer(me(request), body_id, request_id)

    @post("/manage/bodies/{body_id:uuid}/quote-requests/{request_id:uuid}/quote")
    async def submit(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID, request_id: uuid.UUID
    ) -> Response[Any]:
        principal, data = await _body_form(request, body_id)
        currency = str(data.get("currency") or "EUR").upper()
        lines, errors = _quote_lines(data, currency)
        try:
            if errors:
                raise Invalid("Please correct the fields marked below.", errors=[])
            payload = convert(
                {
                    "body_id": str(body_id),
                    "currency": currency,
                    "valid_until": data.get("valid_until", ""),
                    "lines": lines,
                    "message": data.get("message", ""),
                },
                QuoteIn,
            )
            await offers.send_quote(principal, request_id, payload, what=_NO_BODY)
        except DomainError as exc:
            for e in exc.errors:
                errors[_form_field(e["field"])] = e["message"]
            if not errors:
                errors = errors_by_field(exc)
            return await _answer(principal, body_id, request_id, errors, data, exc.status_code)
        return Redirect(f"/manage/bodies/{body_id}/quote-requests/{request_id}")

    @post("/manage/bodies/{body_id:uuid}/quote-requests/{request_id:uuid}/decline")
    async def decline(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID, request_id: uuid.UUID
    ) -> Response[Any]:
        principal, data = await _body_form(request, body_id)
        try:
            payload = convert(
                {"body_id": str(body_id), "reason": data.get("reason", "")}, DeclineIn
            )
            await offers.decline(principal, request_id, payload, what=_NO_BODY)
        except DomainError as exc:
            errors = {
                ("decline_" + k if k == "reason" else k): v for k, v in errors_by_field(exc).items()
            }
            return await _answer(principal, body_id, request_id, errors, data, exc.status_code)
        return Redirect(f"/manage/bodies/{body_id}/quote-requests/{request_id}")


async def _outcome(req: dict[str, Any]) -> str:
    """The sentence a closed request is shown with: accepted (engagement started) or withdrawn."""
    if req["status"] != "closed":
        return ""
    if (
        await Quote.exists()
        .where((Quote.request == req["id"]) & (Quote.status == "accepted"))
        .run()
    ):
        return "Quote accepted: the engagement has started."
    return "You withdrew this request."


def _form_field(api_field: str) -> str:
    """lines[2].auditor_days -> surveillance1_days: API field names back to the form's inputs."""
    if api_field.startswith("lines[") and "]." in api_field:
        index = int(api_field[6 : api_field.index("]")])
        name = api_field.split("].", 1)[1]
        kind = AUDIT_KINDS[index] if index < len(AUDIT_KINDS) else "form"
        suffix = "days" if name == "auditor_days" else _MONEY_FIELDS.get(name, name)
        return f"{kind}_{suffix}"
    return api_field


PAGE_CONTROLLERS = [AuditTimePages, QuoteRequestPages, ComparisonPages, AnswerPages]
