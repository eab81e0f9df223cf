"""The platform administrator's home: queues to work through and the platform's health."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from marketplace.accounts.tables import CertificationBody, Organisation, User
from marketplace.core import clock, db
from marketplace.core.pagination import Page, PageParams
from marketplace.core.tables import ActivityLog
from marketplace.dashboards.schemas import AdminDashboard, Health, Metric, RecentReview, RecentUser
from marketplace.dashboards.sql import raw
from marketplace.directory.tables import Accreditation
from marketplace.reviews.tables import Review

NEW_REVIEW_DAYS = 14
SIGNUP_DAYS = 7


async def admin_dashboard() -> AdminDashboard:
    """Accreditations to verify, new reviews and sign-ups; database reach and row counts."""
    review_since = review_window()
    signup_since = signup_window()
    return AdminDashboard(
        queues=[
            Metric(
                "accreditations_pending",
                "Accreditations to verify",
                await Accreditation.count().where(Accreditation.status == "pending").run(),
                "/admin/accreditations",
                "/api/v1/admin/accreditations?status=pending",
            ),
            Metric(
                "reviews_to_moderate",
                f"Reviews published in the last {NEW_REVIEW_DAYS} days",
                await Review.count().where(review_where(review_since)).run(),
                f"/admin/reviews?since={review_since}",
                f"/api/v1/admin/reviews?since={review_since}",
            ),
            Metric(
                "signups",
                f"Sign-ups in the last {SIGNUP_DAYS} days",
                await User.count().where(signup_where(signup_since)).run(),
                f"/admin/users?since={signup_since}",
                f"/api/v1/admin/users?since={signup_since}",
            ),
        ],
        health=await _health(),
    )


async def _health() -> Health:
    started = time.perf_counter()
    await raw("SELECT 1 AS ok")
    db_ms = round((time.perf_counter() - started) * 1000, 1)
    last = (
        await ActivityLog.select(ActivityLog.created_at)
        .order_by(ActivityLog.created_at, ascending=False)
        .first()
        .run()
    )
    return Health(
        database="postgresql" if db.is_postgres() else "sqlite",
        database_ms=db_ms,
        users=await User.count().run(),
        organisations=await Organisation.count().run(),
        bodies=await CertificationBody.count().run(),
        last_activity_at=(last or {}).get("created_at"),
    )


def review_where(since: dt.date) -> Any:
    start = dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC)
    return (Review.status == "published") & (Review.created_at >= start)


def signup_where(since: dt.date) -> Any:
    return User.created_at >= dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC)


def review_window(since: dt.date | None = None) -> dt.date:
    """The first day of the review queue: `since`, or the admin home's window."""
    return since or clock.today() - dt.timedelta(days=NEW_REVIEW_DAYS)


def signup_window(since: dt.date | None = None) -> dt.date:
    """The first day of the sign-up queue: `since`, or the admin home's window."""
    return since or clock.today() - dt.timedelta(days=SIGNUP_DAYS)


async def recent_reviews(since: dt.date | None, params: PageParams) -> Page[RecentReview]:
    """Reviews published since a date (by default the home's window), newest first."""
    where = review_where(review_window(since))
    rows: list[dict[str, Any]] = (
        await Review.select(
            Review.id,
            Review.rating,
            Review.text,
            Review.created_at,
            Review.body._.name.as_alias("body_name"),
            Review.body._.slug.as_alias("body_slug"),
            Review.organisation._.name.as_alias("organisation_name"),
        )
        .where(where)
        .order_by(Review.created_at, ascending=False)
        .limit(params.per_page)
        .offset(params.offset)
        .run()
    )
    total = await Review.count().where(where).run()
    items = [RecentReview(**r) for r in rows]
    return Page(items=items, total=total, page=params.page, per_page=params.per_page)


async def recent_users(since: dt.date | None, params: PageParams) -> Page[RecentUser]:
    """Accounts created since a date (by default the home's window), newest first."""
    where = signup_where(signup_window(since))
    rows: list[dict[str, Any]] = (
        await User.select(User.id, User.name, User.email, User.created_at, User.is_active)
        .where(where)
        .order_by(User.created_at, ascending=False)
        .limit(params.per_page)
        .offset(params.offset)
        .run()
    )
    total = await User.count().where(where).run()
    items = [RecentUser(**r) for r in rows]
    return Page(items=items, total=total, page=params.page, per_page=params.per_page)
