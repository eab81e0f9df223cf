"""Who acts on an audit and what every booking rule needs to know about it: the access check
shared by both tenants, who takes each step, the audit's context (engagement, tenants, window,
site zone) and the status move rules.audit_status allows it."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from marketplace.accounts.guards import Principal
from marketplace.accounts.roles import TenantKind
from marketplace.accounts.tables import Site
from marketplace.core import clock
from marketplace.core.db import lock_row
from marketplace.core.errors import Conflict, Forbidden, NotFound
from marketplace.rules.audit_status import AuditAction, AuditStatus, Refusal, next_status
from marketplace.rules.cycle import Window, window_state
from marketplace.scheduling.tables import Audit

# How messages name an audit's kind ("ISO 9001 surveillance 1"): e-mails, feeds, reports.
KIND_LABELS = {
    "stage1": "stage 1",
    "stage2": "stage 2",
    "surveillance1": "surveillance 1",
    "surveillance2": "surveillance 2",
    "recertification": "recertification",
    "special": "special",
}

# --- who may do what -------------------------------------------------------------------------

CLIENT_BOOKERS = frozenset({"owner", "quality_manager"})
CLIENT_ALL = frozenset({"owner", "quality_manager", "member"})
BODY_PLANNERS = frozenset({"owner", "scheduler"})
BODY_ALL = frozenset({"owner", "scheduler", "auditor", "decision_maker", "finance"})
NO_ROLES: frozenset[str] = frozenset()


def check_access(
    principal: Principal,
    organisation_id: uuid.UUID,
    body_id: uuid.UUID,
    *,
    client: frozenset[str] = NO_ROLES,
    body: frozenset[str] = NO_ROLES,
    what: str = "No such audit.",
) -> str:
    """Which side the caller acts for ("client" or "body") on an object both tenants share.

    Neither tenant's member: 404, as for an unknown id. A member without one of the needed roles
    on either side: 403.
    """
    org_roles = principal.roles_in(TenantKind.organisation, organisation_id)
    body_roles = principal.roles_in(TenantKind.body, body_id)
    if not org_roles and not body_roles:
        raise NotFound(what)
    if org_roles & client:
        return "client"
    if body_roles & body:
        return "body"
    raise Forbidden("Your role does not allow this.", code="role_required")


@dataclass(frozen=True)
class Who:
    """The roles, on the client's side and on the body's, that may take one step on an audit."""

    client: frozenset[str] = NO_ROLES
    body: frozenset[str] = NO_ROLES


READERS = Who(CLIENT_ALL, BODY_ALL)
SLOT_SEEKERS = Who(CLIENT_BOOKERS, BODY_PLANNERS)
# Who takes each step of the booking flow: the body plans (ISO/IEC 17021-1 9.2.2), the client
# agrees (9.2.3); either may ask to move a booking; an auditor of the body records it as held.
ACTORS: dict[AuditAction, Who] = {
    AuditAction.propose: Who(body=BODY_PLANNERS),
    AuditAction.request: Who(client=CLIENT_BOOKERS),
    AuditAction.decline: Who(body=BODY_PLANNERS),
    AuditAction.confirm: Who(client=CLIENT_BOOKERS),
    AuditAction.reschedule: Who(CLIENT_BOOKERS, BODY_PLANNERS),
    AuditAction.cancel: Who(body=BODY_PLANNERS),
    AuditAction.complete: Who(body=BODY_PLANNERS | {"auditor"}),
}


@dataclass
class AuditContext:
    """An audit with what every booking rule needs: its engagement, tenants and site zone."""

    id: uuid.UUID
    cycle_id: uuid.UUID
    engagement_id: uuid.UUID
    organisation_id: uuid.UUID
    body_id: uuid.UUID
    standard: str
    iaf_sector: int
    kind: str
    status: str
    window: Window | None
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    time_zone: str
    site_time_zone: str
    mode: str
    sequence: int
    row: dict[str, Any] = field(default_factory=dict)


_CTX_COLUMNS = (
    Audit.cycle._.engagement._.id.as_alias("engagement_id"),
    Audit.cycle._.engagement._.organisation.as_alias("organisation_id"),
    Audit.cycle._.engagement._.body.as_alias("body_id"),
    Audit.cycle._.engagement._.standard.as_alias("standard_code"),
    Audit.cycle._.engagement._.iaf_sector.as_alias("sector_code"),
)


def window_of(opens: dt.date | None, due: dt.date | None) -> Window | None:
    """The due window of an audit row; None until the audit it follows sets it."""
    return Window(opens, due) if opens and due else None


def window_state_of(window: Window | None, completed_on: dt.date | None, status: str) -> str | None:
    """Where today falls in the audit's window (ISO/IEC 17021-1 9.1.3); a cancelled audit says so."""
    if window is None:
        return None
    if status == AuditStatus.cancelled:
        return "cancelled"
    return window_state(window, clock.today(), completed_on).value


def require_move(ctx: AuditContext, action: AuditAction) -> str:
    """The status ``action`` takes the audit to; 409 `invalid_state` when its status forbids it."""
    move = next_status(ctx.status, action)
    if isinstance(move, Refusal):
        raise Conflict(move.message, code=move.code)
    return move.value


async def lock_for(audit_id: uuid.UUID, action: AuditAction) -> tuple[AuditContext, str]:
    """Inside a write transaction: lock the audit, read it afresh, and the status ``action`` leads
    to. Concurrent steps on one audit queue on the lock; each sees the status the last one left."""
    await lock_row(Audit, audit_id)
    ctx = await audit_context(audit_id)
    return ctx, require_move(ctx, action)


async def audit_access(
    principal: Principal, audit_id: uuid.UUID, who: Who
) -> tuple[AuditContext, str]:
    """The audit's context and the side the caller acts for, when ``who`` lets them."""
    ctx = await audit_context(audit_id)
    side = check_access(
        principal, ctx.organisation_id, ctx.body_id, client=who.client, body=who.body
    )
    return ctx, side


async def audit_context(audit_id: uuid.UUID) -> AuditContext:
    row = (
        await Audit.select(*Audit.all_columns(), *_CTX_COLUMNS)
        .where(Audit.id == audit_id)
        .output(load_json=True)
        .first()
        .run()
    )
    if row is None:
        raise NotFound("No such audit.")
    sites = (
        await Site.select(Site.time_zone, Site.central)
        .where(Site.organisation == row["organisation_id"])
        .run()
    )
    central = [s for s in sites if s["central"]] or sites
    window = window_of(row["window_start"], row["window_end"])
    return AuditContext(
        id=row["id"],
        cycle_id=row["cycle"],
        engagement_id=row["engagement_id"],
        organisation_id=row["organisation_id"],
        body_id=row["body_id"],
        standard=row["standard_code"],
        iaf_sector=row["sector_code"],
        kind=row["kind"],
        status=row["status"],
        window=window,
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        time_zone=row["time_zone"],
        site_time_zone=central[0]["time_zone"] if central else "UTC",
        mode=row["mode"],
        sequence=row["sequence"],
        row=row,
    )
