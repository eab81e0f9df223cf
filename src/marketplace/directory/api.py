"""JSON API of the directory: body profiles and their members."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Controller, Request, get, patch, post
from litestar.params import JSONBody, Parameter

from marketplace.accounts import services as accounts
from marketplace.accounts.api import activity_page, principal_of
from marketplace.accounts.guards import require_role, requires_login
from marketplace.accounts.roles import BODY_MANAGERS, TenantKind
from marketplace.accounts.schemas import ActivityOut, MemberIn, MemberOut
from marketplace.core.activity import Tenant
from marketplace.core.pagination import Page, PageParams
from marketplace.directory import services
from marketplace.directory.schemas import BodyIn, BodyOut, BodyPatch


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

    @get("/{id_or_slug:str}", summary="A body's public profile")
    async def read(self, id_or_slug: str) -> BodyOut:
        return msgspec.convert(await services.get_body(id_or_slug), BodyOut, strict=False)

    @patch("/{body_id:uuid}", summary="Edit the body's profile (owner)", guards=[requires_login])
    async def update(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID, data: JSONBody[BodyPatch]
    ) -> BodyOut:
        p = principal_of(request)
        require_role(p, TenantKind.body, body_id, BODY_MANAGERS, what="No such certification body.")
        await services.update_body(p.user_id, body_id, msgspec.to_builtins(data))
        return msgspec.convert(await services.get_body(body_id), BodyOut, strict=False)

    @post(
        "/{body_id:uuid}/members",
        summary="Add or invite a member (owner)",
        guards=[requires_login],
        status_code=201,
    )
    async def add_member(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID, data: JSONBody[MemberIn]
    ) -> MemberOut:
        p = principal_of(request)
        require_role(p, TenantKind.body, body_id, BODY_MANAGERS, what="No such certification body.")
        result = await accounts.add_member(
            p.user_id, TenantKind.body, body_id, data.email, data.role
        )
        return msgspec.convert(result, MemberOut)

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
        require_role(
            principal_of(request),
            TenantKind.body,
            body_id,
            {"owner"},
            what="No such certification body.",
        )
        return await activity_page(Tenant("body", body_id), PageParams.of(page, per_page))
