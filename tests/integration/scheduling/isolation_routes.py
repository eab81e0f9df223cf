"""Isolation rows for every scheduling route: objects are created inside tenant a by `setup`."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Awaitable, Callable
from typing import Any

from marketplace.core import clock
from marketplace.scheduling.auditors import set_settings
from marketplace.scheduling.booking import TeamMember, confirm_audit, propose_audit
from marketplace.scheduling.slots import request_booking
from tests.factories.scheduling import at, auditor, engagement
from tests.integration.isolation_matrix import BODY_ALL, ORG_ALL, Route

# Filled by each setup so that request bodies (built after it) can name the objects it made.
_MADE: dict[str, Any] = {}
_COUNTER = itertools.count()

PLANNERS = {
    "body:owner": 200,
    "body:scheduler": 200,
    "body:auditor": 403,
    "body:decision_maker": 403,
    "body:finance": 403,
}
CLIENT_ROLES_403 = {"org:owner": 403, "org:quality_manager": 403, "org:member": 403}
BODY_ROLES_403 = {k: 403 for k in PLANNERS}
BOOKERS = {"org:owner": 200, "org:quality_manager": 200, "org:member": 403}


def _created(statuses: dict[str, int]) -> dict[str, int]:
    return {k: 201 if v == 200 else v for k, v in statuses.items()}


def _day() -> str:
    day = clock.today() + dt.timedelta(days=7)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day.isoformat()


def _setup(stage: str) -> Callable[[Any], Awaitable[dict[str, Any]]]:
    async def setup(world: Any) -> dict[str, Any]:
        started = await engagement(world.a.org_id, world.a.body_id, start=clock.today())
        lead = await auditor(world.a.body_id)
        audit_id = started.audit_ids["stage1"]
        _MADE.update(org=world.a.org_id, lead=lead)
        await set_settings(None, world.a.body_id, True)
        day = _day()
        if stage in ("proposed", "confirmed"):
            await propose_audit(
                audit_id,
                None,
                starts_at=dt.datetime.fromisoformat(at(day, 9)),
                ends_at=dt.datetime.fromisoformat(at(day, 17)),
                time_zone="Europe/London",
                team=[TeamMember(lead, "lead")],
            )
        if stage == "confirmed":
            await confirm_audit(audit_id, None)
        if stage == "requested":
            await request_booking(
                audit_id,
                None,
                dt.datetime.fromisoformat(at(day, 9)),
                dt.datetime.fromisoformat(at(day, 17)),
            )
        return {"audit": audit_id, "cycle": started.cycle_id, "auditor": lead}

    return setup


def _new_auditor() -> dict[str, Any]:
    return {
        "name": "New Auditor",
        "email": f"new{next(_COUNTER)}@auditors.test",
        "time_zone": "Europe/London",
        "lead": True,
        "qualifications": [{"standard": "ISO 9001:2015", "iaf_sector": 28}],
    }


def _team() -> dict[str, Any]:
    day = _day()
    return {
        "starts_at": at(day, 10),
        "ends_at": at(day, 16),
        "time_zone": "Europe/London",
        "team": [{"auditor_id": str(_MADE["lead"]), "role": "lead"}],
    }


def _slot() -> dict[str, Any]:
    day = _day()
    return {"starts_at": at(day, 9), "ends_at": at(day, 17)}


def _move() -> dict[str, Any]:
    day = _day()
    return {"starts_at": at(day, 11), "ends_at": at(day, 15), "reason": "Moved"}


SHARED_READ = {**ORG_ALL, **BODY_ALL}

ROUTES: list[Route] = [
    Route("POST", "/api/v1/bodies/{body}/auditors", _created(PLANNERS), body=_new_auditor),
    Route("GET", "/api/v1/bodies/{body}/auditors", BODY_ALL),
    Route("GET", "/api/v1/bodies/{body}/audits", BODY_ALL, setup=_setup("proposed")),
    Route("GET", "/api/v1/bodies/{body}/scheduling-settings", BODY_ALL),
    Route(
        "PUT",
        "/api/v1/bodies/{body}/scheduling-settings",
        {**BODY_ROLES_403, "body:owner": 200},
        body={"self_service_booking": True},
    ),
    Route("GET", "/api/v1/auditors/{auditor}", BODY_ALL, setup=_setup("audit")),
    Route(
        "POST",
        "/api/v1/auditors/{auditor}/unavailability",
        _created(PLANNERS),
        body={
            "starts_at": "2030-01-07T00:00:00Z",
            "ends_at": "2030-01-08T00:00:00Z",
            "reason": "Leave",
        },
        setup=_setup("audit"),
    ),
    Route(
        "POST",
        "/api/v1/auditors/{auditor}/consultancy",
        _created(PLANNERS),
        body=lambda: {"organisation_id": str(_MADE["org"]), "ended_on": "2024-01-31"},
        setup=_setup("audit"),
    ),
    Route(
        "POST",
        "/api/v1/auditors/{auditor}/qualifications",
        _created(PLANNERS),
        body={"standard": "ISO 14001:2015", "iaf_sector": 28},
        setup=_setup("audit"),
    ),
    Route("GET", "/api/v1/cycles/{cycle}", SHARED_READ, setup=_setup("audit")),
    Route("GET", "/api/v1/audits/{audit}", SHARED_READ, setup=_setup("proposed")),
    Route(
        "GET", "/api/v1/audits/{audit}/slots?days=1", {**PLANNERS, **BOOKERS}, setup=_setup("audit")
    ),
    Route(
        "POST",
        "/api/v1/audits/{audit}/proposal",
        {**PLANNERS, **CLIENT_ROLES_403},
        body=_team,
        setup=_setup("audit"),
    ),
    Route(
        "POST",
        "/api/v1/audits/{audit}/booking-request",
        {**_created(BOOKERS), **BODY_ROLES_403},
        body=_slot,
        setup=_setup("audit"),
    ),
    Route(
        "POST",
        "/api/v1/audits/{audit}/booking-request/decline",
        {**PLANNERS, **CLIENT_ROLES_403},
        body={"reason": "Fully booked"},
        setup=_setup("requested"),
    ),
    Route(
        "POST",
        "/api/v1/audits/{audit}/confirm",
        {**BOOKERS, **BODY_ROLES_403},
        setup=_setup("proposed"),
    ),
    Route(
        "POST",
        "/api/v1/audits/{audit}/reschedule",
        {**BOOKERS, **PLANNERS},
        body=_move,
        setup=_setup("confirmed"),
    ),
    Route(
        "POST",
        "/api/v1/audits/{audit}/cancel",
        {**PLANNERS, **CLIENT_ROLES_403},
        body={"reason": "Client withdrew"},
        setup=_setup("confirmed"),
    ),
    Route(
        "POST",
        "/api/v1/audits/{audit}/complete",
        {**PLANNERS, "body:auditor": 200, **CLIENT_ROLES_403},
        setup=_setup("confirmed"),
    ),
    # Pages: other tenants' pages are 404; anonymous browsers go to /login.
    Route("GET", "/manage/bodies/{body}/planning", BODY_ALL, anonymous=302),
    Route("GET", "/manage/bodies/{body}/auditors", BODY_ALL, anonymous=302),
    Route(
        "GET",
        "/manage/bodies/{body}/auditors/{auditor}/agenda",
        BODY_ALL,
        anonymous=302,
        setup=_setup("proposed"),
    ),
    Route(
        "GET",
        "/organisations/{org}/audit-programme",
        ORG_ALL,
        anonymous=302,
        setup=_setup("proposed"),
    ),
    Route("GET", "/audits/{audit}", SHARED_READ, anonymous=302, setup=_setup("proposed")),
]
