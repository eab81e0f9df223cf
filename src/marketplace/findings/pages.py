"""HTML pages of findings: report pages and print view, the tracker, corrective action pages."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.response import Redirect, Template

from marketplace.accounts.guards import Principal, me, require_role, requires_login
from marketplace.accounts.roles import TenantKind
from marketplace.core.activity import entries_for_entity
from marketplace.core.errors import DomainError, Invalid
from marketplace.core.pagination import PageParams
from marketplace.findings import services
from marketplace.findings.access import (
    BODY_REVIEWERS,
    CLIENT_ANSWERERS,
    REPORT_WRITERS,
    action_side,
    report_side,
)
from marketplace.findings.api import evidence_download
from marketplace.findings.charts import trend_svg
from marketplace.findings.evidence import max_bytes
from marketplace.findings.schemas import CorrectiveActionPatch, FindingIn, ReviewIn, VerifyIn
from marketplace.scheduling.context import BODY_ALL, CLIENT_ALL, check_access
from marketplace.web.forms import convert, errors_by_field, form_data

NO_ORG = "No such organisation."


def _back(path: str) -> Redirect:
    return Redirect(path, status_code=303)


def _blank_to_none(data: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: (None if k in names and v == "" else v) for k, v in data.items()}


class ReportPages(Controller):
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
        row = await services.report_row(report_id)
        side = report_side(principal, row)
        report = await services.get_report(report_id)
        can_write = bool(principal.roles_in(TenantKind.body, row["body"]) & REPORT_WRITERS)
        return Template(
            template,
            context={
                "report": report,
                "side": side,
                "can_write": can_write,
                "history": await entries_for_entity("report", report_id),
                "errors": errors or {},
                "grades": ("major", "minor", "observation", "ofi"),
                "sites": await _sites(row["organisation"]),
            },
            status_code=status_code,
        )

    @get("/audits/{audit_id:uuid}/report")
    async def for_audit(
        self, request: Request[Any, Any, Any], audit_id: uuid.UUID
    ) -> Response[Any]:
        principal = me(request)
        parties = await services.audit_parties(audit_id)
        side = check_access(
            principal,
            parties.organisation_id,
            parties.body_id,
            client=CLIENT_ALL,
            body=BODY_ALL,
            what="No such audit.",
        )
        reports = await services.reports_for_audit(audit_id)
        visible = [r for r in reports if side == "body" or r["status"] != "draft"]
        if visible:
            return _back(f"/reports/{visible[-1]['id']}")
        can_write = bool(principal.roles_in(TenantKind.body, parties.body_id) & REPORT_WRITERS)
        return Template(
            "findings/report_new.html",
            context={"audit": parties, "can_write": can_write, "errors": {}},
        )

    @post("/audits/{audit_id:uuid}/report")
    async def create(self, request: Request[Any, Any, Any], audit_id: uuid.UUID) -> Response[Any]:
        principal = me(request)
        parties = await services.audit_parties(audit_id)
        check_access(
            principal,
            parties.organisation_id,
            parties.body_id,
            body=REPORT_WRITERS,
            what="No such audit.",
        )
        data = await form_data(request)
        try:
            report_id = await services.create_report(
                principal.user_id,
                audit_id,
                {
                    k: str(data.get(k, ""))
                    for k in ("summary", "recommendation", "scope", "clauses_covered")
                },
            )
        except DomainError as exc:
            return Template(
                "findings/report_new.html",
                context={"audit": parties, "can_write": True, "errors": errors_by_field(exc)},
                status_code=exc.status_code,
            )
        return _back(f"/reports/{report_id}")

    @get("/reports/{report_id:uuid}")
    async def view(self, request: Request[Any, Any, Any], report_id: uuid.UUID) -> Template:
        return await self._page(me(request), report_id)

    @get("/reports/{report_id:uuid}/print")
    async def printable(self, request: Request[Any, Any, Any], report_id: uuid.UUID) -> Template:
        return await self._page(me(request), report_id, template="findings/report_print.html")

    async def _write(
        self, request: Request[Any, Any, Any], report_id: uuid.UUID
    ) -> tuple[Principal, dict[str, Any]]:
        principal = me(request)
        report_side(principal, await services.report_row(report_id), write=True)
        return principal, await form_data(request)

    @post("/reports/{report_id:uuid}")
    async def edit(self, request: Request[Any, Any, Any], report_id: uuid.UUID) -> Response[Any]:
        principal, data = await self._write(request, report_id)
        try:
            await services.update_report(
                principal.user_id,
                report_id,
                {
                    k: str(data.get(k, ""))
                    for k in ("summary", "recommendation", "scope", "clauses_covered")
                },
            )
        except DomainError as exc:
            return await self._page(principal, report_id, errors_by_field(exc), exc.status_code)
        return _back(f"/reports/{report_id}")

    @post("/reports/{report_id:uuid}/findings")
    async def add_finding(
        self, request: Request[Any, Any, Any], report_id: uuid.UUID
    ) -> Response[Any]:
        principal, data = await self._write(request, report_id)
        try:
            new = convert(_blank_to_none(data, "site_id"), FindingIn)
            current = (await services.get_report(report_id))["findings"]
            findings = [
                {
                    "grade": f["grade"],
                    "clause": f["clause"],
                    "requirement": f["requirement"],
                    "evidence": f["evidence"],
                    "site_id": f["site_id"],
                    "origin_id": f["origin_id"],
                }
                for f in current
            ]
            findings.append(
                {
                    "grade": new.grade,
                    "clause": new.clause,
                    "requirement": new.requirement,
                    "evidence": new.evidence,
                    "site_id": new.site_id,
                    "origin_id": None,
                }
            )
            await services.update_report(principal.user_id, report_id, {"findings": findings})
        except DomainError as exc:
            return await self._page(principal, report_id, errors_by_field(exc), exc.status_code)
        return _back(f"/reports/{report_id}")

    @post("/reports/{report_id:uuid}/findings/{number:int}/delete")
    async def remove_finding(
        self, request: Request[Any, Any, Any], report_id: uuid.UUID, number: int
    ) -> Response[Any]:
        principal, _data = await self._write(request, report_id)
        current = (await services.get_report(report_id))["findings"]
        kept = [
            {
                "grade": f["grade"],
                "clause": f["clause"],
                "requirement": f["requirement"],
                "evidence": f["evidence"],
                "site_id": f["site_id"],
                "origin_id": f["origin_id"],
            }
            for f in current
            if f["number"] != number
        ]
        try:
            await services.update_report(principal.user_id, report_id, {"findings": kept})
        except DomainError as exc:
            return await self._page(principal, report_id, errors_by_field(exc), exc.status_code)
        return _back(f"/reports/{report_id}")

    @post("/reports/{report_id:uuid}/issue")
    async def issue(self, request: Request[Any, Any, Any], report_id: uuid.UUID) -> Response[Any]:
        principal, _data = await self._write(request, report_id)
        try:
            await services.issue_report(principal.user_id, report_id)
        except DomainError as exc:
            return await self._page(principal, report_id, errors_by_field(exc), exc.status_code)
        return _back(f"/reports/{report_id}")

    @post("/reports/{report_id:uuid}/amend")
    async def amend(self, request: Request[Any, Any, Any], report_id: uuid.UUID) -> Response[Any]:
        principal, data = await self._write(request, report_id)
        try:
            reason = str(data.get("reason", "")).strip()
            if not reason:
                raise Invalid.field("reason", "Say why the report is amended.")
            new_id = await services.amend_report(principal.user_id, report_id, reason)
        except DomainError as exc:
            return await self._page(principal, report_id, errors_by_field(exc), exc.status_code)
        return _back(f"/reports/{new_id}")


async def _sites(organisation_id: uuid.UUID) -> list[dict[str, Any]]:
    from marketplace.accounts.tables import Site

    rows: list[dict[str, Any]] = (
        await Site.select(Site.id, Site.name)
        .where(Site.organisation == organisation_id)
        .order_by(Site.name)
        .run()
    )
    return rows


def _csv_cell(value: Any) -> str:
    """Text a spreadsheet will not run as a formula (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class TrackerPages(Controller):
    include_in_schema = False
    path = "/organisations/{organisation_id:uuid}/corrective-actions"
    guards = [requires_login]

    def _filters(
        self,
        status: str | None,
        grade: str | None,
        overdue: str | None,
        owner: str | None,
        clause: str | None = None,
    ) -> dict[str, Any]:
        owner_id: uuid.UUID | None = None
        if owner:
            try:
                owner_id = uuid.UUID(owner)
            except ValueError:
                raise Invalid.field("owner", "Choose an owner from the list.") from None
        return {
            "status": status or None,
            "grade": grade or None,
            "overdue_only": True if overdue in ("1", "true", "on") else None,
            "owner_id": owner_id,
            "clause": (clause or "").strip()[:40] or None,
        }

    @get("")
    async def tracker(
        self,
        request: Request[Any, Any, Any],
        organisation_id: uuid.UUID,
        status: str | None = None,
        grade: str | None = None,
        overdue: str | None = None,
        owner: str | None = None,
        page: int = 1,
        clause: str | None = None,
    ) -> Template:
        principal = me(request)
        require_role(principal, TenantKind.organisation, organisation_id, CLIENT_ALL, what=NO_ORG)
        filters = self._filters(status, grade, overdue, owner, clause)
        params = PageParams.of(page, 50)
        rows, total = await services.list_corrective_actions(
            organisation_id=organisation_id, limit=50, offset=params.offset, **filters
        )
        board = await services.dashboard(organisation_id)
        return Template(
            "findings/tracker.html",
            context={
                "organisation_id": organisation_id,
                "rows": rows,
                "total": total,
                "page": page,
                "pages": max(1, (total + 49) // 50),
                "board": board,
                "chart": trend_svg(board["trend"]),
                "members": await services.organisation_members(organisation_id),
                "query": {
                    "status": status or "",
                    "grade": grade or "",
                    "overdue": overdue or "",
                    "owner": owner or "",
                    "clause": clause or "",
                },
                "statuses": services.STATUSES,
            },
        )

    @get("/export.csv")
    async def export(
        self,
        request: Request[Any, Any, Any],
        organisation_id: uuid.UUID,
        status: str | None = None,
        grade: str | None = None,
        overdue: str | None = None,
        owner: str | None = None,
        clause: str | None = None,
    ) -> Response[str]:
        principal = me(request)
        require_role(principal, TenantKind.organisation, organisation_id, CLIENT_ALL, what=NO_ORG)
        rows, _total = await services.list_corrective_actions(
            organisation_id=organisation_id,
            limit=None,
            **self._filters(status, grade, overdue, owner, clause),
        )
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            [
                "id",
                "grade",
                "status",
                "clause",
                "requirement",
                "body",
                "owner",
                "issued_on",
                "due_on",
                "overdue",
                "target_date",
                "escalated",
            ]
        )
        for r in rows:
            writer.writerow(
                [
                    _csv_cell(v)
                    for v in (
                        r["id"],
                        r["grade"],
                        r["status"],
                        r["clause"],
                        r["requirement"],
                        r["body_name"],
                        r["owner_name"],
                        r["issued_on"],
                        r["due_on"],
                        "yes" if r["overdue"] else "no",
                        r["target_date"],
                        "yes" if r["escalated"] else "no",
                    )
                ]
            )
        return Response(
            content=out.getvalue(),
            media_type="text/csv",  # Litestar appends "; charset=utf-8"
            headers={"Content-Disposition": 'attachment; filename="corrective-actions.csv"'},
        )


class CorrectiveActionPages(Controller):
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
        row = await services.ca_row(ca_id)
        side = action_side(principal, row)
        action = await services.get_corrective_action(ca_id)
        client_roles = principal.roles_in(TenantKind.organisation, row["organisation"])
        can_answer = bool(client_roles & CLIENT_ANSWERERS) or (
            bool(client_roles) and row["owner"] == principal.user_id
        )
        can_review = bool(principal.roles_in(TenantKind.body, row["body"]) & BODY_REVIEWERS)
        return Template(
            "findings/corrective_action.html",
            context={
                "ca": action,
                "side": side,
                "can_answer": can_answer and row["status"] in services.EDITABLE,
                "can_review": can_review,
                "members": await services.organisation_members(row["organisation"]),
                "errors": errors or {},
                "values": values or {},
                "max_kib": max_bytes() // 1024,
            },
            status_code=status_code,
        )

    @get("")
    async def view(self, request: Request[Any, Any, Any], ca_id: uuid.UUID) -> Template:
        return await self._page(me(request), ca_id)

    async def _act(self, request: Request[Any, Any, Any], ca_id: uuid.UUID, act: str) -> Principal:
        principal = me(request)
        action_side(principal, await services.ca_row(ca_id), act=act)
        return principal

    @post("")
    async def answer(self, request: Request[Any, Any, Any], ca_id: uuid.UUID) -> Response[Any]:
        principal = await self._act(request, ca_id, "answer")
        data = _blank_to_none(
            await form_data(request), "owner_id", "target_date", "root_cause_method"
        )
        try:
            patch = convert(data, CorrectiveActionPatch)
            changes = {
                k: getattr(patch, k)
                for k in (
                    "correction",
                    "root_cause_method",
                    "root_cause",
                    "action_plan",
                    "target_date",
                )
                if getattr(patch, k) is not None
            }
            changes["owner_id"] = patch.owner_id
            await services.update_corrective_action(principal.user_id, ca_id, changes)
        except DomainError as exc:
            return await self._page(principal, ca_id, errors_by_field(exc), exc.status_code, data)
        return _back(f"/corrective-actions/{ca_id}")

    @post("/evidence")
    async def evidence(self, request: Request[Any, Any, Any], ca_id: uuid.UUID) -> Response[Any]:
        principal = await self._act(request, ca_id, "answer")
        form = await request.form()
        upload = form.get("file")
        try:
            if not isinstance(upload, UploadFile):
                raise Invalid.field("file", "Choose a file to upload.")
            content = await upload.read(max_bytes() + 1)
            await services.add_evidence(principal.user_id, ca_id, content, upload.filename)
        except DomainError as exc:
            return await self._page(principal, ca_id, errors_by_field(exc), exc.status_code)
        return _back(f"/corrective-actions/{ca_id}")

    @post("/submit")
    async def submit(self, request: Request[Any, Any, Any], ca_id: uuid.UUID) -> Response[Any]:
        principal = await self._act(request, ca_id, "answer")
        try:
            await services.submit_corrective_action(principal.user_id, ca_id)
        except DomainError as exc:
            return await self._page(principal, ca_id, errors_by_field(exc), exc.status_code)
        return _back(f"/corrective-actions/{ca_id}")

    @post("/review")
    async def review(self, request: Request[Any, Any, Any], ca_id: uuid.UUID) -> Response[Any]:
        principal = await self._act(request, ca_id, "review")
        try:
            data = convert(await form_data(request), ReviewIn)
            await services.review_corrective_action(
                principal.user_id, ca_id, data.decision, data.comment
            )
        except DomainError as exc:
            return await self._page(principal, ca_id, errors_by_field(exc), exc.status_code)
        return _back(f"/corrective-actions/{ca_id}")

    @post("/verify")
    async def verify(self, request: Request[Any, Any, Any], ca_id: uuid.UUID) -> Response[Any]:
        principal = await self._act(request, ca_id, "review")
        try:
            data = convert(await form_data(request), VerifyIn)
            await services.verify_corrective_action(
                principal.user_id, ca_id, data.effective, data.comment
            )
        except DomainError as exc:
            return await self._page(principal, ca_id, errors_by_field(exc), exc.status_code)
        return _back(f"/corrective-actions/{ca_id}")

    @post("/escalate")
    async def escalate(self, request: Request[Any, Any, Any], ca_id: uuid.UUID) -> Response[Any]:
        principal = await self._act(request, ca_id, "review")
        data = await form_data(request)
        try:
            await services.escalate_corrective_action(
                principal.user_id, ca_id, str(data.get("reason", ""))
            )
        except DomainError as exc:
            return await self._page(principal, ca_id, errors_by_field(exc), exc.status_code)
        return _back(f"/corrective-actions/{ca_id}")


class EvidencePages(Controller):
    include_in_schema = False
    guards = [requires_login]

    @get("/evidence/{evidence_id:uuid}")
    async def download(
        self, request: Request[Any, Any, Any], evidence_id: uuid.UUID
    ) -> Response[bytes]:
        return await evidence_download(me(request), evidence_id)


PAGE_CONTROLLERS = [ReportPages, TrackerPages, CorrectiveActionPages, EvidencePages]
