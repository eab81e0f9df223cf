"""Client organisations and their sites, and what their owners and managers do with them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import msgspec

from marketplace.accounts import members
from marketplace.accounts.activity import activity_page
from marketplace.accounts.guards import Principal, require_role
from marketplace.accounts.roles import CLIENT_MANAGERS, TenantKind
from marketplace.accounts.schemas import (
    ActivityOut,
    InvitationOut,
    MemberOut,
    OrganisationIn,
    OrganisationOut,
    SiteIn,
    SiteOut,
)
from marketplace.accounts.tables import Membership, Organisation, Site
from marketplace.accounts.users import check_time_zone
from marketplace.core.activity import Tenant, log_action
from marketplace.core.db import write_transaction
from marketplace.core.errors import Invalid, NotFound
from marketplace.core.pagination import Page, PageParams
from marketplace.reference.tables import IafSector

NO_ORGANISATION = "No such organisation."
OWNERS = frozenset({"owner"})


async def create_organisation(actor_id: uuid.UUID, data: dict[str, Any]) -> uuid.UUID:
    """Create a client organisation with its sites; the creator becomes its owner."""
    if not await IafSector.exists().where(IafSector.code == data["iaf_sector"]).run():
        raise Invalid.field("iaf_sector", "Unknown IAF sector; use a code from 1 to 39.")
    sites = data.get("sites") or []
    for i, site in enumerate(sites):
        check_time_zone(site.get("time_zone", "UTC"), f"sites[{i}].time_zone")
    if sum(1 for s in sites if s.get("central")) > 1:
        raise Invalid.field("sites", "Only one site can be the central function.")
    async with write_transaction():
        org = Organisation(
            name=data["name"].strip(),
            country=data["country"],
            iaf_sector=data["iaf_sector"],
            effective_personnel=data["effective_personnel"],
        )
        await org.save().run()
        for site in sites:
            await Site.insert(Site(organisation=org.id, **site)).run()
        await Membership.insert(Membership(user=actor_id, organisation=org.id, role="owner")).run()
        await log_action(
            "marketplace.organisation.created",
            actor_id=actor_id,
            entity_type="organisation",
            entity_id=org.id,
            tenant=Tenant("organisation", org.id),
            data={"name": org.name, "sites": len(sites)},
        )
    return org.id


async def add_site(
    actor_id: uuid.UUID, organisation_id: uuid.UUID, site: dict[str, Any]
) -> uuid.UUID:
    check_time_zone(site.get("time_zone", "UTC"))
    async with write_transaction():
        if (
            site.get("central")
            and await Site.exists()
            .where(
                (Site.organisation == organisation_id) & (Site.central == True)  # noqa: E712
            )
            .run()
        ):
            raise Invalid.field("central", "This organisation already has a central function site.")
        row = Site(organisation=organisation_id, **site)
        await row.save().run()
        await log_action(
            "marketplace.site.created",
            actor_id=actor_id,
            entity_type="site",
            entity_id=row.id,
            tenant=Tenant("organisation", organisation_id),
            data={"name": row.name},
        )
    return row.id


async def get_organisation(organisation_id: uuid.UUID) -> dict[str, Any]:
    rows = await Organisation.select().where(Organisation.id == organisation_id).run()
    if not rows:
        raise NotFound("No such organisation.")
    org: dict[str, Any] = rows[0]
    org["sites"] = (
        await Site.select().where(Site.organisation == organisation_id).order_by(Site.name).run()
    )
    return org


# --- the actions, as the API and the pages call them --------------------------------------------


def role_in(
    principal: Principal, organisation_id: uuid.UUID, roles: Iterable[str] | None = None
) -> str:
    """The caller's role in the organisation: 404 for outsiders, 403 for a role not in `roles`."""
    return require_role(
        principal, TenantKind.organisation, organisation_id, roles, what=NO_ORGANISATION
    )


async def organisation_out(organisation_id: uuid.UUID) -> OrganisationOut:
    return msgspec.convert(
        await get_organisation(organisation_id),
        OrganisationOut,
        from_attributes=False,
        strict=False,
    )


async def found(principal: Principal, data: OrganisationIn) -> uuid.UUID:
    """Any signed-in person may found a client organisation and becomes its owner."""
    return await create_organisation(principal.user_id, msgspec.to_builtins(data))


async def read(principal: Principal, organisation_id: uuid.UUID) -> OrganisationOut:
    """The organisation with its sites, for its members."""
    role_in(principal, organisation_id)
    return await organisation_out(organisation_id)


async def add_site_as(principal: Principal, organisation_id: uuid.UUID, data: SiteIn) -> SiteOut:
    """A manager (owner, quality manager) adds a site."""
    role_in(principal, organisation_id, CLIENT_MANAGERS)
    site_id = await add_site(principal.user_id, organisation_id, msgspec.to_builtins(data))
    row = await Site.select().where(Site.id == site_id).first().run()
    return msgspec.convert(row, SiteOut, strict=False)


async def invite(
    principal: Principal, organisation_id: uuid.UUID, email: str, role: str
) -> MemberOut:
    """A manager invites an address (see members.invite_member: the same answer for everyone)."""
    role_in(principal, organisation_id, CLIENT_MANAGERS)
    result = await members.invite_member(
        principal.user_id, TenantKind.organisation, organisation_id, email, role
    )
    return msgspec.convert(result, MemberOut)


async def invitations(
    principal: Principal, organisation_id: uuid.UUID, params: PageParams
) -> Page[InvitationOut]:
    """The open invitations, for managers."""
    role_in(principal, organisation_id, CLIENT_MANAGERS)
    return await members.invitations_page(TenantKind.organisation, organisation_id, params)


async def open_invitation(
    principal: Principal, organisation_id: uuid.UUID, invitation_id: uuid.UUID
) -> InvitationOut:
    """One open invitation, for a manager about to revoke it (the row pages.revoke_page shows,
    for organisations and bodies alike)."""
    role_in(principal, organisation_id, CLIENT_MANAGERS)
    return await members.get_invitation(TenantKind.organisation, organisation_id, invitation_id)


async def revoke(
    principal: Principal, organisation_id: uuid.UUID, invitation_id: uuid.UUID
) -> None:
    """A manager withdraws a pending invitation; its link stops working at once."""
    role_in(principal, organisation_id, CLIENT_MANAGERS)
    await members.revoke_invitation(
        principal.user_id, TenantKind.organisation, organisation_id, invitation_id
    )


async def activity(
    principal: Principal, organisation_id: uuid.UUID, params: PageParams
) -> Page[ActivityOut]:
    """The organisation's activity log, for its owners only."""
    role_in(principal, organisation_id, OWNERS)
    return await activity_page(Tenant("organisation", organisation_id), params)
