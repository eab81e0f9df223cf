"""Isolation rows for every dashboards route: a client file needs an engagement in tenant a."""

from __future__ import annotations

from typing import Any

from marketplace.core import clock
from marketplace.scheduling.engagements import start_engagement
from tests.integration.isolation_matrix import BODY_ALL, ORG_ALL, Route

HOME = {**BODY_ALL, "body:auditor": 403}  # auditors have a home of their own
WRITERS = {**HOME, "body:finance": 403}
EVERYONE = {k: 200 for k in (*ORG_ALL, *BODY_ALL)}


async def _client(world: Any) -> dict[str, Any]:
    await start_engagement(
        actor_id=None,
        organisation_id=world.a.org_id,
        body_id=world.a.body_id,
        standard="ISO 9001:2015",
        iaf_sector=28,
        agreed_days={"stage1": 1},
        start=clock.today(),
    )
    return {}


def _created(statuses: dict[str, int]) -> dict[str, int]:
    return {k: 201 if v == 200 else v for k, v in statuses.items()}


ROUTES: list[Route] = [
    Route("GET", "/api/v1/bodies/{body}/dashboard", HOME),
    Route("GET", "/api/v1/bodies/{body}/clients", HOME, setup=_client),
    Route("GET", "/api/v1/bodies/{body}/clients/{org}", HOME, setup=_client),
    Route("GET", "/api/v1/bodies/{body}/clients/{org}/notes", HOME, setup=_client),
    Route(
        "POST",
        "/api/v1/bodies/{body}/clients/{org}/notes",
        _created(WRITERS),
        body={"text": "Prefers remote audits in August."},
        setup=_client,
    ),
    Route("GET", "/api/v1/organisations/{org}/dashboard", ORG_ALL),
    # The caller's own auditor records: nothing of a tenant to hide, everyone signed in gets 200.
    Route("GET", "/api/v1/me/auditor-dashboard", EVERYONE, other=200),
    Route("GET", "/api/v1/admin/dashboard", {}, other=403),
    Route("GET", "/api/v1/admin/reviews", {}, other=403),
    Route("GET", "/api/v1/admin/users", {}, other=403),
    # Pages: the same rules; anonymous browsers are sent to /login.
    Route("GET", "/manage/bodies/{body}/home", HOME, anonymous=302),
    Route("GET", "/manage/bodies/{body}/clients", HOME, anonymous=302, setup=_client),
    Route("GET", "/manage/bodies/{body}/clients/export.csv", HOME, anonymous=302, setup=_client),
    Route("GET", "/manage/bodies/{body}/clients/{org}", HOME, anonymous=302, setup=_client),
    Route("GET", "/manage/bodies/{body}/corrective-actions", BODY_ALL, anonymous=302),
    Route("GET", "/organisations/{org}/home", ORG_ALL, anonymous=302),
    Route("GET", "/me/auditor", EVERYONE, other=200, anonymous=302),
    Route("GET", "/admin/home", {}, other=403, anonymous=302),
    Route("GET", "/admin/reviews", {}, other=403, anonymous=302),
    Route("GET", "/admin/users", {}, other=403, anonymous=302),
]
