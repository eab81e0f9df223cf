"""Isolation rows for every findings route: reports and corrective actions made in tenant a by `setup`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from marketplace.core import clock
from marketplace.findings.evidence import add_evidence
from marketplace.findings.tables import CorrectiveAction
from tests.factories.findings import answered, draft_report, finding, issued_report
from tests.factories.scheduling import engagement
from tests.integration.isolation_matrix import BODY_ALL, ORG_ALL, Route

WRITERS = {
    "body:owner": 200,
    "body:scheduler": 200,
    "body:auditor": 200,
    "body:decision_maker": 403,
    "body:finance": 403,
}
ORG_403 = {"org:owner": 403, "org:quality_manager": 403, "org:member": 403}
BODY_403 = {k: 403 for k in WRITERS}
ANSWERERS = {"org:owner": 200, "org:quality_manager": 200, "org:member": 403, **BODY_403}
OWNER_ONLY = {**BODY_403, "body:owner": 200}


def _created(statuses: dict[str, int]) -> dict[str, int]:
    return {k: 201 if v == 200 else v for k, v in statuses.items()}


async def _completed_audit(world: Any) -> dict[str, Any]:
    made = await engagement(world.a.org_id, world.a.body_id, held=2)
    return {"audit": made.audit_ids["stage2"]}


async def _draft(world: Any) -> dict[str, Any]:
    _made, report = await draft_report(world.a.org_id, world.a.body_id, ("minor",))
    return {"report": report}


async def _issued(world: Any) -> dict[str, Any]:
    _made, report, actions = await issued_report(
        world.a.org_id, world.a.body_id, ("major", "minor")
    )
    return {"report": report, "ca": actions["major"], "minor": actions["minor"]}


def _action_in(status: str) -> Callable[[Any], Awaitable[dict[str, Any]]]:
    async def setup(world: Any) -> dict[str, Any]:
        ids = await _issued(world)
        await answered(ids["ca"], status)
        return ids

    return setup


async def _overdue_minor(world: Any) -> dict[str, Any]:
    ids = await _issued(world)
    await (
        CorrectiveAction.update({CorrectiveAction.due_on: clock.today() - dt.timedelta(days=1)})
        .where(CorrectiveAction.id == ids["minor"])
        .run()
    )
    return ids


async def _evidence(world: Any) -> dict[str, Any]:
    ids = await _issued(world)
    row = await add_evidence(None, ids["ca"], b"%PDF-1.4\n%%EOF\n", "record.pdf")
    return {**ids, "evidence": row["id"]}


ROUTES: list[Route] = [
    Route(
        "POST",
        "/api/v1/audits/{audit}/report",
        {**_created(WRITERS), **ORG_403},
        body={"summary": "Stage 2", "findings": [finding("minor")]},
        setup=_completed_audit,
    ),
    Route("GET", "/api/v1/reports/{report}", {**ORG_ALL, **BODY_ALL}, setup=_issued),
    Route(
        "PATCH",
        "/api/v1/reports/{report}",
        {**WRITERS, **ORG_403},
        body={"summary": "Edited"},
        setup=_draft,
    ),
    Route("POST", "/api/v1/reports/{report}/issue", {**WRITERS, **ORG_403}, setup=_draft),
    Route(
        "POST",
        "/api/v1/reports/{report}/amend",
        {**_created(WRITERS), **ORG_403},
        body={"reason": "Correct a clause"},
        setup=_issued,
    ),
    # The tracker is the client's: the body's members reach it only through the body's own list.
    Route("GET", "/api/v1/organisations/{org}/corrective-actions", ORG_ALL, setup=_issued),
    Route("GET", "/api/v1/bodies/{body}/corrective-actions", BODY_ALL, setup=_issued),
    Route("GET", "/api/v1/bodies/{body}/finding-policy", BODY_ALL),
    Route(
        "PUT",
        "/api/v1/bodies/{body}/finding-policy",
        OWNER_ONLY,
        body={"major_response_days": 60, "minor_plan_days": 20},
    ),
    Route("GET", "/api/v1/corrective-actions/{ca}", {**ORG_ALL, **BODY_ALL}, setup=_issued),
    Route(
        "PATCH",
        "/api/v1/corrective-actions/{ca}",
        ANSWERERS,
        body={"correction": "Contained"},
        setup=_issued,
    ),
    Route("POST", "/api/v1/corrective-actions/{ca}/submit", ANSWERERS, setup=_action_in("open")),
    Route(
        "POST",
        "/api/v1/corrective-actions/{ca}/review",
        {**WRITERS, **ORG_403},
        body={"decision": "accept", "comment": "Fine"},
        setup=_action_in("submitted"),
    ),
    Route(
        "POST",
        "/api/v1/corrective-actions/{ca}/verify",
        {**WRITERS, **ORG_403},
        body={"effective": True, "comment": "Seen"},
        setup=_action_in("accepted"),
    ),
    Route(
        "POST",
        "/api/v1/corrective-actions/{minor}/escalate",
        {**WRITERS, **ORG_403},
        body={"reason": "No plan"},
        setup=_overdue_minor,
    ),
    Route("GET", "/api/v1/evidence/{evidence}", {**ORG_ALL, **BODY_ALL}, setup=_evidence),
    # Pages: the same rule; anonymous browsers are sent to /login.
    Route("GET", "/reports/{report}", {**ORG_ALL, **BODY_ALL}, anonymous=302, setup=_issued),
    Route("GET", "/reports/{report}/print", {**ORG_ALL, **BODY_ALL}, anonymous=302, setup=_issued),
    Route("GET", "/organisations/{org}/corrective-actions", ORG_ALL, anonymous=302, setup=_issued),
    Route("GET", "/corrective-actions/{ca}", {**ORG_ALL, **BODY_ALL}, anonymous=302, setup=_issued),
    Route("GET", "/evidence/{evidence}", {**ORG_ALL, **BODY_ALL}, anonymous=302, setup=_evidence),
]
