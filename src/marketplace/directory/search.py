"""Directory search and compare: filters, facets, sorts and the three-year cost estimate.

Free text: PostgreSQL full text (`to_tsvector('english', name || ' ' || description)` against
`plainto_tsquery`, GIN-indexed, ranked with `ts_rank`); on SQLite every word of the query must
appear (case-insensitive LIKE) in the name or the description, and name matches rank first.
The LIKE fallback needs nothing kept in sync, which an FTS5 table over another domain's table
would; it scans, which is fine at the embedded database's scale.

A search is at most three SQL statements whatever the data size: one for every facet (over a CTE
of the matching bodies; cached briefly, see `configure`), one for the page and its live total,
one for the page's standards and services.
"""

# ruff: noqa: S608  -- SQL here is assembled from fixed fragments; every value is a bound {} argument.

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from marketplace.accounts.tables import CertificationBody, Organisation, Site
from marketplace.core import clock
from marketplace.core.db import as_uuid, is_postgres
from marketplace.core.errors import Invalid, NotFound
from marketplace.core.pagination import PageParams
from marketplace.directory import services
from marketplace.directory.schemas import SORTS
from marketplace.directory.tables import BodyLanguage, BodyService
from marketplace.reference.tables import AccreditationBody, IafSector, Standard, SupportService
from marketplace.rules import audit_time
from marketplace.rules.ranking import DEFAULT_PRIOR_WEIGHT, bayesian_average

FILTER_NAMES = (
    "q",
    "standard",
    "iaf_sector",
    "country",
    "language",
    "service",
    "accreditation_body",
    "remote",
    "min_rating",
    "sort",
)
FACETS = ("standard", "iaf_sector", "accreditation_body", "country", "language", "service")
DEFAULT_STANDARD = "ISO 9001:2015"

# Reference codes change only when reference data is reloaded: a short cache spares every search
# four lookups while a reload still shows within a minute.
_CACHE_SECONDS = 60.0
_cache: tuple[float, dict[str, Any]] | None = None


async def reference_codes() -> dict[str, Any]:
    """Known codes per filter (standards with their family, sectors, services, accreditation bodies)."""
    global _cache
    if _cache is not None and time.monotonic() - _cache[0] < _CACHE_SECONDS:
        return _cache[1]
    codes = {
        "standard": {
            r["code"]: r["family"]
            for r in await Standard.select(Standard.code, Standard.family).run()
        },
        "iaf_sector": {r["code"] for r in await IafSector.select(IafSector.code).run()},
        "service": {r["code"] for r in await SupportService.select(SupportService.code).run()},
        "accreditation_body": {
            r["code"] for r in await AccreditationBody.select(AccreditationBody.code).run()
        },
    }
    _cache = (time.monotonic(), codes)
    return codes


@dataclass(frozen=True)
class Filters:
    q: str = ""
    standard: str | None = None
    iaf_sector: int | None = None
    country: str | None = None
    language: str | None = None
    service: str | None = None
    accreditation_body: str | None = None
    remote: bool | None = None
    min_rating: float | None = None
    sort: str = "relevance"


def _allowed(field: str, values: Any) -> Invalid:
    listed = ", ".join(str(v) for v in sorted(values))
    return Invalid(
        f"{field}: unknown value; allowed: {listed}.",
        code="unknown_filter_value",
        errors=[{"field": field, "message": f"Unknown value; allowed: {listed}."}],
    )


async def parse_filters(raw: dict[str, str | None]) -> Filters:
    """Turn query-string values into filters; an unknown value is a 422 listing the allowed ones."""
    codes = await reference_codes()
    clean = {k: (v.strip() if isinstance(v, str) else v) for k, v in raw.items()}
    clean = {k: v for k, v in clean.items() if v not in (None, "")}
    standard = clean.get("standard")
    if standard is not None and standard not in codes["standard"]:
        raise _allowed("standard", codes["standard"])
    sector: int | None = None
    if "iaf_sector" in clean:
        try:
            sector = int(str(clean["iaf_sector"]))
        except ValueError:
            sector = None
        if sector not in codes["iaf_sector"]:
            raise _allowed("iaf_sector", codes["iaf_sector"])
    for field in ("service", "accreditation_body"):
        if field in clean and clean[field] not in codes[field]:
            raise _allowed(field, codes[field])
    country = clean.get("country")
    if country is not None:
        country = str(country).upper()
        if len(country) != 2 or not country.isascii() or not country.isalpha():
            raise Invalid.field("country", "Give an ISO 3166-1 alpha-2 country code such as GB.")
    language = clean.get("language")
    if language is not None:
        language = str(language).lower()
        if len(language) != 2 or not language.isascii() or not language.isalpha():
            raise Invalid.field("language", "Give an ISO 639-1 language code such as en.")
    remote: bool | None = None
    if "remote" in clean:
        value = str(clean["remote"]).lower()
        if value not in {"true", "false", "1", "0", "yes", "no", "on"}:
            raise _allowed("remote", {"true", "false"})
        remote = value in {"true", "1", "yes", "on"}
    min_rating: float | None = None
    if "min_rating" in clean:
        try:
            min_rating = float(str(clean["min_rating"]))
        except ValueError:
            min_rating = -1.0
        if not 1.0 <= min_rating <= 5.0:
            raise Invalid.field("min_rating", "Give a rating between 1 and 5.")
    sort = str(clean.get("sort") or "relevance")
    if sort not in SORTS:
        raise _allowed("sort", SORTS)
    q = str(clean.get("q") or "")
    if len(q) > 200:
        raise Invalid.field("q", "Keep the search text under 200 characters.")
    return Filters(
        q=q,
        standard=standard,
        iaf_sector=sector,
        country=country,
        language=language,
        service=clean.get("service"),
        accreditation_body=clean.get("accreditation_body"),
        remote=remote,
        min_rating=min_rating,
        sort=sort,
    )


def _today() -> Any:
    # asyncpg binds a date; Piccolo's SQLite adapter stores dates as ISO text, so both compare.
    return clock.today()


def _like(word: str) -> str:
    escaped = word.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class _Sql:
    """A WHERE clause and its arguments, in Piccolo's `{}` placeholder style."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.args: list[Any] = []

    def add(self, sql: str, *args: Any) -> None:
        self.parts.append(sql)
        self.args.extend(args)

    @property
    def sql(self) -> str:
        return " AND ".join(self.parts) if self.parts else "1 = 1"


_TSV = "to_tsvector('english', b.name || ' ' || b.description)"
# Ranking weighs a match in the name above one in the description; only matched rows pay for it.
_TSV_WEIGHTED = (
    "setweight(to_tsvector('english', b.name), 'A')"
    " || setweight(to_tsvector('english', b.description), 'B')"
)


def _where(f: Filters, pg: bool) -> _Sql:
    w = _Sql()
    if f.iaf_sector is not None:
        # One verified, unexpired accreditation must cover the standard AND the sector (AND be
        # granted by the accreditation body): matching them on different accreditations is wrong.
        # The scope row carries its accreditation's verified validity, so standard + sector +
        # "verified and unexpired" is one covering-index range (accreditation_scope_live_idx).
        sql = (
            "b.id IN (SELECT s.body FROM accreditation_scope s"
            " WHERE s.iaf_sector = {} AND s.verified_until >= {}"
        )
        args: list[Any] = [f.iaf_sector, _today()]
        if f.standard:
            sql += " AND s.standard = {}"
            args.append(f.standard)
        if f.accreditation_body:
            sql += (
                " AND EXISTS (SELECT 1 FROM accreditation a WHERE a.id = s.accreditation"
                " AND a.accreditation_body = {})"
            )
            args.append(f.accreditation_body)
        w.add(sql + ")", *args)
    elif f.standard or f.accreditation_body:
        sql = "b.id IN (SELECT a.body FROM accreditation a WHERE a.status = 'verified'"
        sql += " AND a.valid_until >= {}"
        args = [_today()]
        if f.standard:
            sql += " AND a.standard = {}"
            args.append(f.standard)
        if f.accreditation_body:
            sql += " AND a.accreditation_body = {}"
            args.append(f.accreditation_body)
        w.add(sql + ")", *args)
    if f.country:
        w.add(
            "(b.country = {} OR EXISTS (SELECT 1 FROM body_region r"
            " WHERE r.body = b.id AND r.region = {}))",
            f.country,
            f.country,
        )
    if f.language:
        w.add(
            "EXISTS (SELECT 1 FROM body_language l WHERE l.body = b.id AND l.language = {})",
            f.language,
        )
    if f.service:
        w.add(
            "EXISTS (SELECT 1 FROM body_service v WHERE v.body = b.id AND v.service = {})",
            f.service,
        )
    if f.remote is not None:
        w.add("b.remote_audits = {}", f.remote)
    if f.min_rating is not None:
        w.add("COALESCE(br.mean, 0) >= {}", f.min_rating)
    if f.q:
        if pg:
            w.add(f"{_TSV} @@ plainto_tsquery('english', {{}})", f.q)
        else:
            for word in f.q.split()[:10]:
                w.add(
                    "(lower(b.name) LIKE {} ESCAPE '\\' OR lower(b.description) LIKE {} ESCAPE '\\')",
                    _like(word),
                    _like(word),
                )
    return w


# Mirrors rules.ranking.bayesian_average in SQL so the database can sort every match by it.
_SCORE = (
    f"(({DEFAULT_PRIOR_WEIGHT} * p.prior + COALESCE(br.rating_sum, 0))"
    f" / ({DEFAULT_PRIOR_WEIGHT} + COALESCE(br.review_count, 0)))"
)
_PRIOR_CTE = (
    "p AS (SELECT COALESCE(CAST(SUM(rating_sum) AS DOUBLE PRECISION)"
    f" / NULLIF(SUM(review_count), 0), {services.DEFAULT_PRIOR_MEAN}) AS prior FROM body_rating)"
)
_PRIOR_GIVEN = "p AS (SELECT CAST({} AS DOUBLE PRECISION) AS prior)"


def _order(f: Filters, pg: bool) -> tuple[str, list[Any]]:
    tail = "b.name, b.id"
    if f.sort == "rating":
        return f"score DESC, COALESCE(br.review_count, 0) DESC, {tail}", []
    if f.sort == "reviews":
        return f"COALESCE(br.review_count, 0) DESC, score DESC, {tail}", []
    if f.sort == "price":
        # Bodies without a published day rate go last; rates are compared as given, whatever
        # their currency (a converted price would need exchange rates the platform lacks).
        return (
            "CASE WHEN b.day_rate_min_minor > 0 THEN 0 ELSE 1 END, b.day_rate_min_minor, "
            f"score DESC, {tail}",
            [],
        )
    if f.sort == "response_time":
        return f"b.response_time_hours, score DESC, {tail}", []
    if f.q:
        if pg:
            return (
                f"ts_rank({_TSV_WEIGHTED}, plainto_tsquery('english', {{}})) DESC, score DESC, {tail}",
                [f.q],
            )
        return (
            f"CASE WHEN lower(b.name) LIKE {{}} ESCAPE '\\' THEN 0 ELSE 1 END, score DESC, {tail}",
            [_like(f.q)],
        )
    return f"score DESC, COALESCE(br.review_count, 0) DESC, {tail}", []


_FROM = "certification_body b LEFT JOIN body_rating br ON br.body = b.id"


def _in_m(table: str, body_column: str, pg: bool) -> str:
    """`table` restricted to the bodies in the CTE `m`, written so each database probes indexes.

    The matches are usually few, but neither planner knows it. SQLite keeps the join order of
    `m CROSS JOIN t`, so the matches drive index lookups into `t`; PostgreSQL estimates
    `= ANY(ARRAY(SELECT ...))` as a short list and scans the body index instead of hashing `t`.
    """
    if pg:
        return f"{table} WHERE {body_column} = ANY(ARRAY(SELECT id FROM m))"
    return f"m CROSS JOIN {table} WHERE {body_column} = m.id"


# The directory is read far more than it changes, and a search is a pure function of its
# filters, the page and the data. Each process keeps answers (and, separately, facet counts and
# the platform prior) for `configure(cache_seconds=...)` (MARKETPLACE_DIRECTORY_CACHE_SECONDS,
# default 30; 0 turns it off) and forgets them as soon as it makes a directory or review write
# itself; another process sees such a change within those seconds. The key holds today's date,
# so an accreditation expiring at midnight never matches a day late.
_cache_seconds = 0.0
V = TypeVar("V")


class _Reused(Generic[V]):
    """Values kept per key while younger than `_cache_seconds` and no directory or review write
    of this process (`services.search_generation()`) happened since they were computed."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: dict[Hashable, tuple[float, int, V]] = {}

    def get(self, key: Hashable) -> V | None:
        hit = self.entries.get(key)
        if (
            hit is not None
            and hit[1] == services.search_generation()
            and time.monotonic() - hit[0] < _cache_seconds
        ):
            return hit[2]
        return None

    def put(self, key: Hashable, value: V, generation: int) -> None:
        """`generation` is the one read before computing `value`, so a write meanwhile voids it."""
        if not _cache_seconds:
            return
        if key not in self.entries and len(self.entries) >= self.size:
            self.entries.pop(next(iter(self.entries)))
        self.entries[key] = (time.monotonic(), generation, value)


_answers: _Reused[dict[str, Any]] = _Reused(1024)
_facet_counts: _Reused[tuple[int, dict[str, list[dict[str, Any]]]]] = _Reused(512)
_prior: _Reused[float] = _Reused(1)


def configure(cache_seconds: float) -> None:
    global _cache_seconds
    _cache_seconds = max(0.0, cache_seconds)
    for cache in (_answers, _facet_counts, _prior):
        cache.entries.clear()


async def _facets(f: Filters, where: _Sql, pg: bool) -> tuple[int, dict[str, list[dict[str, Any]]]]:
    """The number of matches and the facet counts over them: one statement."""
    today = _today()
    key = (f, today)
    generation = services.search_generation()
    hit = _facet_counts.get(key)
    if hit is not None:
        return hit
    facet_sql = (
        # MATERIALIZED: compute the matches once, then join each facet to that small set;
        # otherwise SQLite inlines it and re-checks every filter for every facet row.
        f"WITH m AS MATERIALIZED (SELECT b.id FROM {_FROM} WHERE {where.sql}) "
        "SELECT 'total' AS facet, '' AS value, COUNT(*) AS n FROM m "
        f"UNION ALL SELECT 'remote', 'true', COUNT(*) FROM {_in_m('certification_body c', 'c.id', pg)}"
        " AND c.remote_audits = {} "
        "UNION ALL SELECT 'standard', a.standard, COUNT(DISTINCT a.body)"
        f" FROM {_in_m('accreditation a', 'a.body', pg)}"
        " AND a.status = 'verified' AND a.valid_until >= {} GROUP BY a.standard "
        "UNION ALL SELECT 'accreditation_body', a.accreditation_body, COUNT(DISTINCT a.body)"
        f" FROM {_in_m('accreditation a', 'a.body', pg)}"
        " AND a.status = 'verified' AND a.valid_until >= {} GROUP BY a.accreditation_body "
        "UNION ALL SELECT 'iaf_sector', CAST(s.iaf_sector AS VARCHAR(4)), COUNT(DISTINCT s.body)"
        f" FROM {_in_m('accreditation_scope s', 's.body', pg)} AND s.verified_until >= {{}}"
        " GROUP BY s.iaf_sector "
        "UNION ALL SELECT 'country', r.region, COUNT(DISTINCT r.body)"
        f" FROM {_in_m('body_region r', 'r.body', pg)} GROUP BY r.region "
        "UNION ALL SELECT 'language', l.language, COUNT(*)"
        f" FROM {_in_m('body_language l', 'l.body', pg)} GROUP BY l.language "
        "UNION ALL SELECT 'service', v.service, COUNT(*)"
        f" FROM {_in_m('body_service v', 'v.body', pg)} GROUP BY v.service"
    )
    facet_rows = await CertificationBody.raw(
        facet_sql, *where.args, True, today, today, today
    ).run()
    total = 0
    facets: dict[str, list[dict[str, Any]]] = {name: [] for name in (*FACETS, "remote")}
    for r in facet_rows:
        if r["facet"] == "total":
            total = int(r["n"])
        elif int(r["n"]):
            facets[r["facet"]].append({"value": str(r["value"]), "count": int(r["n"])})
    for values in facets.values():
        values.sort(key=lambda v: (-v["count"], v["value"]))
    _facet_counts.put(key, (total, facets), generation)
    return total, facets


async def search(f: Filters, params: PageParams) -> dict[str, Any]:
    """Bodies matching every filter, one page in the chosen order, and facet counts.

    A standard, sector or accreditation-body filter matches only verified accreditations whose
    `valid_until` is today or later, and all three must hold on the same accreditation. Facet
    counts are over the bodies matching the current filters. Callers must not change the answer:
    it may be shared with the next caller (see `_answers`).
    """
    key = (f, _today(), params.page, params.per_page)
    generation = services.search_generation()
    hit = _answers.get(key)
    if hit is not None:
        return hit
    result = await _search(f, params)
    _answers.put(key, result, generation)
    return result


async def _search(f: Filters, params: PageParams) -> dict[str, Any]:
    pg = is_postgres()
    where = _where(f, pg)
    today = _today()
    facet_total, facets = await _facets(f, where, pg)

    order, order_args = _order(f, pg)
    generation = services.search_generation()
    prior = _prior.get(())
    prior_cte, prior_args = (_PRIOR_CTE, []) if prior is None else (_PRIOR_GIVEN, [prior])
    page_sql = (
        f"WITH {prior_cte} SELECT b.id, b.slug, b.name, b.country, b.day_rate_min_minor,"
        " b.day_rate_max_minor, b.currency, b.response_time_hours, b.remote_audits,"
        " COALESCE(br.review_count, 0) AS review_count, COALESCE(br.rating_sum, 0) AS rating_sum,"
        # The live total rides on the page's rows (window functions run before LIMIT).
        f" p.prior AS prior, {_SCORE} AS score, COUNT(*) OVER () AS total_count"
        f" FROM {_FROM} CROSS JOIN p WHERE {where.sql} ORDER BY {order} LIMIT {{}} OFFSET {{}}"
    )
    rows = await CertificationBody.raw(
        page_sql, *prior_args, *where.args, *order_args, params.per_page, params.offset
    ).run()
    if prior is None and rows:
        _prior.put((), float(rows[0]["prior"]), generation)
    # Past the last page there is no row to carry the total; the facet count is then the answer.
    total = int(rows[0]["total_count"]) if rows else facet_total
    items = []
    ids = [as_uuid(r["id"]) for r in rows]
    extras: dict[uuid.UUID, dict[str, set[str]]] = {
        i: {"standard": set(), "service": set()} for i in ids
    }
    if ids:
        marks = ", ".join("{}" for _ in ids)
        extra_rows = await CertificationBody.raw(
            f"SELECT a.body AS body, 'standard' AS kind, a.standard AS value FROM accreditation a"
            f" WHERE a.body IN ({marks}) AND a.status = 'verified' AND a.valid_until >= {{}}"
            f" UNION SELECT v.body, 'service', v.service FROM body_service v"
            f" WHERE v.body IN ({marks})",
            *ids,
            today,
            *ids,
        ).run()
        for e in extra_rows:
            extras[as_uuid(e["body"])][e["kind"]].add(e["value"])
    for r, bid in zip(rows, ids, strict=True):
        count = int(r["review_count"])
        mean = int(r["rating_sum"]) / count if count else 0.0
        items.append(
            {
                **{k: r[k] for k in ("slug", "name", "country", "currency")},
                "id": bid,
                "day_rate_min_minor": int(r["day_rate_min_minor"]),
                "day_rate_max_minor": int(r["day_rate_max_minor"]),
                "response_time_hours": int(r["response_time_hours"]),
                "remote_audits": bool(r["remote_audits"]),
                "rating": round(mean, 2) if count else None,
                "review_count": count,
                "score": round(
                    bayesian_average(count, mean, float(r["prior"]), DEFAULT_PRIOR_WEIGHT), 3
                ),
                "standards": sorted(extras[bid]["standard"]),
                "services": sorted(extras[bid]["service"]),
            }
        )
    return {
        "items": items,
        "total": total,
        "page": params.page,
        "per_page": params.per_page,
        "facets": facets,
    }


# --- compare -------------------------------------------------------------------------------


def parse_ids(raw: str | None) -> list[uuid.UUID]:
    """Two to four distinct body ids, comma separated."""
    parts = [p.strip() for p in (raw or "").split(",") if p.strip()]
    try:
        ids = list(dict.fromkeys(uuid.UUID(p) for p in parts))
    except ValueError as exc:
        raise Invalid.field("ids", "Give body ids (UUIDs) separated by commas.") from exc
    if not 2 <= len(ids) <= 4:
        raise Invalid.field("ids", "Compare two to four different bodies.")
    return ids


def _complexity(family: audit_time.Family) -> audit_time.Complexity | None:
    # EMS and OH&S time depends on a complexity category the organisation's profile does not
    # hold yet; the compare view assumes medium and says so in its basis.
    return audit_time.Complexity.medium if audit_time.family_uses_complexity(family) else None


async def compare(
    ids: list[uuid.UUID],
    standard: str | None,
    organisation_id: uuid.UUID | None,
) -> dict[str, Any]:
    """Side by side: accreditation coverage for the standard and sector, experience, services,
    ratings, and the three-year cycle cost for the organisation's own profile.

    The cost is the IAF MD 5 cycle days (initial + 2 surveillances + recertification, see
    rules.audit_time.estimate) times the body's day rate: the midpoint of its range, with the
    ends of the range beside it. The caller must belong to `organisation_id` (checked by the
    controller); without it there is no sector to match and no estimate.
    """
    codes = await reference_codes()
    standard = standard or DEFAULT_STANDARD
    if standard not in codes["standard"]:
        raise _allowed("standard", codes["standard"])
    rows = {
        r["id"]: r
        for r in await CertificationBody.select().where(CertificationBody.id.is_in(ids)).run()
    }
    missing = [str(i) for i in ids if i not in rows]
    if missing:
        raise NotFound(f"No such certification body: {', '.join(missing)}.")
    sector: int | None = None
    estimate: audit_time.AuditTimeEstimate | None = None
    basis: list[str] = []
    if organisation_id is not None:
        sector, estimate, basis = await _estimate_for(organisation_id, codes["standard"][standard])
    matches = await _accreditation_matches(ids, standard, sector)
    experience = await services.sector_experience(ids)
    ratings = await services.ratings_for(ids)
    body_services = await _per_body(BodyService.service, ids)
    languages = await _per_body(BodyLanguage.language, ids)
    days = estimate.cycle_days() if estimate else None
    out = [
        {
            **_compared_rates(rows[bid], days),
            "languages": languages[bid],
            "services": body_services[bid],
            "accredited": bool(matches[bid]),
            "accreditation_matches": matches[bid],
            "clients_in_sector": sum(
                e["clients_certified"] for e in experience[bid] if e["iaf_sector"] == sector
            ),
            "rating": ratings[bid],
        }
        for bid in ids
    ]
    return {
        "standard": standard,
        "iaf_sector": sector,
        "organisation_id": organisation_id,
        "services": sorted({s for v in body_services.values() for s in v}),
        "bodies": out,
        "basis": basis,
    }


async def _estimate_for(
    organisation_id: uuid.UUID, standard_family: str
) -> tuple[int, audit_time.AuditTimeEstimate, list[str]]:
    """The organisation's IAF sector, its IAF MD 5 cycle estimate and the estimate's basis."""
    orgs = await Organisation.select().where(Organisation.id == organisation_id).run()
    if not orgs:
        raise NotFound("No such organisation.")
    sites = await Site.count().where(Site.organisation == organisation_id).run()
    # Every listed standard has an answer: one without an IAF MD 5 table reads a stand-in.
    family, stand_in = audit_time.table_family(standard_family)
    estimate = audit_time.estimate(
        family,
        int(orgs[0]["effective_personnel"]),
        _complexity(family),
        sites=max(int(sites), 1),
    )
    basis = list(estimate.basis)
    if _complexity(family):
        basis.insert(0, "Complexity assumed medium: the organisation's profile has none.")
    if stand_in:
        basis.insert(0, stand_in)
    return int(orgs[0]["iaf_sector"]), estimate, basis


async def _accreditation_matches(
    ids: list[uuid.UUID], standard: str, sector: int | None
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """Each body's verified, unexpired accreditations for the standard (and sector, if given)."""
    where = (
        "a.body IN ({}) AND a.standard = {{}} AND a.status = 'verified' AND a.valid_until >= {{}}"
    )
    marks = ", ".join("{}" for _ in ids)
    sql = (
        "SELECT a.body AS body, a.accreditation_body AS ab, a.number AS number,"
        " a.valid_until AS valid_until FROM accreditation a"
        + (" JOIN accreditation_scope s ON s.accreditation = a.id" if sector else "")
        + " WHERE "
        + where.format(marks)
        + (" AND s.iaf_sector = {}" if sector else "")
        + " ORDER BY a.valid_until DESC"
    )
    args: list[Any] = [*ids, standard, clock.today()] + ([sector] if sector else [])
    matches: dict[uuid.UUID, list[dict[str, Any]]] = {i: [] for i in ids}
    for r in await CertificationBody.raw(sql, *args).run():
        valid = r["valid_until"]
        matches[as_uuid(r["body"])].append(
            {
                "accreditation_body": r["ab"],
                "number": r["number"],
                "valid_until": valid
                if isinstance(valid, dt.date)
                else dt.date.fromisoformat(valid),
            }
        )
    return matches


async def _per_body(column: Any, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """The values of a body's child rows (services, languages), sorted, per body."""
    table = column._meta.table
    found: dict[uuid.UUID, list[str]] = {i: [] for i in ids}
    for r in (
        await table.select(table.body, column).where(table.body.is_in(ids)).order_by(column).run()
    ):
        found[r["body"]].append(r[column._meta.name])
    return found


def _compared_rates(b: dict[str, Any], days: float | None) -> dict[str, Any]:
    """A body's profile figures and its cycle cost at the low, middle and high day rate."""
    lo, hi = (
        int(b["day_rate_min_minor"]),
        int(b["day_rate_max_minor"]) or int(b["day_rate_min_minor"]),
    )
    return {
        **{k: b[k] for k in ("id", "slug", "name", "country", "currency", "remote_audits")},
        "day_rate_min_minor": lo,
        "day_rate_max_minor": int(b["day_rate_max_minor"]),
        "response_time_hours": int(b["response_time_hours"]),
        "cycle_days": days,
        "estimated_cycle_cost_minor": round(days * (lo + hi) / 2) if days and lo else None,
        "estimated_cycle_cost_min_minor": round(days * lo) if days and lo else None,
        "estimated_cycle_cost_max_minor": round(days * hi) if days and hi else None,
    }
