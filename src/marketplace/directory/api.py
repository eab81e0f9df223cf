"""JSON API of the directory: search, compare, body profiles, accreditations and their verification."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Controller, Request, delete, get, patch, post, put
from litestar.params import JSONBody, Parameter

from marketplace.accounts import members as accounts
from marketplace.accounts.activity import activity_page
from marketplace.accounts.guards import (
    principal_of,
    require_role,
    requires_login,
    requires_platform_admin,
)
from marketplace.accounts.members import invitations_page
from marketplace.accounts.roles import BODY_MANAGERS, TenantKind
from marketplace.accounts.schemas import ActivityOut, InvitationOut, MemberIn, MemberOut
from marketplace.core.activity import Tenant
from marketplace.core.errors import Invalid
from marketplace.core.pagination import Page, PageParams
from marketplace.directory import profiles, search, services
from marketplace.directory.schemas import (
    AccreditationIn,
    AccreditationOut,
    BodyDetailOut,
    BodyIn,
    BodyOut,
    BodyPatch,
    CompareOut,
    ReasonIn,
    SearchPage,
    SectorExperienceIn,
    SectorExperienceOut,
)


def _detail(body: dict[str, Any]) -> BodyDetailOut:
    return msgspec.convert(body, BodyDetailOut, strict=False)


class BodyController(Controller):
    path = "/api/v1/bodies"
    tags = ["directory"]

    @post(
        "",
        summary="Register a certification body (caller becomes owner)",
        guards=[requires_login],
        status_code=201,
    )
    async def create(self, request: Request[Any, Any, Any], data: JSONBody[BodyIn]) -> BodyOut:
        p = principal_of(request)
        body_id = await services.create_body(p.user_id, msgspec.to_builtins(data))
        return msgspec.convert(await services.get_body(body_id), BodyOut, strict=False)

    @get("", summary="Search certification bodies (public)")
    async def search(
        self,
        q: str | None = None,
        standard: str | None = None,
        iaf_sector: str | None = None,
        country: str | None = None,
        language: str | None = None,
        service: str | None = None,
        accreditation_body: str | None = None,
        remote: str | None = None,
        min_rating: str | None = None,
        sort: str | None = None,
        page: int = Parameter(default=1),
        per_page: int = Parameter(default=20),
    ) -> SearchPage:
        """Only verified, unexpired accreditations match a standard or sector filter; unknown
        filter values answer 422 with the allowed values."""
        filters = await search.parse_filters(
            {
                "q": q,
                "standard": standard,
                "iaf_sector": iaf_sector,
                "country": country,
                "language": language,
                "service": service,
                "accreditation_body": accreditation_body,
                "remote": remote,
                "min_rating": min_rating,
                "sort": sort,
            }
        )
        result = await search.search(filters, PageParams.of(page, per_page))
        return msgspec.convert(result, SearchPage, strict=False)

    @get("/compare", summary="Compare two to four bodies for an organisation (public)")
    async def compare(
        self,
        request: Request[Any, Any, Any],
        ids: str | None = None,
        organisation: str | None = None,
        standard: str | None = None,
    ) -> CompareOut:
        """The cost estimate needs `organisation`, which the caller must belong to (else 404)."""
        org_id: uuid.UUID | None = None
        if organisation:
            try:
                org_id = uuid.UUID(organisation)
            except ValueError as exc:
                raise Invalid.field("organisation", "Give the organisation's id.") from exc
            require_role(
                principal_of(request), TenantKind.organisation, org_id, what="No such organisation."
            )
        result = await search.compare(search.parse_ids(ids), standard, org_id)
        return msgspec.convert(result, CompareOut, strict=False)

    @get("/{id_or_slug:str}", summary="A body's public profile")
    async def read(self, id_or_slug: str) -> BodyDetailOut:
        return _detail(await services.get_body_detail(id_or_slug))

    @post(
        "/{body_id:uuid}/accreditations",
        summary="Declare an accreditation (owner, scheduler); pending until verified",
        guards=[requires_login],
        status_code=201,
    )
    async def declare_accreditation(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID, data: JSONBody[AccreditationIn]
    ) -> AccreditationOut:
        accreditation_id = await profiles.declare(
            principal_of(request), body_id, msgspec.structs.asdict(data)
        )
        return await services.get_accreditation(accreditation_id)

    @put(
        "/{body_id:uuid}/sectors-of-experience",
        summary="Replace the body's sectors of experience (owner, scheduler)",
        guards=[requires_login],
    )
    async def set_experience(
        self,
        request: Request[Any, Any, Any],
        body_id: uuid.UUID,
        data: JSONBody[list[SectorExperienceIn]],
    ) -> list[SectorExperienceOut]:
        rows = await profiles.replace_experience(
            principal_of(request), body_id, [msgspec.structs.asdict(r) for r in data]
        )
        return msgspec.convert(rows, list[SectorExperienceOut], strict=False)

    @patch("/{body_id:uuid}", summary="Edit the body's profile (owner)", guards=[requires_login])
    async def update(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID, data: JSONBody[BodyPatch]
    ) -> BodyOut:
        await profiles.edit_profile(principal_of(request), body_id, msgspec.to_builtins(data))
        return msgspec.convert(await services.get_body(body_id), BodyOut, strict=False)

    @post(
        "/{body_id:uuid}/members",
        summary="Invite a member (owner; the same answer for every address; membership once accepted)",
        guards=[requires_login],
        status_code=201,
    )
    async def add_member(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID, data: JSONBody[MemberIn]
    ) -> MemberOut:
        p = principal_of(request)
        profiles.body_role(p, body_id, BODY_MANAGERS)
        result = await accounts.invite_member(
            p.user_id, TenantKind.body, body_id, data.email, data.role
        )
        return msgspec.convert(result, MemberOut)

    @get(
        "/{body_id:uuid}/invitations",
        summary="Pending invitations (owner)",
        guards=[requires_login],
    )
    async def invitations(
        self,
        request: Request[Any, Any, Any],
        body_id: uuid.UUID,
        page: int = Parameter(default=1),
        per_page: int = Parameter(default=20),
    ) -> Page[InvitationOut]:
        profiles.body_role(principal_of(request), body_id, BODY_MANAGERS)
        return await invitations_page(TenantKind.body, body_id, PageParams.of(page, per_page))

    @delete(
        "/{body_id:uuid}/invitations/{invitation_id:uuid}",
        summary="Revoke a pending invitation (owner); its link stops working",
        guards=[requires_login],
        status_code=204,
    )
    async def revoke_invitation(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID, invitation_id: uuid.UUID
    ) -> None:
        p = principal_of(request)
        profiles.body_role(p, body_id, BODY_MANAGERS)
        await accounts.revoke_invitation(p.user_id, TenantKind.body, body_id, invitation_id)

    @get(
        "/{body_id:uuid}/activity",
        summary="The body's activity log (owner)",
        guards=[requires_login],
    )
    async def activity(
        self,
        request: Request[Any, Any, Any],
        body_id: uuid.UUID,
        page: int = Parameter(default=1),
        per_page: int = Parameter(default=20),
    ) -> Page[ActivityOut]:
        profiles.body_role(principal_of(request), body_id, {"owner"})
        return await activity_page(Tenant("body", body_id), PageParams.of(page, per_page))


class AdminAccreditationController(Controller):
    """Platform administrators verify, reject or suspend declared accreditations."""

    path = "/api/v1/admin/accreditations"
    tags = ["admin"]
    guards = [requires_platform_admin]

    @get("", summary="Accreditations by status, oldest first (default: pending)")
    async def queue(
        self,
        status: str = "pending",
        page: int = Parameter(default=1),
        per_page: int = Parameter(default=20),
    ) -> Page[AccreditationOut]:
        result = await services.list_accreditations_by_status(status, PageParams.of(page, per_page))
        return Page(
            items=[r.accreditation() for r in result.items],
            total=result.total,
            page=result.page,
            per_page=result.per_page,
        )

    async def _decide(
        self,
        request: Request[Any, Any, Any],
        accreditation_id: uuid.UUID,
        decision: str,
        reason: str,
    ) -> AccreditationOut:
        await services.decide_accreditation(
            principal_of(request).user_id, accreditation_id, decision, reason
        )
        return await services.get_accreditation(accreditation_id)

    @post(
        "/{accreditation_id:uuid}/verify", status_code=200, summary="Verify (pending or suspended)"
    )
    async def verify(
        self, request: Request[Any, Any, Any], accreditation_id: uuid.UUID
    ) -> AccreditationOut:
        return await self._decide(request, accreditation_id, "verify", "")

    @post("/{accreditation_id:uuid}/reject", status_code=200, summary="Reject a pending one")
    async def reject(
        self,
        request: Request[Any, Any, Any],
        accreditation_id: uuid.UUID,
        data: JSONBody[ReasonIn] | None = None,
    ) -> AccreditationOut:
        return await self._decide(request, accreditation_id, "reject", data.reason if data else "")

    @post("/{accreditation_id:uuid}/suspend", status_code=200, summary="Suspend a verified one")
    async def suspend(
        self,
        request: Request[Any, Any, Any],
        accreditation_id: uuid.UUID,
        data: JSONBody[ReasonIn] | None = None,
    ) -> AccreditationOut:
        return await self._decide(request, accreditation_id, "suspend", data.reason if data else "")
