"""Quote services: the IAF MD 5 / MD 1 baseline, requests to several bodies, quotes, declines, acceptance."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from marketplace.accounts import organisations as accounts
from marketplace.accounts.guards import Principal
from marketplace.accounts.roles import TenantKind
from marketplace.accounts.tables import CertificationBody
from marketplace.core import clock
from marketplace.core.activity import Tenant, log_action
from marketplace.core.db import write_transaction
from marketplace.core.errors import Conflict, Forbidden, Invalid, NotFound
from marketplace.core.pagination import Page, PageParams
from marketplace.quotes.tables import Quote, QuoteLine, QuoteRequest, QuoteRequestRecipient
from marketplace.reference.tables import IafSector, Standard
from marketplace.rules.audit_time import (
    AuditTimeEstimate,
    Complexity,
    Family,
    complexity_levels,
    estimate,
    table_family,
)
from marketplace.scheduling.services import start_engagement

MAX_BODIES = 5
# Body roles that see the inbox and answer requests; everyone in a client may read its requests,
# only its owner and quality manager send them and accept a quote.
QUOTE_HANDLERS = frozenset({"owner", "scheduler"})
REQUESTERS = frozenset({"owner", "quality_manager"})
# The five audits of an initial three-year cycle (ISO/IEC 17021-1 9.1.3), in order.
AUDIT_KINDS = ("stage1", "stage2", "surveillance1", "surveillance2", "recertification")
AUDIT_LABELS = {
    "stage1": "Stage 1",
    "stage2": "Stage 2",
    "surveillance1": "Surveillance 1",
    "surveillance2": "Surveillance 2",
    "recertification": "Recertification",
}
RECIPIENT_STATUSES = ("pending", "quoted", "declined", "accepted", "not_selected")
MAX_PERSONNEL = 1_000_000
MAX_SITES = 10_000
MAX_SHIFTS = 4
MAX_LINE_DAYS = 1000.0
MAX_MONEY_MINOR = 100_000_000_000  # a billion in major units: far beyond any real audit fee
MAX_VALIDITY_DAYS = 366

# --- the audit-time baseline (IAF MD 5, IAF MD 1) ------------------------------------------------


@dataclass(frozen=True)
class Baseline:
    """An estimate for one standard and profile, with the family whose table was read."""

    standard: str
    family: str
    table_family: Family
    complexity: Complexity | None
    estimate: AuditTimeEstimate
    table_days: float
    basis: tuple[str, ...]


def clean_text(value: Any, field: str) -> str:
    """Stripped text; a NUL character (which PostgreSQL cannot store) is a field error, not a 500."""
    text = str(value or "").strip()
    if "\x00" in text:
        raise Invalid.field(field, "Remove the NUL character from this text.")
    return text


async def standard_row(code: str) -> dict[str, Any]:
    code = clean_text(code, "standard")
    rows = await Standard.select().where(Standard.code == code).run()
    if not rows:
        raise Invalid.field(
            "standard", f"Unknown standard {code!r}; use a code from /api/v1/standards."
        )
    row: dict[str, Any] = rows[0]
    return row


def _complexity(
    value: str | None, standard: str, family: Family, uses_complexity: bool
) -> Complexity | None:
    """The complexity a standard's table is read with: one of its own levels, or none at all."""
    levels = complexity_levels(family) or (tuple(Complexity) if uses_complexity else ())
    allowed = ", ".join(c.value for c in levels)
    if value in (None, ""):
        if levels:
            raise Invalid.field(
                "complexity",
                "This standard's audit time depends on the complexity of its risks: choose "
                f"one of {allowed} (IAF MD 5).",
            )
        return None
    if not levels:
        raise Invalid.field(
            "complexity", f"{standard} has no complexity levels: leave complexity empty (null)."
        )
    if value not in {c.value for c in levels}:
        raise Invalid.field("complexity", f"For {standard} choose one of {allowed}.")
    return Complexity(str(value))


def _check_int(field: str, value: int, low: int, high: int, what: str) -> None:
    if not low <= value <= high:
        raise Invalid.field(field, f"{what} must be between {low} and {high}.")


async def baseline(
    standard: str,
    effective_personnel: int,
    complexity: str | None = None,
    sites: int = 1,
    adjustment_pct: float = 0.0,
) -> Baseline:
    """Audit days for a standard and profile, with the calculation and its justification.

    IAF MD 5: initial time (stage 1 + stage 2) from the family's table by effective personnel
    (EMS and OH&S by complexity), adjustments capped at -30%, half-day rounding, surveillance
    about a third and recertification about two thirds; IAF MD 1 sample sizes for several sites.
    """
    row = await standard_row(standard)
    family, stand_in_sentence = table_family(row["family"])
    _check_int("effective_personnel", effective_personnel, 1, MAX_PERSONNEL, "Effective personnel")
    _check_int("sites", sites, 1, MAX_SITES, "Sites")
    if not math.isfinite(adjustment_pct) or not -100 <= adjustment_pct <= 200:
        raise Invalid.field("adjustment_pct", "Give a percentage between -100 and 200.")
    level = _complexity(complexity, row["code"], family, bool(row["uses_complexity"]))
    result = estimate(family, effective_personnel, level, sites, adjustment_pct)
    table = estimate(family, effective_personnel, level, 1, 0.0).initial_days
    basis: tuple[str, ...] = (f"Standard {row['code']} ({row['family']}).",)
    if stand_in_sentence:
        basis += (stand_in_sentence,)
    return Baseline(
        standard=row["code"],
        family=row["family"],
        table_family=family,
        complexity=level,
        estimate=result,
        table_days=table,
        basis=basis + result.basis,
    )


def baseline_out(b: Baseline, effective_personnel: int, sites: int) -> dict[str, Any]:
    e = b.estimate
    return {
        "standard": b.standard,
        "family": b.family,
        "table_family": b.table_family.value,
        "effective_personnel": effective_personnel,
        "complexity": b.complexity.value if b.complexity else None,
        "sites": sites,
        "table_days": b.table_days,
        "initial_days": e.initial_days,
        "stage1_days": e.stage1_days,
        "stage2_days": e.stage2_days,
        "surveillance_days": e.surveillance_days,
        "recertification_days": e.recertification_days,
        "minimum_initial_days": e.minimum_initial_days,
        "cycle_days": e.cycle_days(),
        "sampled_sites": {
            "initial": e.sampled_sites.initial,
            "surveillance": e.sampled_sites.surveillance,
            "recertification": e.sampled_sites.recertification,
        },
        "basis": list(b.basis),
    }


def planned_days(e: AuditTimeEstimate) -> dict[str, float]:
    """The baseline's days per audit kind, for comparing quote lines with it."""
    return {
        "stage1": e.stage1_days,
        "stage2": e.stage2_days,
        "surveillance1": e.surveillance_days,
        "surveillance2": e.surveillance_days,
        "recertification": e.recertification_days,
    }


async def baseline_for_request(req: dict[str, Any]) -> Baseline:
    return await baseline(
        req["standard"], req["effective_personnel"], req["complexity"], req["sites"]
    )


def _as_uuid(value: Any, field: str) -> uuid.UUID:
    # Schemas hand over builtins (msgspec.to_builtins turns UUIDs and dates into strings).
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise Invalid.field(field, f"{value!r} is not a valid id.") from None


def _as_date(value: Any, field: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise Invalid.field(field, "Give a date as YYYY-MM-DD.") from None


# --- requests ----------------------------------------------------------------------------------


def _check_body_ids(body_ids: list[uuid.UUID]) -> None:
    if not body_ids:
        raise Invalid.field("body_ids", "Choose at least one certification body.")
    if len(body_ids) > MAX_BODIES:
        raise Invalid.field(
            "body_ids", f"A request goes to at most {MAX_BODIES} bodies; you chose {len(body_ids)}."
        )
    seen: set[uuid.UUID] = set()
    for body_id in body_ids:
        if body_id in seen:
            raise Invalid.field("body_ids", f"Body {body_id} is listed twice; list each body once.")
        seen.add(body_id)


async def create_request(actor_id: uuid.UUID | None, data: dict[str, Any]) -> uuid.UUID:
    """Send one quote request to one to five distinct bodies (the caller is checked beforehand).

    Missing sector, personnel and site count come from the organisation's profile. The IAF MD 5
    table time and minimum (table less the 30% maximum reduction) are stored with the request so
    every quote is judged against the same baseline.
    """
    org = await accounts.get_organisation(_as_uuid(data["organisation_id"], "organisation_id"))
    body_ids = [_as_uuid(b, "body_ids") for b in data.get("body_ids") or []]
    _check_body_ids(body_ids)
    sector = data.get("iaf_sector") or org["iaf_sector"]
    _check_int("iaf_sector", sector, 1, 39, "The IAF sector")
    if not await IafSector.exists().where(IafSector.code == sector).run():
        raise Invalid.field("iaf_sector", "Unknown IAF sector; use a code from 1 to 39.")
    personnel = data.get("effective_personnel") or org["effective_personnel"]
    sites = data.get("sites") or max(1, len(org["sites"]))
    shifts = data.get("shifts") or 1
    _check_int("shifts", shifts, 1, MAX_SHIFTS, "Shifts")
    desired = _as_date(data.get("desired_start"), "desired_start")
    if desired is not None and desired < clock.today():
        raise Invalid.field("desired_start", "The desired start cannot be in the past.")
    base = await baseline(data["standard"], personnel, data.get("complexity"), sites)
    known = {
        r["id"]: r["name"]
        for r in await CertificationBody.select(CertificationBody.id, CertificationBody.name)
        .where(CertificationBody.id.is_in(body_ids))
        .run()
    }
    unknown = [str(b) for b in body_ids if b not in known]
    if unknown:
        raise Invalid.field("body_ids", f"Unknown certification body: {', '.join(unknown)}.")
    async with write_transaction():
        req = QuoteRequest(
            organisation=org["id"],
            standard=base.standard,
            iaf_sector=sector,
            effective_personnel=personnel,
            sites=sites,
            shifts=shifts,
            complexity=base.complexity.value if base.complexity else None,
            desired_start=desired,
            message=clean_text(data.get("message"), "message"),
            table_days=base.table_days,
            baseline_days=base.estimate.minimum_initial_days,
            created_by=actor_id,
            created_at=clock.now(),
        )
        await req.save().run()
        await QuoteRequestRecipient.insert(
            *(
                QuoteRequestRecipient(request=req.id, body=b, created_at=clock.now())
                for b in body_ids
            )
        ).run()
        await log_action(
            "marketplace.quote_request.created",
            actor_id=actor_id,
            entity_type="quote_request",
            entity_id=req.id,
            tenant=Tenant("organisation", org["id"]),
            data={"standard": base.standard, "bodies": [str(b) for b in body_ids]},
        )
        # One entry per body: what a later outbox turns into the "new request" e-mail.
        for body_id in body_ids:
            await log_action(
                "marketplace.quote_request.received",
                actor_id=actor_id,
                entity_type="quote_request",
                entity_id=req.id,
                tenant=Tenant("body", body_id),
                data={"organisation": org["name"], "standard": base.standard},
            )
    return req.id


async def get_request_row(request_id: uuid.UUID) -> dict[str, Any]:
    rows = (
        await QuoteRequest.select(
            *QuoteRequest.all_columns(),
            QuoteRequest.organisation.name.as_alias("organisation_name"),
        )
        .where(QuoteRequest.id == request_id)
        .run()
    )
    if not rows:
        raise NotFound("No such quote request.")
    row: dict[str, Any] = rows[0]
    return row


@dataclass(frozen=True)
class Viewer:
    """Who looks at a request: its client (everything) or some of its recipient bodies (theirs)."""

    client: bool
    body_ids: frozenset[uuid.UUID]
    role: str


async def viewer_of(principal: Principal, req: dict[str, Any]) -> Viewer:
    """The client sees the whole request; a recipient body only its own row and quote.

    Anyone else gets 404, exactly as for an unknown id; a body member without a quote-handling
    role gets 403.
    """
    org_roles = principal.roles_in(TenantKind.organisation, req["organisation"])
    if org_roles:
        role = "owner" if "owner" in org_roles else sorted(org_roles)[0]
        return Viewer(True, frozenset(), role)
    mine = set(principal.tenants(TenantKind.body))
    if mine:
        recipients = {
            r["body"]
            for r in await QuoteRequestRecipient.select(QuoteRequestRecipient.body)
            .where(
                (QuoteRequestRecipient.request == req["id"])
                & QuoteRequestRecipient.body.is_in(list(mine))
            )
            .run()
        }
        if recipients:
            allowed = frozenset(
                b for b in recipients if principal.roles_in(TenantKind.body, b) & QUOTE_HANDLERS
            )
            if not allowed:
                raise Forbidden(
                    "Quote requests are handled by a body's owner or scheduler.",
                    code="role_required",
                )
            return Viewer(False, allowed, "body")
    raise NotFound("No such quote request.")


def is_expired(quote: dict[str, Any], today: dt.date | None = None) -> bool:
    """A quote past its validity date cannot be accepted (compared by date, in UTC)."""
    valid_until: dt.date = quote["valid_until"]
    return quote["status"] == "submitted" and valid_until < (today or clock.today())


async def _quotes_with_lines(where: Any) -> list[dict[str, Any]]:
    quotes: list[dict[str, Any]] = (
        await Quote.select(*Quote.all_columns(), Quote.body.name.as_alias("body_name"))
        .where(where)
        .order_by(Quote.created_at)
        .run()
    )
    if not quotes:
        return quotes
    lines = (
        await QuoteLine.select()
        .where(QuoteLine.quote.is_in([q["id"] for q in quotes]))
        .order_by(QuoteLine.quote)
        .run()
    )
    order = {kind: i for i, kind in enumerate(AUDIT_KINDS)}
    today = clock.today()
    for q in quotes:
        q["body_id"] = q["body"]
        q["engagement_id"] = q["engagement"]
        q["expired"] = is_expired(q, today)
        q["lines"] = sorted(
            (ln for ln in lines if ln["quote"] == q["id"]),
            key=lambda ln: order.get(ln["audit_kind"], 99),
        )
        q["days"] = {ln["audit_kind"]: ln["auditor_days"] for ln in q["lines"]}
    return quotes


async def request_view(request_id: uuid.UUID, viewer: Viewer) -> dict[str, Any]:
    """The request with its recipients and quotes, cut down to what the viewer may see."""
    req = await get_request_row(request_id)
    recipients_q = QuoteRequestRecipient.select(
        *QuoteRequestRecipient.all_columns(),
        QuoteRequestRecipient.body.name.as_alias("body_name"),
    ).where(QuoteRequestRecipient.request == request_id)
    quotes_where: Any = Quote.request == request_id
    if not viewer.client:
        ids = list(viewer.body_ids)
        recipients_q = recipients_q.where(QuoteRequestRecipient.body.is_in(ids))
        quotes_where = quotes_where & Quote.body.is_in(ids)
    recipients = await recipients_q.order_by(QuoteRequestRecipient.created_at).run()
    for r in recipients:
        r["body_id"] = r["body"]
    req["organisation_id"] = req["organisation"]
    req["recipients"] = recipients
    req["quotes"] = await _quotes_with_lines(quotes_where)
    return req


async def _page(query: Any, count: Any, params: PageParams) -> tuple[list[dict[str, Any]], int]:
    rows: list[dict[str, Any]] = await query.limit(params.per_page).offset(params.offset).run()
    total: int = await count.run()
    return rows, total


async def inbox(body_id: uuid.UUID, params: PageParams, status: str | None = None) -> Page[Any]:
    """The requests sent to a body, newest first, with its own answer's status."""
    where: Any = QuoteRequestRecipient.body == body_id
    if status and status not in RECIPIENT_STATUSES:
        raise Invalid.field("status", f"Filter by one of {', '.join(RECIPIENT_STATUSES)}.")
    if status:
        where = where & (QuoteRequestRecipient.status == status)
    # Typed as Any: Piccolo's joined-column access is dynamic and mypy cannot follow it.
    r: Any = QuoteRequestRecipient.request
    rows, total = await _page(
        QuoteRequestRecipient.select(
            r.id.as_alias("id"),
            r.organisation.name.as_alias("organisation_name"),
            r.standard.as_alias("standard"),
            r.iaf_sector.as_alias("iaf_sector"),
            r.effective_personnel.as_alias("effective_personnel"),
            r.sites.as_alias("sites"),
            r.status.as_alias("request_status"),
            r.baseline_days.as_alias("baseline_days"),
            r.desired_start.as_alias("desired_start"),
            r.created_at.as_alias("created_at"),
            QuoteRequestRecipient.status,
        )
        .where(where)
        .order_by(QuoteRequestRecipient.created_at, ascending=False),
        QuoteRequestRecipient.count().where(where),
        params,
    )
    quote_ids = {}
    if rows:
        quote_ids = {
            q["request"]: q["id"]
            for q in await Quote.select(Quote.id, Quote.request)
            .where((Quote.body == body_id) & Quote.request.is_in([x["id"] for x in rows]))
            .run()
        }
    for row in rows:
        row["quote_id"] = quote_ids.get(row["id"])
    return Page(items=rows, total=total, page=params.page, per_page=params.per_page)


async def requests_of_organisation(organisation_id: uuid.UUID, params: PageParams) -> Page[Any]:
    """A client's requests, newest first, with how many bodies answered."""
    where: Any = QuoteRequest.organisation == organisation_id
    rows, total = await _page(
        QuoteRequest.select(
            *QuoteRequest.all_columns(),
            QuoteRequest.organisation.name.as_alias("organisation_name"),
        )
        .where(where)
        .order_by(QuoteRequest.created_at, ascending=False),
        QuoteRequest.count().where(where),
        params,
    )
    if rows:
        recipients = (
            await QuoteRequestRecipient.select(
                QuoteRequestRecipient.request, QuoteRequestRecipient.status
            )
            .where(QuoteRequestRecipient.request.is_in([x["id"] for x in rows]))
            .run()
        )
        for row in rows:
            mine = [x["status"] for x in recipients if x["request"] == row["id"]]
            row["recipient_count"] = len(mine)
            row["answered_count"] = sum(1 for s in mine if s != "pending")
    return Page(items=rows, total=total, page=params.page, per_page=params.per_page)


# --- answers: quotes and declines --------------------------------------------------------------


def _half_days(value: float) -> bool:
    return math.isfinite(value) and float(value * 2).is_integer()


def check_lines(lines: Iterable[dict[str, Any]]) -> list[dict[str, str]]:
    """Field errors of a quote's lines: one line per audit of the cycle, days > 0, money >= 0."""
    errors: list[dict[str, str]] = []
    seen: set[str] = set()
    for i, line in enumerate(lines):
        at = f"lines[{i}]"
        kind = str(line.get("audit_kind", ""))
        if kind not in AUDIT_KINDS:
            errors.append(
                {"field": f"{at}.audit_kind", "message": f"Choose one of {', '.join(AUDIT_KINDS)}."}
            )
        elif kind in seen:
            errors.append({"field": f"{at}.audit_kind", "message": f"{kind} is quoted twice."})
        seen.add(kind)
        days = float(line.get("auditor_days", 0))
        if not math.isfinite(days) or days <= 0:
            errors.append(
                {"field": f"{at}.auditor_days", "message": "Auditor days must be more than zero."}
            )
        elif days > MAX_LINE_DAYS or not _half_days(days):
            errors.append(
                {
                    "field": f"{at}.auditor_days",
                    "message": f"Give auditor days in half days, at most {MAX_LINE_DAYS:g} (IAF MD 5 rounds to the half day).",
                }
            )
        for money in ("day_rate_minor", "fees_minor", "travel_minor"):
            value = int(line.get(money, 0))
            if value < 0:
                errors.append({"field": f"{at}.{money}", "message": "Money cannot be negative."})
            elif value > MAX_MONEY_MINOR:
                errors.append({"field": f"{at}.{money}", "message": "This amount is too large."})
    missing = [k for k in AUDIT_KINDS if k not in seen]
    if missing:
        errors.append(
            {
                "field": "lines",
                "message": f"Quote every audit of the cycle; missing: {', '.join(missing)}.",
            }
        )
    return errors


def line_total(line: dict[str, Any]) -> int:
    """Auditor days x day rate plus fees and travel, in whole minor units (half-cent rounds up)."""
    # Days are whole half days, so twice the days is an integer and the product stays exact.
    half_days = round(float(line["auditor_days"]) * 2)
    fee = (half_days * int(line["day_rate_minor"]) + 1) // 2
    return fee + int(line.get("fees_minor", 0)) + int(line.get("travel_minor", 0))


async def _answerable(request_id: uuid.UUID, body_id: uuid.UUID) -> tuple[dict[str, Any], Any]:
    """The request and this body's recipient row, refusing closed requests and second answers."""
    req = await get_request_row(request_id)
    rows = (
        await QuoteRequestRecipient.select()
        .where(
            (QuoteRequestRecipient.request == request_id) & (QuoteRequestRecipient.body == body_id)
        )
        .run()
    )
    if not rows:
        # A body may only answer requests sent to it; others' requests do not exist for it.
        raise NotFound("No such quote request.")
    if req["status"] != "open":
        raise Conflict(
            "This request is closed: the client accepted a quote.", code="request_closed"
        )
    if rows[0]["status"] != "pending":
        raise Conflict(
            f"Your body has already answered this request ({rows[0]['status']}).",
            code="already_answered",
        )
    return req, rows[0]


async def _claim_answer(recipient_id: uuid.UUID, status: str, reason: str = "") -> None:
    # Compare-and-set: of two concurrent answers only one finds the row still pending.
    claimed = (
        await QuoteRequestRecipient.update(
            {
                QuoteRequestRecipient.status: status,
                QuoteRequestRecipient.decline_reason: reason,
                QuoteRequestRecipient.responded_at: clock.now(),
            }
        )
        .where(
            (QuoteRequestRecipient.id == recipient_id) & (QuoteRequestRecipient.status == "pending")
        )
        .returning(QuoteRequestRecipient.id)
        .run()
    )
    if not claimed:
        raise Conflict("Your body has already answered this request.", code="already_answered")


async def submit_quote(
    actor_id: uuid.UUID | None, request_id: uuid.UUID, data: dict[str, Any]
) -> dict[str, Any]:
    """A recipient body prices every audit of the cycle; the quote is judged against IAF MD 5.

    Only a body the request was sent to may answer, once, while the request is open. Its stage 1
    + stage 2 days are compared with the IAF MD 5 minimum (table time less the maximum 30%
    reduction, rounded to the half day): below it the quote is stored ``below_baseline``.
    """
    body_id = _as_uuid(data["body_id"], "body_id")
    lines: list[dict[str, Any]] = list(data.get("lines") or [])
    errors = check_lines(lines)
    valid_until = _as_date(data["valid_until"], "valid_until")
    if valid_until is None:
        raise Invalid.field("valid_until", "Say until when the quote is valid.")
    today = clock.today()
    if valid_until < today:
        errors.append(
            {"field": "valid_until", "message": "The quote must be valid today or later."}
        )
    elif valid_until > today + dt.timedelta(days=MAX_VALIDITY_DAYS):
        errors.append({"field": "valid_until", "message": "A quote is valid for a year at most."})
    async with write_transaction():
        req, recipient = await _answerable(request_id, body_id)
        if errors:
            raise Invalid("; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors)
        base = await baseline_for_request(req)
        days = {ln["audit_kind"]: float(ln["auditor_days"]) for ln in lines}
        quoted = days["stage1"] + days["stage2"]
        minimum = base.estimate.minimum_initial_days
        totals = [line_total(ln) for ln in lines]
        await _claim_answer(recipient["id"], "quoted")
        quote = Quote(
            request=request_id,
            body=body_id,
            currency=data["currency"],
            valid_until=valid_until,
            message=clean_text(data.get("message"), "message"),
            total_minor=sum(totals),
            quoted_days=quoted,
            cycle_days=sum(days.values()),
            baseline_days=minimum,
            below_baseline=quoted < minimum,
            created_by=actor_id,
            created_at=clock.now(),
        )
        await quote.save().run()
        await QuoteLine.insert(
            *(
                QuoteLine(
                    quote=quote.id,
                    audit_kind=ln["audit_kind"],
                    auditor_days=float(ln["auditor_days"]),
                    day_rate_minor=int(ln["day_rate_minor"]),
                    fees_minor=int(ln.get("fees_minor", 0)),
                    travel_minor=int(ln.get("travel_minor", 0)),
                    total_minor=total,
                )
                for ln, total in zip(lines, totals, strict=True)
            )
        ).run()
        summary = {
            "total_minor": quote.total_minor,
            "currency": quote.currency,
            "quoted_days": quoted,
            "baseline_days": minimum,
            "below_baseline": quote.below_baseline,
        }
        for tenant in (Tenant("organisation", req["organisation"]), Tenant("body", body_id)):
            await log_action(
                "marketplace.quote.submitted",
                actor_id=actor_id,
                entity_type="quote",
                entity_id=quote.id,
                tenant=tenant,
                data={"request_id": str(request_id), **summary},
            )
    return {"id": quote.id, "status": quote.status, "cycle_days": quote.cycle_days, **summary}


async def decline_request(
    actor_id: uuid.UUID | None, request_id: uuid.UUID, body_id: uuid.UUID, reason: str
) -> None:
    """A recipient body declines to quote, with a reason the client sees (once, while open)."""
    reason = clean_text(reason, "reason")
    async with write_transaction():
        req, recipient = await _answerable(request_id, body_id)
        if not reason:
            raise Invalid.field("reason", "Tell the client why you decline.")
        await _claim_answer(recipient["id"], "declined", reason)
        for tenant in (Tenant("organisation", req["organisation"]), Tenant("body", body_id)):
            await log_action(
                "marketplace.quote_request.declined",
                actor_id=actor_id,
                entity_type="quote_request",
                entity_id=request_id,
                tenant=tenant,
                data={"body_id": str(body_id), "reason": reason},
            )


# --- acceptance ----------------------------------------------------------------------------------


async def get_quote_row(quote_id: uuid.UUID) -> dict[str, Any]:
    rows = (
        await Quote.select(
            *Quote.all_columns(), Quote.request.organisation.as_alias("organisation")
        )
        .where(Quote.id == quote_id)
        .run()
    )
    if not rows:
        raise NotFound("No such quote.")
    row: dict[str, Any] = rows[0]
    return row


async def accept_quote(actor_id: uuid.UUID, quote_id: uuid.UUID) -> dict[str, Any]:
    """The client accepts one quote: the engagement and its cycle start, every other quote closes.

    Guarded transitions: a decided, declined or expired quote, or a closed request, is a 409.
    The engagement starts with the accepted days per audit (ISO/IEC 17021-1 9.1.3 cycle of five
    audits) in the same transaction, so there is never an accepted quote without its engagement.
    """
    async with write_transaction():
        quote = await get_quote_row(quote_id)
        req = await get_request_row(quote["request"])
        if quote["status"] == "accepted":
            raise Conflict("This quote is already accepted.", code="already_decided")
        if quote["status"] == "declined":
            raise Conflict(
                "This quote was declined when another quote was accepted or the request closed.",
                code="quote_declined",
            )
        if req["status"] != "open":
            raise Conflict("This request is closed.", code="request_closed")
        if is_expired(quote):
            raise Conflict(
                f"This quote expired on {quote['valid_until']}; ask the body for a new one.",
                code="quote_expired",
            )
        now = clock.now()
        # Compare-and-set on the request: of two concurrent acceptances only one closes it.
        closed = (
            await QuoteRequest.update({QuoteRequest.status: "closed", QuoteRequest.closed_at: now})
            .where((QuoteRequest.id == req["id"]) & (QuoteRequest.status == "open"))
            .returning(QuoteRequest.id)
            .run()
        )
        if not closed:
            raise Conflict("This request is closed.", code="request_closed")
        lines = await QuoteLine.select().where(QuoteLine.quote == quote_id).run()
        agreed = {ln["audit_kind"]: float(ln["auditor_days"]) for ln in lines}
        today = clock.today()
        start = (
            req["desired_start"] if req["desired_start"] and req["desired_start"] > today else today
        )
        started = await start_engagement(
            actor_id=actor_id,
            organisation_id=req["organisation"],
            body_id=quote["body"],
            standard=req["standard"],
            iaf_sector=req["iaf_sector"],
            agreed_days=agreed,
            start=start,
        )
        # Status and validity are compared in the query too, so the stored row has the last word
        # (raising here rolls the engagement back with everything else).
        accepted = (
            await Quote.update(
                {
                    Quote.status: "accepted",
                    Quote.engagement: started.engagement_id,
                    Quote.decided_at: now,
                }
            )
            .where(
                (Quote.id == quote_id)
                & (Quote.status == "submitted")
                & (Quote.valid_until >= today)
            )
            .returning(Quote.id)
            .run()
        )
        if not accepted:
            raise Conflict("This quote can no longer be accepted.", code="quote_expired")
        others = (
            await Quote.update({Quote.status: "declined", Quote.decided_at: now})
            .where(
                (Quote.request == req["id"])
                & (Quote.id != quote_id)
                & (Quote.status == "submitted")
            )
            .returning(Quote.id, Quote.body)
            .run()
        )
        await (
            QuoteRequestRecipient.update({QuoteRequestRecipient.status: "accepted"})
            .where(
                (QuoteRequestRecipient.request == req["id"])
                & (QuoteRequestRecipient.body == quote["body"])
            )
            .run()
        )
        unanswered = (
            await QuoteRequestRecipient.update({QuoteRequestRecipient.status: "not_selected"})
            .where(
                (QuoteRequestRecipient.request == req["id"])
                & (QuoteRequestRecipient.body != quote["body"])
                & QuoteRequestRecipient.status.is_in(["pending", "quoted"])
            )
            .returning(QuoteRequestRecipient.body)
            .run()
        )
        # Every body involved hears the outcome; the outbox that e-mails them reads these entries.
        common = {"request_id": str(req["id"]), "organisation": req["organisation_name"]}
        await log_action(
            "marketplace.quote.accepted",
            actor_id=actor_id,
            entity_type="quote",
            entity_id=quote_id,
            tenant=Tenant("body", quote["body"]),
            data={**common, "engagement_id": str(started.engagement_id)},
        )
        await log_action(
            "marketplace.quote.accepted",
            actor_id=actor_id,
            entity_type="quote",
            entity_id=quote_id,
            tenant=Tenant("organisation", req["organisation"]),
            data={
                **common,
                "body_id": str(quote["body"]),
                "engagement_id": str(started.engagement_id),
            },
        )
        for other in others:
            await log_action(
                "marketplace.quote.declined",
                actor_id=actor_id,
                entity_type="quote",
                entity_id=other["id"],
                tenant=Tenant("body", other["body"]),
                data={**common, "reason": "another quote was accepted"},
            )
        answered = {o["body"] for o in others}
        for row in unanswered:
            if row["body"] not in answered:
                await log_action(
                    "marketplace.quote_request.closed",
                    actor_id=actor_id,
                    entity_type="quote_request",
                    entity_id=req["id"],
                    tenant=Tenant("body", row["body"]),
                    data={**common, "reason": "another quote was accepted"},
                )
    return {
        "quote_id": quote_id,
        "status": "accepted",
        "engagement_id": started.engagement_id,
        "cycle_id": started.cycle_id,
    }


async def withdraw_request(actor_id: uuid.UUID | None, request_id: uuid.UUID) -> None:
    """The client withdraws an open request: no quote can be sent or accepted any more.

    Submitted quotes become ``declined`` and every body still involved is told, as when a quote
    is accepted; a closed request cannot be withdrawn (409 ``request_closed``).
    """
    async with write_transaction():
        req = await get_request_row(request_id)
        now = clock.now()
        closed = (
            await QuoteRequest.update({QuoteRequest.status: "closed", QuoteRequest.closed_at: now})
            .where((QuoteRequest.id == request_id) & (QuoteRequest.status == "open"))
            .returning(QuoteRequest.id)
            .run()
        )
        if not closed:
            raise Conflict("This request is already closed.", code="request_closed")
        await (
            Quote.update({Quote.status: "declined", Quote.decided_at: now})
            .where((Quote.request == request_id) & (Quote.status == "submitted"))
            .run()
        )
        involved = (
            await QuoteRequestRecipient.update({QuoteRequestRecipient.status: "not_selected"})
            .where(
                (QuoteRequestRecipient.request == request_id)
                & QuoteRequestRecipient.status.is_in(["pending", "quoted"])
            )
            .returning(QuoteRequestRecipient.body)
            .run()
        )
        await log_action(
            "marketplace.quote_request.withdrawn",
            actor_id=actor_id,
            entity_type="quote_request",
            entity_id=request_id,
            tenant=Tenant("organisation", req["organisation"]),
        )
        for row in involved:
            await log_action(
                "marketplace.quote_request.withdrawn",
                actor_id=actor_id,
                entity_type="quote_request",
                entity_id=request_id,
                tenant=Tenant("body", row["body"]),
                data={"organisation": req["organisation_name"]},
            )
