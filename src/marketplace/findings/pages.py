"""HTML pages of findings: report pages and print view, the tracker, corrective action pages."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import Provide
from litestar.response import Redirect, Template

from marketplace.accounts.guards import Principal, me, requires_login
from marketplace.core.errors import DomainError, Forbidden, Invalid, NotFound
from marketplace.findings import corrective_actions as actions
from marketplace.findings import evidence as files
from marketplace.findings import reports, tracker
from marketplace.findings.charts import trend_svg
from marketplace.findings.evidence_download import evidence_download
from marketplace.findings.schemas import (
    CorrectiveActionPatch,
    EscalateIn,
    FindingIn,
    ReportIn,
    ReportPatch,
    ReviewIn,
    VerifyIn,
)
from marketplace.web.forms import blank_to_none, convert, errors_by_field, form_data


def _back(path: str) -> Redirect:
    return Redirect(path, status_code=303)


def _texts(data: dict[str, Any]) -> dict[str, str]:
    """The report's text fields as the form sent them (a missing one is empty)."""
    return {k: str(data.get(k, "")) for k in reports.TEXT_FIELDS}


def _context(view: Any) -> dict[str, Any]:
    """A service's view dataclass as template variables, one per field."""
    return {f.name: getattr(view, f.name) for f in dataclasses.fields(view)}


def _unseen(exc: DomainError) -> bool:
    """404 and 403 answer with the error page, as on a GET; other refusals re-show the form."""
    return isinstance(exc, NotFound | Forbidden)


class _ReportPage(Controller):
    """What both report controllers share: the page, and running a change that may be refused."""

    include_in_schema = False
    guards = [requires_login]

    async def _page(
        self,
        principal: Principal,
        report_id: uuid.UUID,
        errors: dict[str, str] | None = None,
        status_code: int = 200,
        template: str = "findings/report.html",
    ) -> Template:
        view = await reports.report_view(principal, report_id)
        context = {**_context(view), "errors": errors or {}}
        return Template(template, context=context, status_code=status_code)

    async def _done(
        self, principal: Principal, report_id: uuid.UUID, work: Awaitable[Any]
    ) -> Response[Any]:
        """Run the change; back to the (new) revision, or the page again with the refusal."""
        try:
            new_id = await work
        except DomainError as exc:
            if _unseen(exc):
                raise
            return await self._page(principal, report_id, errors_by_field(exc), exc.status_code)
        return _back(f"/reports/{new_id if isinstance(new_id, uuid.UUID) else report_id}")


class ReportPages(_ReportPage):
    """Both tenants read an audit's report and its print view; the body's writers draft it and
    edit the draft's texts."""

    @get("/audits/{audit_id:uuid}/report")
    async def for_audit(
        self, request: Request[Any, Any, Any], audit_id: uuid.UUID
    ) -> Response[Any]:
        found = await reports.audit_reports(me(request), audit_id)
        if found.visible:
            return _back(f"/reports/{found.visible[-1].id}")
        return Template(
            "findings/report_new.html",
            context={"audit": found.audit, "can_write": found.can_write, "errors": {}},
        )

    @post("/audits/{audit_id:uuid}/report")
    async def create(self, request: Request[Any, Any, Any], audit_id: uuid.UUID) -> Response[Any]:
        principal = me(request)
        try:
            data = convert(_texts(await form_data(request)), ReportIn)
            report_id = await reports.create_report(principal, audit_id, data)
        except DomainError as exc:
            if _unseen(exc):
                raise
            return Template(
                "findings/report_new.html",
                context={
                    "audit": await reports.audit_parties(audit_id),
                    "can_write": True,
                    "errors": errors_by_field(exc),
                },
                status_code=exc.status_code,
            )
        return _back(f"/reports/{report_id}")

    @get("/reports/{report_id:uuid}")
    async def view(self, request: Request[Any, Any, Any], report_id: uuid.UUID) -> Template:
        return await self._page(me(request), report_id)

    @get("/reports/{report_id:uuid}/print")
    async def printable(self, request: Request[Any, Any, Any], report_id: uuid.UUID) -> Template:
        return await self._page(me(request), report_id, template="findings/report_print.html")

    @post("/reports/{report_id:uuid}")
    async def edit(self, request: Request[Any, Any, Any], report_id: uuid.UUID) -> Response[Any]:
        principal, data = me(request), await form_data(request)

        async def work() -> None:
            changes = convert(_texts(data), ReportPatch)
            await reports.update_report(principal, report_id, changes)

        return await self._done(principal, report_id, work())


class ReportEditPages(_ReportPage):
    """The body's writers add and remove findings, issue a draft, amend an issued revision."""

    @post("/reports/{report_id:uuid}/findings")
    async def add_finding(
        self, request: Request[Any, Any, Any], report_id: uuid.UUID
    ) -> Response[Any]:
        principal, data = me(request), await form_data(request)

        async def work() -> None:
            finding = convert(blank_to_none(data, ("site_id",)), FindingIn)
            await reports.add_finding(principal, report_id, finding)

        return await self._done(principal, report_id, work())

    @post("/reports/{report_id:uuid}/findings/{number:int}/delete")
    async def remove_finding(
        self, request: Request[Any, Any, Any], report_id: uuid.UUID, number: int
    ) -> Response[Any]:
        principal = me(request)
        return await self._done(
            principal, report_id, reports.remove_finding(principal, report_id, number)
        )

    @post("/reports/{report_id:uuid}/issue")
    async def issue(self, request: Request[Any, Any, Any], report_id: uuid.UUID) -> Response[Any]:
        principal = me(request)
        return await self._done(principal, report_id, reports.issue_report(principal, report_id))

    @post("/reports/{report_id:uuid}/amend")
    async def amend(self, request: Request[Any, Any, Any], report_id: uuid.UUID) -> Response[Any]:
        principal, data = me(request), await form_data(request)

        async def work() -> uuid.UUID:
            reason = str(data.get("reason", "")).strip()
            if not reason:
                raise Invalid.field("reason", "Say why the report is amended.")
            return await reports.amend_report(principal, report_id, reason)

        return await self._done(principal, report_id, work())


@dataclasses.dataclass(frozen=True)
class TrackerQuery:
    """The tracker's query string: as filters, and as sent (echoed into the filter form)."""

    filters: tracker.Filters
    sent: dict[str, str]


def tracker_query(
    status: str | None = None,
    grade: str | None = None,
    overdue: str | None = None,
    owner: str | None = None,
    clause: str | None = None,
) -> TrackerQuery:
    """The tracker's query string as filters (empty values mean any); the list and its CSV."""
    owner_id: uuid.UUID | None = None
    if owner:
        try:
            owner_id = uuid.UUID(owner)
        except ValueError:
            raise Invalid.field("owner", "Choose an owner from the list.") from None
    filters = tracker.Filters(
        status=status or None,
        grade=grade or None,
        overdue_only=True if overdue in ("1", "true", "on") else None,
        owner_id=owner_id,
        clause=(clause or "").strip()[:40] or None,
    )
    sent = {"status": status, "grade": grade, "overdue": overdue, "owner": owner, "clause": clause}
    return TrackerQuery(filters, {k: v or "" for k, v in sent.items()})


class TrackerPages(Controller):
    include_in_schema = False
    path = "/organisations/{organisation_id:uuid}/corrective-actions"
    guards = [requires_login]
    # The list and its CSV read the same filters from the query string.
    dependencies = {"filtering": Provide(tracker_query, sync_to_thread=False)}

    @get("")
    async def tracker(
        self,
        request: Request[Any, Any, Any],
        organisation_id: uuid.UUID,
        filtering: TrackerQuery,
        page: int = 1,
    ) -> Template:
        found = await tracker.tracker(me(request), organisation_id, filtering.filters, page)
        return Template(
            "findings/tracker.html",
            context={
                **_context(found),
                "chart": trend_svg(found.board.trend),
                "organisation_id": organisation_id,
                "query": filtering.sent,
                "statuses": tracker.STATUSES,
            },
        )

    @get("/export.csv")
    async def export(
        self,
        request: Request[Any, Any, Any],
        organisation_id: uuid.UUID,
        filtering: TrackerQuery,
    ) -> Response[str]:
        return Response(
            content=await tracker.export_csv(me(request), organisation_id, filtering.filters),
            media_type="text/csv",  # Litestar appends "; charset=utf-8"
            headers={"Content-Disposition": 'attachment; filename="corrective-actions.csv"'},
        )


class _ActionPage(Controller):
    """What both corrective action controllers share: the page, and running a step."""

    include_in_schema = False
    path = "/corrective-actions/{ca_id:uuid}"
    guards = [requires_login]

    async def _page(
        self,
        principal: Principal,
        ca_id: uuid.UUID,
        errors: dict[str, str] | None = None,
        status_code: int = 200,
        values: dict[str, Any] | None = None,
    ) -> Template:
        view = await actions.action_view(principal, ca_id)
        return Template(
            "findings/corrective_action.html",
            context={
                **_context(view),
                "errors": errors or {},
                "values": values or {},
                "max_kib": files.max_bytes() // 1024,
            },
            status_code=status_code,
        )

    async def _done(
        self,
        principal: Principal,
        ca_id: uuid.UUID,
        work: Awaitable[Any],
        values: dict[str, Any] | None = None,
    ) -> Response[Any]:
        """Run the step; back to the action, or its page again with the refusal."""
        try:
            await work
        except DomainError as exc:
            if _unseen(exc):
                raise
            return await self._page(principal, ca_id, errors_by_field(exc), exc.status_code, values)
        return _back(f"/corrective-actions/{ca_id}")


class AnswerPages(_ActionPage):
    """The action's page for both tenants; the client's answer, evidence and submission."""

    @get("")
    async def view(self, request: Request[Any, Any, Any], ca_id: uuid.UUID) -> Template:
        return await self._page(me(request), ca_id)

    @post("")
    async def answer(self, request: Request[Any, Any, Any], ca_id: uuid.UUID) -> Response[Any]:
        principal = me(request)
        data = blank_to_none(
            await form_data(request), ("owner_id", "target_date", "root_cause_method")
        )

        async def work() -> None:
            patch = convert(data, CorrectiveActionPatch)
            changes = {
                k: getattr(patch, k)
                for k in (*actions.ANSWER_TEXTS, "target_date")
                if getattr(patch, k) is not None
            }
            # The form always sends the owner: an empty choice unassigns it.
            changes["owner_id"] = patch.owner_id
            await actions.update_corrective_action(principal, ca_id, changes)

        return await self._done(principal, ca_id, work(), data)

    @post("/evidence")
    async def evidence(self, request: Request[Any, Any, Any], ca_id: uuid.UUID) -> Response[Any]:
        principal = me(request)
        upload = (await request.form()).get("file")

        async def work() -> None:
            if not isinstance(upload, UploadFile):
                raise Invalid.field("file", "Choose a file to upload.")
            content = await upload.read(files.max_bytes() + 1)
            await files.add_evidence(principal, ca_id, content, upload.filename)

        return await self._done(principal, ca_id, work())

    @post("/submit")
    async def submit(self, request: Request[Any, Any, Any], ca_id: uuid.UUID) -> Response[Any]:
        principal = me(request)
        return await self._done(
            principal, ca_id, actions.submit_corrective_action(principal, ca_id)
        )


class ReviewPages(_ActionPage):
    """The body's side: review the answer, verify the action, escalate an overdue minor."""

    @post("/review")
    async def review(self, request: Request[Any, Any, Any], ca_id: uuid.UUID) -> Response[Any]:
        principal, data = me(request), await form_data(request)

        async def work() -> None:
            review = convert(data, ReviewIn)
            await actions.review_corrective_action(
                principal, ca_id, review.decision, review.comment
            )

        return await self._done(principal, ca_id, work())

    @post("/verify")
    async def verify(self, request: Request[Any, Any, Any], ca_id: uuid.UUID) -> Response[Any]:
        principal, data = me(request), await form_data(request)

        async def work() -> None:
            check = convert(data, VerifyIn)
            await actions.verify_corrective_action(principal, ca_id, check.effective, check.comment)

        return await self._done(principal, ca_id, work())

    @post("/escalate")
    async def escalate(self, request: Request[Any, Any, Any], ca_id: uuid.UUID) -> Response[Any]:
        principal, data = me(request), await form_data(request)

        async def work() -> None:
            escalation = convert({"reason": str(data.get("reason", ""))}, EscalateIn)
            await actions.escalate_corrective_action(principal, ca_id, escalation.reason)

        return await self._done(principal, ca_id, work())


EvidencePages = evidence_download("/evidence/{evidence_id:uuid}", me, include_in_schema=False)


PAGE_CONTROLLERS = [
    ReportPages,
    ReportEditPages,
    TrackerPages,
    AnswerPages,
    ReviewPages,
    EvidencePages,
]
