"""HTML pages of reviews: a body's public page (profile, badges, reviews) and the review form.

The public body page lives here rather than in directory because it shows reviews, and
directory sits below reviews in the floors: reviews may compose directory, not the reverse.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect, Template

from marketplace.accounts.guards import Principal, current_principal, me, requires_login
from marketplace.core.errors import DomainError, Invalid
from marketplace.core.pagination import PageParams
from marketplace.directory import services as directory
from marketplace.reference import services as reference
from marketplace.reviews import services
from marketplace.web.forms import errors_by_field, form_data


def _review_from_form(data: dict[str, Any]) -> dict[str, Any]:
    def stars(field: str) -> int:
        try:
            value = int(str(data.get(field) or 0))
        except ValueError:
            value = 0
        return value

    try:
        engagement_id = uuid.UUID(str(data.get("engagement_id", "")))
    except ValueError:
        raise Invalid.field("engagement_id", "Choose the engagement you are reviewing.") from None
    return {
        "engagement_id": engagement_id,
        "rating": stars("rating"),
        "ratings": {k: stars(k) for k in services.SUB_RATINGS},
        "text": str(data.get("text", ""))[:5000],
    }


def _check_stars(review: dict[str, Any]) -> None:
    for field, value in [("rating", review["rating"]), *review["ratings"].items()]:
        if not 1 <= value <= 5:
            raise Invalid.field(field, "Give 1 to 5 stars.")


class ReviewPages(Controller):
    include_in_schema = False

    async def _public(
        self,
        slug: str,
        principal: Principal | None,
        errors: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Template:
        body = await directory.get_body_detail(slug)
        reviews = await services.list_reviews(body["id"], PageParams.of(1, 50))
        reviewable = (
            await services.reviewable_engagements(principal, body["id"]) if principal else []
        )
        return Template(
            "directory/body_public.html",
            context={
                "body": body,
                "reviews": reviews,
                "reviewable": reviewable,
                "errors": errors or {},
                "sector_names": {s.code: s.name for s in await reference.list_iaf_sectors()},
                "service_names": {s.code: s.name for s in await reference.list_support_services()},
            },
            status_code=status_code,
        )

    @get("/bodies/{slug:str}")
    async def public(self, request: Request[Any, Any, Any], slug: str) -> Template:
        return await self._public(slug, current_principal(request))

    @post("/bodies/{slug:str}/reviews", guards=[requires_login])
    async def write(self, request: Request[Any, Any, Any], slug: str) -> Response[Any]:
        principal = me(request)
        body = await directory.get_body(slug)
        try:
            review = _review_from_form(await form_data(request))
            _check_stars(review)
            await services.write_review(principal, body["id"], review)
        except DomainError as exc:
            return await self._public(slug, principal, errors_by_field(exc), exc.status_code)
        return Redirect(f"/bodies/{body['slug']}#reviews")
