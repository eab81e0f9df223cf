"""Review services: who may review, the body's one reply, moderation, and the rating summary."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from marketplace.accounts.guards import Principal, require_role
from marketplace.accounts.roles import TenantKind
from marketplace.accounts.tables import CertificationBody
from marketplace.core import clock
from marketplace.core.activity import Tenant, log_action
from marketplace.core.db import write_transaction
from marketplace.core.errors import Conflict, Forbidden, NotFound
from marketplace.core.pagination import Page, PageParams
from marketplace.directory import services as directory_services
from marketplace.directory.tables import BodyRating
from marketplace.reviews.schemas import ReviewableEngagement, ReviewOut
from marketplace.reviews.tables import Review
from marketplace.scheduling.engagements import has_completed_audit
from marketplace.scheduling.tables import Engagement

# Client roles that speak for the organisation in public.
REVIEWER_ROLES = frozenset({"owner", "quality_manager"})
# Body roles that may answer a review on the body's behalf.
REPLY_ROLES = frozenset({"owner", "scheduler"})
SUB_RATINGS = ("competence", "communication", "value", "punctuality")


async def refresh_rating(body_id: uuid.UUID) -> None:
    """Rewrite the body's rating summary from its published reviews (hidden ones do not count).

    Recomputed from the reviews rather than incremented, so it can never drift; call it inside
    the transaction that changed a review.
    """
    rows = await Review.raw(
        "SELECT COUNT(*) AS n, COALESCE(SUM(rating), 0) AS total,"
        " COALESCE(SUM(competence), 0) AS competence,"
        " COALESCE(SUM(communication), 0) AS communication,"
        " COALESCE(SUM(value), 0) AS value, COALESCE(SUM(punctuality), 0) AS punctuality,"
        " SUM(CASE WHEN rating = 1 THEN 1 ELSE 0 END) AS s1,"
        " SUM(CASE WHEN rating = 2 THEN 1 ELSE 0 END) AS s2,"
        " SUM(CASE WHEN rating = 3 THEN 1 ELSE 0 END) AS s3,"
        " SUM(CASE WHEN rating = 4 THEN 1 ELSE 0 END) AS s4,"
        " SUM(CASE WHEN rating = 5 THEN 1 ELSE 0 END) AS s5"
        " FROM review WHERE body = {} AND status = 'published'",
        body_id,
    ).run()
    r = rows[0]
    n = int(r["n"])
    values: dict[str, Any] = {
        "review_count": n,
        "rating_sum": int(r["total"]),
        "mean": int(r["total"]) / n if n else 0.0,
        **{f"stars_{k}": int(r[f"s{k}"] or 0) for k in range(1, 6)},
        **{f"{k}_sum": int(r[k]) for k in SUB_RATINGS},
        "updated_at": clock.now(),
    }
    exists = await BodyRating.exists().where(BodyRating.body == body_id).run()
    if exists:
        await (
            BodyRating.update(
                {BodyRating._meta.get_column_by_name(k): v for k, v in values.items()}
            )
            .where(BodyRating.body == body_id)
            .run()
        )
    else:
        await BodyRating.insert(BodyRating(body=body_id, **values)).run()


async def _body_exists(body_id: uuid.UUID) -> None:
    if not await CertificationBody.exists().where(CertificationBody.id == body_id).run():
        raise NotFound("No such certification body.")


async def write_review(principal: Principal, body_id: uuid.UUID, data: dict[str, Any]) -> uuid.UUID:
    """A client reviews a body for one engagement.

    Only an owner or quality manager of the engagement's organisation, only when that engagement
    with this body has a completed audit (403 `no_completed_audit`), and once per engagement
    (409 `already_reviewed`). The body's rating summary is rewritten in the same transaction.
    """
    await _body_exists(body_id)
    engagement_id = data["engagement_id"]
    rows = (
        await Engagement.select(Engagement.organisation).where(Engagement.id == engagement_id).run()
    )
    if not rows:
        raise NotFound("No such engagement.")
    organisation_id = rows[0]["organisation"]
    require_role(
        principal,
        TenantKind.organisation,
        organisation_id,
        REVIEWER_ROLES,
        what="No such engagement.",
    )
    if not await has_completed_audit(organisation_id, body_id, engagement_id):
        raise Forbidden(
            "Only a client with a completed audit by this body may review it.",
            code="no_completed_audit",
        )
    async with write_transaction():
        if await Review.exists().where(Review.engagement == engagement_id).run():
            raise Conflict("This engagement has already been reviewed.", code="already_reviewed")
        ratings = data["ratings"]
        review = Review(
            body=body_id,
            organisation=organisation_id,
            engagement=engagement_id,
            author=principal.user_id,
            rating=data["rating"],
            text=data.get("text", ""),
            **{k: ratings[k] for k in SUB_RATINGS},
        )
        try:
            await review.save().run()
        except Exception as exc:
            # A concurrent review of the same engagement lost the race on PostgreSQL, where
            # the unique index, not the check above, is the last word.
            if "unique" in str(exc).lower():
                raise Conflict(
                    "This engagement has already been reviewed.", code="already_reviewed"
                ) from exc
            raise
        await refresh_rating(body_id)
        await log_action(
            "marketplace.review.written",
            actor_id=principal.user_id,
            entity_type="review",
            entity_id=review.id,
            tenant=Tenant("body", body_id),
            data={"rating": data["rating"], "organisation_id": str(organisation_id)},
        )
    directory_services.search_changed()
    return review.id


async def _load(review_id: uuid.UUID) -> dict[str, Any]:
    rows = await Review.select().where(Review.id == review_id).run()
    if not rows:
        raise NotFound("No such review.")
    row: dict[str, Any] = rows[0]
    return row


async def reply(principal: Principal, review_id: uuid.UUID, text: str) -> None:
    """The reviewed body answers a review, once (409 `already_replied`)."""
    review = await _load(review_id)
    require_role(principal, TenantKind.body, review["body"], REPLY_ROLES, what="No such review.")
    async with write_transaction():
        updated = (
            await Review.update(
                {
                    Review.reply: text,
                    Review.replied_at: clock.now(),
                    Review.replied_by: principal.user_id,
                }
            )
            .where((Review.id == review_id) & (Review.replied_at.is_null()))
            .returning(Review.id)
            .run()
        )
        if not updated:
            raise Conflict("The body has already replied to this review.", code="already_replied")
        await log_action(
            "marketplace.review.replied",
            actor_id=principal.user_id,
            entity_type="review",
            entity_id=review_id,
            tenant=Tenant("body", review["body"]),
        )


async def moderate(actor_id: uuid.UUID, review_id: uuid.UUID, hide: bool, reason: str = "") -> None:
    """A platform administrator hides an abusive review (or shows it again); ratings follow."""
    review = await _load(review_id)
    async with write_transaction():
        await (
            Review.update(
                {
                    Review.status: "hidden" if hide else "published",
                    Review.hidden_reason: reason if hide else "",
                    Review.hidden_by: actor_id if hide else None,
                }
            )
            .where(Review.id == review_id)
            .run()
        )
        await refresh_rating(review["body"])
        await log_action(
            f"marketplace.review.{'hidden' if hide else 'shown'}",
            actor_id=actor_id,
            entity_type="review",
            entity_id=review_id,
            tenant=Tenant("body", review["body"]),
            data={"reason": reason},
        )
    directory_services.search_changed()


def _out(r: dict[str, Any]) -> ReviewOut:
    return msgspec.convert(
        {
            "id": r["id"],
            "body_id": r["body"],
            "organisation_id": r["organisation"],
            "organisation_name": r.get("organisation_name") or "",
            "engagement_id": r["engagement"],
            "rating": r["rating"],
            "ratings": {k: r[k] for k in SUB_RATINGS},
            "text": r["text"],
            "status": r["status"],
            "reply": r["reply"],
            "replied_at": r["replied_at"],
            "created_at": r["created_at"],
        },
        ReviewOut,
        strict=False,
    )


async def get_review(review_id: uuid.UUID) -> ReviewOut:
    return _out(await _load(review_id))


async def list_reviews(body_id: uuid.UUID, params: PageParams) -> Page[ReviewOut]:
    """The body's published reviews, newest first (hidden reviews are never listed publicly)."""
    await _body_exists(body_id)
    where = (Review.body == body_id) & (Review.status == "published")
    total = await Review.count().where(where).run()
    rows = (
        await Review.select(
            *Review.all_columns(), Review.organisation.name.as_alias("organisation_name")
        )
        .where(where)
        .order_by(Review.created_at, ascending=False)
        .limit(params.per_page)
        .offset(params.offset)
        .run()
    )
    return Page(
        items=[_out(r) for r in rows], total=total, page=params.page, per_page=params.per_page
    )


async def reviewable_engagements(
    principal: Principal, body_id: uuid.UUID
) -> list[ReviewableEngagement]:
    """The caller's organisations' engagements with this body that could still be reviewed."""
    orgs = principal.tenants(TenantKind.organisation, REVIEWER_ROLES)
    if not orgs:
        return []
    rows = (
        await Engagement.select(
            Engagement.id,
            Engagement.organisation,
            Engagement.standard,
            Engagement.organisation.name.as_alias("organisation_name"),
        )
        .where((Engagement.body == body_id) & Engagement.organisation.is_in(orgs))
        .run()
    )
    reviewed = {
        r["engagement"]
        for r in await Review.select(Review.engagement)
        .where(Review.engagement.is_in([r["id"] for r in rows] or [uuid.uuid4()]))
        .run()
    }
    out = []
    for r in rows:
        if r["id"] not in reviewed and await has_completed_audit(
            r["organisation"], body_id, r["id"]
        ):
            out.append(msgspec.convert(r, ReviewableEngagement))
    return out
