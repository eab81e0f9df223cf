"""Who acts on an audit and what every booking rule needs to know about it: the access check
shared by both tenants and the audit's context (engagement, tenants, window, site zone)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from marketplace.accounts.guards import Principal
from marketplace.accounts.roles import TenantKind
from marketplace.accounts.tables import Site
from marketplace.core.errors import Forbidden, NotFound
from marketplace.rules.cycle import Window
from marketplace.scheduling.tables import Audit

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
    window = (
        Window(row["window_start"], row["window_end"])
        if row["window_start"] and row["window_end"]
        else None
    )
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
