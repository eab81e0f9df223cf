"""JSON API of reviews: public lists, writing one (clients with a completed audit), replies, moderation."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import JSONBody, Parameter

from marketplace.accounts.guards import principal_of, requires_login, requires_platform_admin
from marketplace.core.pagination import Page, PageParams
from marketplace.reviews import services
from marketplace.reviews.schemas import HideIn, ReplyIn, ReviewIn, ReviewOut


class ReviewController(Controller):
    path = "/api/v1"
    tags = ["reviews"]

    @get("/bodies/{body_id:uuid}/reviews", summary="A body's published reviews (public)")
    async def list_reviews(
        self,
        body_id: uuid.UUID,
        page: int = Parameter(default=1),
        per_page: int = Parameter(default=20),
    ) -> Page[ReviewOut]:
        return await services.list_reviews(body_id, PageParams.of(page, per_page))

    @post(
        "/bodies/{body_id:uuid}/reviews",
        summary="Review a body for a completed engagement (client owner or quality manager)",
        guards=[requires_login],
        status_code=201,
    )
    async def write(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID, data: JSONBody[ReviewIn]
    ) -> ReviewOut:
        review_id = await services.write_review(
            principal_of(request),
            body_id,
            msgspec.to_builtins(data) | {"engagement_id": data.engagement_id},
        )
        return await services.get_review(review_id)

    @post(
        "/reviews/{review_id:uuid}/reply",
        summary="The body's one reply (body owner or scheduler)",
        guards=[requires_login],
        status_code=200,
    )
    async def reply(
        self, request: Request[Any, Any, Any], review_id: uuid.UUID, data: JSONBody[ReplyIn]
    ) -> ReviewOut:
        await services.reply(principal_of(request), review_id, data.text)
        return await services.get_review(review_id)

    @post(
        "/admin/reviews/{review_id:uuid}/hide",
        summary="Hide an abusive review (platform administrators)",
        guards=[requires_platform_admin],
        status_code=200,
    )
    async def hide(
        self, request: Request[Any, Any, Any], review_id: uuid.UUID, data: JSONBody[HideIn]
    ) -> ReviewOut:
        await services.moderate(principal_of(request).user_id, review_id, True, data.reason)
        return await services.get_review(review_id)

    @post(
        "/admin/reviews/{review_id:uuid}/show",
        summary="Publish a hidden review again (platform administrators)",
        guards=[requires_platform_admin],
        status_code=200,
    )
    async def show(self, request: Request[Any, Any, Any], review_id: uuid.UUID) -> ReviewOut:
        await services.moderate(principal_of(request).user_id, review_id, False)
        return await services.get_review(review_id)
