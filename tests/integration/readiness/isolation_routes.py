"""Isolation rows for every readiness route: assessments, documents and shares made in tenant a by `setup`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from marketplace.core import clock
from marketplace.readiness.assessments import create_action_from_gap, create_assessment
from marketplace.readiness.documents import new_version
from marketplace.readiness.internal_audits import (
    add_internal_finding,
    create_internal_audit,
    share_internal_audit,
)
from marketplace.readiness.tables import GapItem
from tests.factories.findings import draft_report
from tests.factories.readiness import approved_document, shared_document
from tests.factories.scheduling import engagement
from tests.integration.isolation_matrix import ORG_ALL, Route

EDITORS = {"org:owner": 200, "org:quality_manager": 200, "org:member": 403}
READERS = {f"body:{r}": 200 for r in ("owner", "scheduler", "auditor", "decision_maker")}
BODY_READERS = {**READERS, "body:finance": 403}
COMMENTERS = {**BODY_READERS, "body:decision_maker": 403}
REPORT_WRITERS = {**COMMENTERS}
ORG_403 = {"org:owner": 403, "org:quality_manager": 403, "org:member": 403}
# Some request bodies name ids made by `setup`; the harness resolves the path (running setup)
# before it asks for the body, so setup leaves them here for the body builders below.
_MADE: dict[str, Any] = {}


def _created(statuses: dict[str, int]) -> dict[str, int]:
    return {k: 201 if v == 200 else v for k, v in statuses.items()}


def _status(statuses: dict[str, int], ok: int) -> dict[str, int]:
    return {k: ok if v == 200 else v for k, v in statuses.items()}


async def _assessment(world: Any) -> dict[str, Any]:
    aid = await create_assessment(None, world.a.org_id, "ISO 9001:2015")
    item = (
        await GapItem.select(GapItem.id)
        .where((GapItem.assessment == aid) & (GapItem.clause == "5.1"))
        .first()
        .run()
    )
    assert item is not None
    return {"assessment": aid, "item": item["id"]}


async def _action(world: Any) -> dict[str, Any]:
    ids = await _assessment(world)
    action = await create_action_from_gap(None, world.a.org_id, ids["item"], {})
    return {**ids, "action": action}


async def _document(world: Any) -> dict[str, Any]:
    doc, version = await approved_document(world.a.org_id)
    return {"doc": doc, "version": version}


async def _draft(world: Any) -> dict[str, Any]:
    ids = await _document(world)
    draft = await new_version(None, ids["doc"], "Revision 2")
    return {**ids, "draft": draft}


async def _shared(world: Any) -> dict[str, Any]:
    made = await shared_document(world.a.org_id, world.a.body_id)
    _MADE.update(made)
    return made


async def _engaged_document(world: Any) -> dict[str, Any]:
    await engagement(world.a.org_id, world.a.body_id)
    made = await _document(world)
    _MADE.update(made, body=world.a.body_id)
    return made


def _share_body() -> dict[str, Any]:
    return {"body_id": str(_MADE["body"]), "document_ids": [str(_MADE["doc"])]}


def _comment_body() -> dict[str, Any]:
    return {"version_id": str(_MADE["version"]), "text": "Retention period not stated."}


async def _internal(world: Any) -> dict[str, Any]:
    audit = await create_internal_audit(
        None,
        world.a.org_id,
        {
            "scope": "All",
            "clauses": ["4", "5"],
            "auditor_name": "Pat",
            "planned_on": clock.today() - dt.timedelta(days=3),
        },
    )
    finding = await add_internal_finding(None, audit, {"grade": "minor", "clause": "5.2"})
    return {"ia": audit, "finding": finding}


async def _shared_internal(world: Any) -> dict[str, Any]:
    ids = await _internal(world)
    await engagement(world.a.org_id, world.a.body_id)
    await share_internal_audit(None, ids["ia"], world.a.body_id)
    return ids


async def _stage1_report(world: Any) -> dict[str, Any]:
    _made, report = await draft_report(world.a.org_id, world.a.body_id, stage="stage1")
    return {"report": report}


ORG = "/api/v1/organisations/{org}"
BODY = "/api/v1/bodies/{body}"

ROUTES: list[Route] = [
    Route("GET", f"{ORG}/readiness", ORG_ALL),
    Route(
        "POST",
        f"{ORG}/readiness/assessments",
        _created(EDITORS),
        body={"standard": "ISO 14001:2015"},
    ),
    Route("GET", f"{ORG}/readiness/assessments/{{assessment}}", ORG_ALL, setup=_assessment),
    Route(
        "PATCH",
        f"{ORG}/readiness/items/{{item}}",
        EDITORS,
        body={"rating": "partly"},
        setup=_assessment,
    ),
    Route(
        "POST",
        f"{ORG}/readiness/items/{{item}}/action",
        _created(EDITORS),
        body={},
        setup=_assessment,
    ),
    Route("GET", f"{ORG}/readiness/actions", ORG_ALL, setup=_action),
    Route("POST", f"{ORG}/readiness/actions/{{action}}/done", EDITORS, setup=_action),
    Route("GET", f"{ORG}/documents", ORG_ALL, setup=_document),
    Route(
        "POST",
        f"{ORG}/documents",
        _created(EDITORS),
        body={"code": "WI-9", "title": "Packing", "doc_type": "work_instruction"},
    ),
    Route("GET", f"{ORG}/documents/{{doc}}", ORG_ALL, setup=_document),
    Route("PATCH", f"{ORG}/documents/{{doc}}", EDITORS, body={"title": "New"}, setup=_document),
    Route("GET", f"{ORG}/documents/{{doc}}/access-log", EDITORS, setup=_document),
    Route(
        "POST",
        f"{ORG}/documents/{{doc}}/versions",
        _created(EDITORS),
        body={"change_summary": "Revision"},
        setup=_document,
    ),
    Route(
        "PATCH",
        f"{ORG}/documents/{{doc}}/versions/{{draft}}",
        EDITORS,
        body={"change_summary": "Edited"},
        setup=_draft,
    ),
    Route("GET", f"{ORG}/documents/{{doc}}/versions/{{version}}/file", ORG_ALL, setup=_document),
    # The approve route is checked for roles on a draft without a file: editors reach the rule (409).
    Route(
        "POST",
        f"{ORG}/documents/{{doc}}/versions/{{draft}}/approve",
        _status(EDITORS, 409),
        setup=_draft,
    ),
    Route("GET", f"{ORG}/document-shares", ORG_ALL, setup=_shared),
    Route(
        "POST",
        f"{ORG}/document-shares",
        _created(EDITORS),
        body=_share_body,
        setup=_engaged_document,
    ),
    Route("DELETE", f"{ORG}/document-shares/{{share}}", _status(EDITORS, 204), setup=_shared),
    Route("GET", f"{BODY}/shared-documents", BODY_READERS, setup=_shared),
    Route("GET", f"{BODY}/shared-documents/{{doc}}", BODY_READERS, setup=_shared),
    Route(
        "GET",
        f"{BODY}/shared-documents/{{doc}}/versions/{{version}}/file",
        BODY_READERS,
        setup=_shared,
    ),
    Route(
        "POST",
        f"{BODY}/shared-documents/{{doc}}/comments",
        _created(COMMENTERS),
        body=_comment_body,
        setup=_shared,
    ),
    Route("GET", f"{ORG}/internal-audits", ORG_ALL, setup=_internal),
    Route(
        "POST",
        f"{ORG}/internal-audits",
        _created(EDITORS),
        body={
            "scope": "Sales",
            "clauses": ["8.2"],
            "auditor_name": "Sam",
            "planned_on": "2026-01-05",
        },
    ),
    Route("GET", f"{ORG}/internal-audits/{{ia}}", ORG_ALL, setup=_internal),
    Route("POST", f"{ORG}/internal-audits/{{ia}}/complete", EDITORS, body={}, setup=_internal),
    Route(
        "POST",
        f"{ORG}/internal-audits/{{ia}}/share",
        _status(EDITORS, 200),
        body={"body_id": None},
        setup=_shared_internal,
    ),
    Route(
        "POST",
        f"{ORG}/internal-audits/{{ia}}/findings",
        _created(EDITORS),
        body={"grade": "ofi", "clause": "7.4"},
        setup=_internal,
    ),
    Route(
        "PATCH",
        f"{ORG}/internal-findings/{{finding}}",
        EDITORS,
        body={"correction": "Done"},
        setup=_internal,
    ),
    Route(
        "POST",
        f"{ORG}/internal-findings/{{finding}}/steps",
        _status(EDITORS, 409),
        body={"step": "submit"},
        setup=_internal,
    ),
    Route("GET", f"{ORG}/management-reviews", ORG_ALL),
    Route(
        "POST",
        f"{ORG}/management-reviews",
        _created(EDITORS),
        body={"held_on": "2026-01-05", "attendees": "Board"},
    ),
    Route("GET", f"{BODY}/shared-internal-audits", BODY_READERS, setup=_shared_internal),
    Route("GET", f"{BODY}/shared-internal-audits/{{ia}}", BODY_READERS, setup=_shared_internal),
    # Stage 1 references: the report's parties; the client reads only issued reports (draft: 404).
    Route(
        "GET",
        "/api/v1/reports/{report}/references",
        {
            **{
                f"body:{r}": 200
                for r in ("owner", "scheduler", "auditor", "decision_maker", "finance")
            }
        },
        setup=_stage1_report,
    ),
    Route(
        "POST",
        "/api/v1/reports/{report}/references",
        {**_created(REPORT_WRITERS), "body:decision_maker": 403, **ORG_403},
        body={"clause": "7.5", "note": "Reviewed"},
        setup=_stage1_report,
    ),
    # Pages: the same rules; anonymous browsers are sent to /login.
    Route("GET", "/organisations/{org}/readiness", ORG_ALL, anonymous=302),
    Route(
        "GET",
        "/organisations/{org}/readiness/assessments/{assessment}",
        ORG_ALL,
        anonymous=302,
        setup=_assessment,
    ),
    Route("GET", "/organisations/{org}/readiness/actions", ORG_ALL, anonymous=302, setup=_action),
    Route("GET", "/organisations/{org}/documents", ORG_ALL, anonymous=302, setup=_shared),
    Route("GET", "/organisations/{org}/documents/{doc}", ORG_ALL, anonymous=302, setup=_shared),
    Route(
        "GET",
        "/organisations/{org}/documents/{doc}/versions/{version}/file",
        ORG_ALL,
        anonymous=302,
        setup=_document,
    ),
    Route("GET", "/organisations/{org}/internal-audits", ORG_ALL, anonymous=302, setup=_internal),
    Route(
        "GET", "/organisations/{org}/internal-audits/{ia}", ORG_ALL, anonymous=302, setup=_internal
    ),
    Route(
        "GET",
        "/organisations/{org}/internal-findings/{finding}",
        ORG_ALL,
        anonymous=302,
        setup=_internal,
    ),
    Route("GET", "/organisations/{org}/management-reviews", ORG_ALL, anonymous=302),
    Route(
        "GET", "/manage/bodies/{body}/shared-documents", BODY_READERS, anonymous=302, setup=_shared
    ),
    Route(
        "GET",
        "/manage/bodies/{body}/shared-documents/{doc}",
        BODY_READERS,
        anonymous=302,
        setup=_shared,
    ),
    Route(
        "GET",
        "/manage/bodies/{body}/shared-documents/{doc}/versions/{version}/file",
        BODY_READERS,
        anonymous=302,
        setup=_shared,
    ),
    Route(
        "GET",
        "/manage/bodies/{body}/shared-internal-audits/{ia}",
        BODY_READERS,
        anonymous=302,
        setup=_shared_internal,
    ),
    Route(
        "GET",
        "/reports/{report}/references",
        {f"body:{r}": 200 for r in ("owner", "scheduler", "auditor", "decision_maker", "finance")},
        anonymous=302,
        setup=_stage1_report,
    ),
]
