"""Calendar services: who may subscribe to what, feed tokens, cheap version checks, feed building."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import secrets
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlparse

from marketplace.accounts.guards import Principal
from marketplace.accounts.roles import TenantKind
from marketplace.accounts.tables import Membership, Site
from marketplace.calendars import ics
from marketplace.calendars.tables import CalendarFeed
from marketplace.core import clock
from marketplace.core.activity import Tenant, log_action
from marketplace.core.errors import Invalid, NotFound
from marketplace.scheduling.context import KIND_LABELS as AUDIT_KIND_LABELS
from marketplace.scheduling.tables import Audit, AuditAssignment, Auditor

SCOPES = ("me", "organisation", "body", "auditor")
# Who may follow a whole auditor's calendar besides the auditor: the people who plan it.
AUDITOR_PLANNERS = frozenset({"owner", "scheduler"})
# Client contacts invited to an audit: the people who book and answer for it.
CLIENT_CONTACTS = frozenset({"owner", "quality_manager"})
# A cancelled audit stays in feeds this long, so subscribed calendars see STATUS:CANCELLED.
CANCELLED_KEPT = dt.timedelta(days=30)
# last_used_at is informational: writing it on every poll would turn each cheap 304 into a write.
TOUCH_EVERY = dt.timedelta(hours=1)
# Bumped whenever the rendered shape changes, so every ETag changes with it.
RENDER_VERSION = "1"
MAX_FEEDS_PER_USER = 50

# A feed's event says "special audit" where an e-mail says "special".
KIND_LABELS = {**AUDIT_KIND_LABELS, "special": "special audit"}
ROLE_ORDER = {"lead": 0, "member": 1, "expert": 2}


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Links:
    """Where feeds point: the public base URL and the address calendar invitations come from."""

    base_url: str
    organizer_email: str

    @functools.cached_property
    def host(self) -> str:
        return urlparse(self.base_url).hostname or "localhost"

    def feed_urls(self, secret: str) -> tuple[str, str]:
        url = f"{self.base_url}/calendar/{secret}.ics"
        webcal = "webcal://" + url.split("://", 1)[1]
        return url, webcal


def audit_uid(audit_id: uuid.UUID, host: str) -> str:
    """One UID for an audit's whole life, in every feed and every invitation (RFC 5545 3.8.4.7)."""
    return f"audit-{audit_id}@{host}"


# --- scopes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScopeChoice:
    scope: str
    scope_id: uuid.UUID
    label: str


async def _planned_bodies(principal: Principal) -> list[uuid.UUID]:
    return principal.tenants(TenantKind.body, AUDITOR_PLANNERS)


async def check_scope(principal: Principal, scope: str, scope_id: uuid.UUID | None) -> uuid.UUID:
    """The scope id the caller may subscribe to, or 404 (a scope that is not yours does not exist).

    organisation: a member of it; body: a member of it; auditor: the auditor themselves or an
    owner/scheduler of the auditor's body; me: the caller's own id (or none given).
    """
    if scope == "me":
        if scope_id is not None and scope_id != principal.user_id:
            raise NotFound("No such scope.")
        return principal.user_id
    if scope_id is None:
        raise Invalid.field("scope_id", f"Say which {scope} the feed is for.")
    if scope in ("organisation", "body"):
        if not principal.roles_in(scope, scope_id):
            raise NotFound(f"No such {scope}.")
        return scope_id
    if scope == "auditor":
        row = (
            await Auditor.select(Auditor.body, Auditor.user)
            .where(Auditor.id == scope_id)
            .first()
            .run()
        )
        if row is None:
            raise NotFound("No such auditor.")
        if (
            row["user"] == principal.user_id
            or principal.roles_in(TenantKind.body, row["body"]) & AUDITOR_PLANNERS
        ):
            return scope_id
        raise NotFound("No such auditor.")
    raise Invalid.field("scope", f"Choose one of {', '.join(SCOPES)}.")


async def scope_choices(principal: Principal) -> list[ScopeChoice]:
    """Every scope the caller may subscribe to, for the calendars page."""
    choices = [ScopeChoice("me", principal.user_id, "Everything that concerns me")]
    for m in principal.memberships:
        if m.kind == TenantKind.organisation:
            choices.append(ScopeChoice("organisation", m.tenant_id, f"{m.tenant_name}: all audits"))
        else:
            choices.append(ScopeChoice("body", m.tenant_id, f"{m.tenant_name}: all audits"))
    planned = await _planned_bodies(principal)
    where: Any = Auditor.user == principal.user_id
    if planned:
        where = where | Auditor.body.is_in(planned)
    auditors = (
        await Auditor.select(Auditor.id, Auditor.name, Auditor.body._.name.as_alias("body_name"))
        .where(where)
        .order_by(Auditor.name)
        .limit(500)
        .run()
    )
    seen: set[tuple[str, uuid.UUID]] = set()
    unique = []
    for c in choices:
        if (c.scope, c.scope_id) not in seen:
            seen.add((c.scope, c.scope_id))
            unique.append(c)
    unique += [
        ScopeChoice("auditor", a["id"], f"Auditor {a['name']} ({a['body_name']})") for a in auditors
    ]
    return unique


# --- feeds -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreatedFeed:
    id: uuid.UUID
    scope: str
    scope_id: uuid.UUID
    label: str
    secret: str


async def _tenant_of(scope: str, scope_id: uuid.UUID) -> Tenant | None:
    if scope in ("organisation", "body"):
        return Tenant(scope, scope_id)
    if scope == "auditor":
        row = await Auditor.select(Auditor.body).where(Auditor.id == scope_id).first().run()
        return Tenant("body", row["body"]) if row else None
    return None


async def create_feed(
    principal: Principal, scope: str, scope_id: uuid.UUID | None, label: str = ""
) -> CreatedFeed:
    """A new private feed URL for a scope the caller may see.

    The secret has 256 bits (secrets.token_urlsafe(32)); only its SHA-256 is stored, so it is
    shown once, here, and a revoked or unknown one can only ever answer 404.
    """
    checked = await check_scope(principal, scope, scope_id)
    label = label.strip()[:200]
    owned = (
        await CalendarFeed.count()
        .where((CalendarFeed.owner == principal.user_id) & CalendarFeed.revoked_at.is_null())
        .run()
    )
    if owned >= MAX_FEEDS_PER_USER:
        raise Invalid.field(
            "scope", f"You have {MAX_FEEDS_PER_USER} feeds already; revoke one first."
        )
    secret = secrets.token_urlsafe(32)
    feed = CalendarFeed(
        owner=principal.user_id,
        scope=scope,
        scope_id=checked,
        token_hash=token_hash(secret),
        label=label,
        created_at=clock.now(),
    )
    await feed.save().run()
    await log_action(
        "marketplace.calendar_feed.created",
        actor_id=principal.user_id,
        entity_type="calendar_feed",
        entity_id=feed.id,
        tenant=await _tenant_of(scope, checked),
        data={"scope": scope, "scope_id": str(checked)},
    )
    return CreatedFeed(feed.id, scope, checked, label, secret)


async def list_feeds(
    user_id: uuid.UUID, limit: int = 100, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """The caller's live feeds, newest first, without any secret (none is stored)."""
    where = (CalendarFeed.owner == user_id) & CalendarFeed.revoked_at.is_null()
    rows: list[dict[str, Any]] = (
        await CalendarFeed.select(
            CalendarFeed.id,
            CalendarFeed.scope,
            CalendarFeed.scope_id,
            CalendarFeed.label,
            CalendarFeed.created_at,
            CalendarFeed.last_used_at,
        )
        .where(where)
        .order_by(CalendarFeed.created_at, ascending=False)
        .limit(limit)
        .offset(offset)
        .run()
    )
    total = await CalendarFeed.count().where(where).run()
    return rows, total


async def revoke_feed(user_id: uuid.UUID, feed_id: uuid.UUID) -> None:
    """Revoke one of the caller's feeds; its URL answers 404 from the next request on."""
    row = (
        await CalendarFeed.select(CalendarFeed.scope, CalendarFeed.scope_id)
        .where(
            (CalendarFeed.id == feed_id)
            & (CalendarFeed.owner == user_id)
            & CalendarFeed.revoked_at.is_null()
        )
        .first()
        .run()
    )
    if row is None:
        raise NotFound("No such calendar feed.")
    await (
        CalendarFeed.update({CalendarFeed.revoked_at: clock.now()})
        .where(CalendarFeed.id == feed_id)
        .run()
    )
    await log_action(
        "marketplace.calendar_feed.revoked",
        actor_id=user_id,
        entity_type="calendar_feed",
        entity_id=feed_id,
        tenant=await _tenant_of(row["scope"], row["scope_id"]),
    )


@dataclass(frozen=True)
class Feed:
    id: uuid.UUID
    owner: uuid.UUID
    scope: str
    scope_id: uuid.UUID
    label: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None


def plausible_secret(secret: str) -> bool:
    return 20 <= len(secret) <= 100 and all(c.isalnum() or c in "-_" for c in secret)


async def feed_for_secret(secret: str) -> Feed | None:
    """The live feed behind a URL secret (one indexed lookup), or None."""
    if not plausible_secret(secret):
        return None
    return await _lookup(token_hash(secret))


async def _lookup(digest: str) -> Feed | None:
    # Raw SQL: this runs on every poll, and composing it costs more than answering it.
    rows = await CalendarFeed.raw(
        "SELECT id, owner, scope, scope_id, label, created_at, last_used_at FROM calendar_feed "
        "WHERE token_hash = {} AND revoked_at IS NULL",
        digest,
    ).run()
    return Feed(**rows[0]) if rows else None


# What a feed shows never changes after creation (owner, scope, label), so each process keeps
# the rows it has seen; whether the feed is still live is asked of the database on every poll,
# in the same statement as its version, so a revocation anywhere takes effect at once.
_KNOWN: OrderedDict[str, Feed] = OrderedDict()
_KNOWN_MAX = 10_000


async def poll(secret: str, links: Links) -> tuple[Feed, Version] | None:
    """The feed behind a secret and its current version, or None when unknown or revoked.

    What every calendar-app poll needs, in one query for a feed this process has seen before.
    """
    if not plausible_secret(secret):
        return None
    digest = token_hash(secret)
    feed = _KNOWN.get(digest)
    if feed is None:
        feed = await _lookup(digest)
        if feed is None:
            return None
        _KNOWN[digest] = feed
        if len(_KNOWN) > _KNOWN_MAX:
            _KNOWN.popitem(last=False)
    version = await feed_version(feed, links)
    if version is None:
        _KNOWN.pop(digest, None)
        return None
    return feed, version


async def touch(feed: Feed, secret: str) -> None:
    now = clock.now()
    if feed.last_used_at is None or now - feed.last_used_at >= TOUCH_EVERY:
        await (
            CalendarFeed.update({CalendarFeed.last_used_at: now})
            .where(CalendarFeed.id == feed.id)
            .run()
        )
        digest = token_hash(secret)
        if digest in _KNOWN:
            _KNOWN[digest] = dataclasses.replace(feed, last_used_at=now)


# The scope of a feed as plain SQL over the scheduling tables (read-only here). It is written
# by hand because it runs on every poll: Piccolo's builder spends longer composing the joins
# and sub-selects than the database spends answering them. Render and version share it, so
# they can never disagree about which audits a feed holds.
_JOINS = (
    "audit a JOIN certification_cycle c ON c.id = a.cycle JOIN engagement e ON e.id = c.engagement "
)
# An auditor's cancelled audits keep their (released) team so the cancellation reaches them.
_ON_TEAM = "(aa.live OR EXISTS (SELECT 1 FROM audit a2 WHERE a2.id = aa.audit AND a2.status = 'cancelled'))"
_SCOPES = {
    # Access is re-checked inside the same statement: losing a membership empties the feed.
    "organisation": (
        "e.organisation = {} AND EXISTS (SELECT 1 FROM membership m "
        'WHERE m."user" = {} AND m.organisation = {})'
    ),
    "body": (
        'e.body = {} AND EXISTS (SELECT 1 FROM membership m WHERE m."user" = {} AND m.body = {})'
    ),
    "auditor": (
        "a.id IN (SELECT aa.audit FROM audit_assignment aa WHERE aa.auditor = {} AND ON_TEAM) "
        "AND EXISTS (SELECT 1 FROM auditor au WHERE au.id = {} AND "
        '(au."user" = {} OR au.body IN (SELECT m.body FROM membership m '
        "WHERE m.\"user\" = {} AND m.role IN ('owner', 'scheduler'))))"
    ),
    # "me": every organisation the user belongs to, and every audit they are on the team of.
    "me": (
        'e.organisation IN (SELECT m.organisation FROM membership m WHERE m."user" = {} '
        "AND m.organisation IS NOT NULL) OR a.id IN (SELECT aa.audit FROM audit_assignment aa "
        'JOIN auditor au ON au.id = aa.auditor WHERE au."user" = {} AND ON_TEAM)'
    ),
}


# Shown: not cancelled, or cancelled less than CANCELLED_KEPT ago (the {} is the cutoff).
_VERSION_SQL = (
    "SELECT SUM(CASE WHEN (a.status <> 'cancelled' OR a.updated_at >= {}) THEN 1 ELSE 0 END) "
    "AS count, "
    "MAX(CASE WHEN (a.status <> 'cancelled' OR a.updated_at >= {}) THEN a.updated_at END) "
    "AS max, "
    "SUM(CASE WHEN (a.status <> 'cancelled' OR a.updated_at >= {}) THEN a.sequence ELSE 0 END) "
    "AS sum, "
    "MAX(CASE WHEN (a.status <> 'cancelled' OR a.updated_at >= {}) THEN NULL "
    "ELSE a.updated_at END) AS gone, "
    "(SELECT COUNT(*) FROM calendar_feed WHERE id = {} AND revoked_at IS NULL) AS live "
    "FROM audit a JOIN certification_cycle c ON c.id = a.cycle "
    "JOIN engagement e ON e.id = c.engagement WHERE "
)


def _scope_sql(feed: Feed) -> tuple[str, list[Any]]:
    """The WHERE condition (over `a`, `e`) selecting a feed's audits, and its arguments."""
    sid, owner = feed.scope_id, feed.owner
    args: dict[str, list[Any]] = {
        "organisation": [sid, owner, sid],
        "body": [sid, owner, sid],
        "auditor": [sid, sid, owner, owner],
        "me": [owner, owner],
    }
    return _SCOPES[feed.scope].replace("ON_TEAM", _ON_TEAM), args[feed.scope]


def _as_datetime(value: Any) -> dt.datetime | None:
    # Aggregates lose the column type on SQLite and come back as ISO text.
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value if isinstance(value, dt.datetime) else None


@dataclass(frozen=True)
class Version:
    etag: str
    last_modified: dt.datetime  # whole seconds, UTC


async def feed_version(feed: Feed, links: Links) -> Version | None:
    """The feed's version from one aggregate query, without rendering anything; None once revoked.

    Every booking change (proposal, reschedule, team, confirmation, cancellation) bumps the
    audit's `updated_at` in the same transaction, so count, latest change and the sum of
    sequences of the visible audits change exactly when the rendered events do. A cancelled
    audit leaving the feed after 30 days changes the count, and moves Last-Modified to the
    moment it left.
    """
    cutoff = clock.now() - CANCELLED_KEPT
    condition, args = _scope_sql(feed)
    # One pass over the scope's audits: what is shown, and the latest cancellation that left.
    sql = _VERSION_SQL + "(" + condition + ")"
    rows = await Audit.raw(sql, cutoff, cutoff, cutoff, cutoff, feed.id, *args).run()
    visible: dict[str, Any] = rows[0] if rows else {}
    if not visible.get("live"):
        return None
    latest = _as_datetime(visible.get("max"))
    left = _as_datetime(visible.get("gone"))
    moments = [feed.created_at]
    if latest:
        moments.append(latest)
    if left:
        moments.append(left + CANCELLED_KEPT)
    last_modified = max(moments).astimezone(dt.UTC).replace(microsecond=0)
    count = visible.get("count") or 0
    total_sequence = visible.get("sum") or 0
    basis = "|".join(
        [
            RENDER_VERSION,
            feed.scope,
            str(feed.scope_id),
            feed.label,
            links.base_url,
            str(count),
            latest.isoformat() if latest else "-",
            str(total_sequence),
        ]
    )
    return Version(f'"{hashlib.sha256(basis.encode()).hexdigest()[:32]}"', last_modified)


# --- building events -------------------------------------------------------------------------

_AUDIT_SQL = (
    "SELECT a.id, a.kind, a.status, a.window_start, a.window_end, a.starts_at, a.ends_at, "
    "a.requested_starts_at, a.requested_ends_at, a.time_zone, a.mode, a.sequence, "
    "a.created_at, a.updated_at, e.standard AS standard, e.organisation AS organisation_id, "
    "o.name AS organisation_name, b.name AS body_name "
    "FROM audit a JOIN certification_cycle c ON c.id = a.cycle "
    "JOIN engagement e ON e.id = c.engagement "
    "JOIN organisation o ON o.id = e.organisation "
    "JOIN certification_body b ON b.id = e.body WHERE "
)
_TEAM_SQL = (
    "SELECT aa.audit AS audit, aa.auditor AS auditor, aa.role AS role, aa.live AS live, "  # noqa: S608 (constant text; values are bound)
    "aa.created_at AS created_at, au.name AS name, au.email AS email "
    "FROM audit_assignment aa JOIN auditor au ON au.id = aa.auditor JOIN "
    + _JOINS.replace("audit a JOIN", "audit a ON a.id = aa.audit JOIN", 1)
    # Only the rows _team shows: the live team, and a cancelled audit's last team. Every
    # reschedule releases a team and books a new one, so reading all rows made a much-moved
    # audit's feed (and its invitations) read its whole history: 5.5 MB per render instead of
    # 0.7 MB after the soak's reschedules (bench/results/heap_soak.md).
    + "WHERE (aa.live OR (a.status = 'cancelled' AND aa.created_at = "
    "(SELECT MAX(aa2.created_at) FROM audit_assignment aa2 WHERE aa2.audit = aa.audit))) AND "
)


def summary_of(standard: str, kind: str, organisation: str) -> str:
    """ "ISO 9001 surveillance 1 - Acme Ltd": the standard without its edition year."""
    return f"{standard.split(':')[0]} {KIND_LABELS.get(kind, kind)} - {organisation}"


def _status(audit_status: str) -> Any:
    if audit_status in ("proposed", "requested"):
        return "TENTATIVE"
    if audit_status == "cancelled":
        return "CANCELLED"
    return "CONFIRMED"


async def _load(
    condition: str, args: Sequence[Any]
) -> tuple[
    list[dict[str, Any]],
    dict[Any, list[dict[str, Any]]],
    dict[Any, dict[str, Any]],
    dict[Any, list[dict[str, Any]]],
]:
    # Raw SQL over the same joins as the version check: a 1,000-event feed is read in four
    # queries and without the ORM's per-row bookkeeping (the render budget is 100 ms).
    where = "(" + condition + ")"
    audits: list[dict[str, Any]] = await Audit.raw(
        _AUDIT_SQL + where + " ORDER BY a.id", *args
    ).run()
    if not audits:
        return [], {}, {}, {}
    team_rows: list[dict[str, Any]] = await AuditAssignment.raw(
        _TEAM_SQL + where + " ORDER BY aa.created_at", *args
    ).run()
    org_ids = sorted({a["organisation_id"] for a in audits}, key=str)
    teams: dict[Any, list[dict[str, Any]]] = {}
    for r in team_rows:
        teams.setdefault(r["audit"], []).append(r)
    site_rows = (
        await Site.select(Site.organisation, Site.name, Site.address, Site.central)
        .where(Site.organisation.is_in(org_ids))
        .order_by(Site.name)
        .run()
    )
    sites: dict[Any, dict[str, Any]] = {}
    for s in site_rows:
        current = sites.get(s["organisation"])
        if current is None or (s["central"] and not current["central"]):
            sites[s["organisation"]] = s
    contact_rows = (
        await Membership.select(
            Membership.organisation,
            Membership.role,
            Membership.user._.name.as_alias("name"),
            Membership.user._.email.as_alias("email"),
        )
        .where(
            Membership.organisation.is_in(org_ids) & Membership.role.is_in(list(CLIENT_CONTACTS))
        )
        .order_by(Membership.user._.email)
        .run()
    )
    contacts: dict[Any, list[dict[str, Any]]] = {}
    for c in contact_rows:
        contacts.setdefault(c["organisation"], []).append(c)
    return audits, teams, sites, contacts


def _team(audit: dict[str, Any], rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The live team; for a cancelled audit, the last team it had (released on cancelling)."""
    if audit["status"] == "cancelled":
        chosen: dict[Any, dict[str, Any]] = {}
        for r in rows:  # oldest first, so the latest assignment of each auditor wins
            chosen[r["auditor"]] = r
        latest = max((r["created_at"] for r in rows), default=None)
        members = [r for r in chosen.values() if r["created_at"] == latest]
    else:
        members = [r for r in rows if r["live"]]
    return sorted(members, key=lambda r: (ROLE_ORDER.get(r["role"], 9), r["name"]))


def _audit_events(
    audit: dict[str, Any],
    team: Sequence[dict[str, Any]],
    site: dict[str, Any] | None,
    contacts: Sequence[dict[str, Any]],
    links: Links,
) -> list[ics.Event]:
    summary = summary_of(audit["standard"], audit["kind"], audit["organisation_name"])
    url = f"{links.base_url}/audits/{audit['id']}"
    status = audit["status"]
    if status == "requested":
        starts, ends = audit["requested_starts_at"], audit["requested_ends_at"]
    else:
        starts, ends = audit["starts_at"], audit["ends_at"]
    if starts is None or ends is None:
        if status != "planned" or not (audit["window_start"] and audit["window_end"]):
            return []
        # Not booked yet: the due window as an all-day, free/busy-transparent event.
        return [
            ics.AllDayEvent(
                uid=f"audit-{audit['id']}-window@{links.host}",
                summary=f"Due: {summary}",
                first_day=audit["window_start"],
                last_day=audit["window_end"],
                last_modified=audit["updated_at"],
                description=(
                    f"{audit['standard']} {KIND_LABELS.get(audit['kind'], audit['kind'])} "
                    f"audit by {audit['body_name']} is due between {audit['window_start']} and "
                    f"{audit['window_end']}; no dates are booked yet.\nDetails: {url}"
                ),
                url=url,
                categories=("Audit due window",),
            )
        ]
    team_text = ", ".join(f"{m['name']} ({m['role']})" for m in team) or "to be confirmed"
    remote = audit["mode"] == "remote"
    location = (
        "Remote" if remote else ((site or {}).get("address") or (site or {}).get("name") or "")
    )
    description = (
        f"{audit['standard']} {KIND_LABELS.get(audit['kind'], audit['kind'])} audit of "
        f"{audit['organisation_name']} by {audit['body_name']} ({'remote' if remote else 'on site'}).\n"
        f"Audit team: {team_text}\nDetails: {url}"
    )
    attendees = [
        ics.Party(m["name"], m["email"], "CHAIR" if m["role"] == "lead" else "REQ-PARTICIPANT")
        for m in team
        if m["email"]
    ] + [ics.Party(c["name"], c["email"], "REQ-PARTICIPANT") for c in contacts]
    return [
        ics.TimedEvent(
            uid=audit_uid(audit["id"], links.host),
            summary=summary,
            status=_status(status),
            starts_at=starts,
            ends_at=ends,
            time_zone=audit["time_zone"] or "UTC",
            sequence=audit["sequence"],
            created=audit["created_at"],
            last_modified=audit["updated_at"],
            location=location or "Remote",
            description=description,
            url=url,
            organizer=ics.Party(audit["body_name"], links.organizer_email, "CHAIR"),
            attendees=tuple(attendees),
        )
    ]


async def audit_events(condition: str, args: Sequence[Any], links: Links) -> list[ics.Event]:
    """Audit events for every audit matching a SQL condition over `a` (audit) and `e`
    (engagement): four queries whatever the number."""
    audits, teams, sites, contacts = await _load(condition, args)
    events: list[ics.Event] = []
    for a in audits:
        team = _team(a, teams.get(a["id"], []))
        org = a["organisation_id"]
        events += _audit_events(a, team, sites.get(org), contacts.get(org, []), links)
    return events


# Sources of feed events. Findings adds corrective-action due dates (all-day events) here by
# appending an async (feed, links) -> events function when that domain lands.
EventSource = Callable[[Feed, Links], Awaitable[list[ics.Event]]]


async def _audit_source(feed: Feed, links: Links) -> list[ics.Event]:
    condition, args = _scope_sql(feed)
    shown = "(" + condition + ") AND (a.status <> 'cancelled' OR a.updated_at >= {})"
    return await audit_events(shown, [*args, clock.now() - CANCELLED_KEPT], links)


FEED_SOURCES: list[EventSource] = [_audit_source]


def feed_name(feed: Feed) -> str:
    return feed.label or f"CertMarket audits ({feed.scope})"


async def render_feed(feed: Feed, links: Links) -> bytes:
    """The whole feed as iCalendar bytes (RFC 5545): every source's events, one VTIMEZONE per zone."""
    events: list[ics.Event] = []
    for source in FEED_SOURCES:
        events += await source(feed, links)
    return ics.render(
        feed_name(feed),
        events,
        description="Audit dates and deadlines from CertMarket; a private feed, do not share.",
    )


async def audit_calendar(audit_id: uuid.UUID, links: Links, method: str | None = None) -> bytes:
    """One audit as a calendar of one VEVENT with the same UID as in the feeds."""
    events = await audit_events("a.id = {}", [audit_id], links)
    if not events:
        raise NotFound("This audit has no dates or due window to put in a calendar yet.")
    return ics.render(events[0].summary, events, method=method)


async def audit_invitation(
    audit_id: uuid.UUID, links: Links, method: Literal["REQUEST", "CANCEL"] = "REQUEST"
) -> bytes:
    """The iTIP attachment (RFC 5546) for the e-mail sent when an audit is proposed, confirmed,
    rescheduled (REQUEST) or cancelled (CANCEL); the outbox that sends it is not built yet."""
    events = [
        e
        for e in await audit_events("a.id = {}", [audit_id], links)
        if isinstance(e, ics.TimedEvent)
    ]
    if not events:
        raise NotFound("This audit has no dates to invite anyone to.")
    return ics.invitation(events[0], method)
