"""HTML pages of readiness: self-assessment, document room, internal audits, management reviews, stage 1."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.response import Redirect, Template

from marketplace.accounts.guards import Principal, me, requires_login
from marketplace.accounts.roles import TenantKind
from marketplace.core.errors import DomainError, Invalid, NotFound
from marketplace.findings import reports as findings_services
from marketplace.findings.access import REPORT_WRITERS, report_side
from marketplace.findings.evidence import max_bytes
from marketplace.readiness import services
from marketplace.readiness.api import (
    BODY_COMMENTERS,
    CLIENT_EDITORS,
    body,
    client,
    file_response,
)
from marketplace.readiness.charts import progress_svg
from marketplace.readiness.schemas import (
    ActionIn,
    CommentIn,
    CompleteIn,
    DocumentIn,
    DocumentPatch,
    GapItemPatch,
    InternalAuditIn,
    InternalFindingIn,
    InternalFindingPatch,
    ManagementReviewIn,
    ReferenceIn,
    StepIn,
)
from marketplace.rules.readiness import DOCUMENT_TYPES, GROUPS, Rating
from marketplace.web.forms import as_list, convert, errors_by_field, form_data

Render = Callable[[dict[str, str], int], Awaitable[Template]]
RATING_LABELS = {
    Rating.in_place.value: "In place",
    Rating.partly.value: "Partly",
    Rating.missing.value: "Missing",
    Rating.not_applicable.value: "Not applicable",
}


def _back(path: str) -> Redirect:
    return Redirect(path, status_code=303)


def _blank_to_none(data: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: (None if k in names and v == "" else v) for k, v in data.items()}


def _uuid(field: str, value: Any) -> uuid.UUID | None:
    if value in (None, ""):
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise Invalid.field(field, "Choose from the list.") from None


async def _attempt(
    action: Callable[[], Awaitable[Any]], render: Render, success: str | Callable[[Any], str]
) -> Response[Any]:
    """Run the change; on a domain error show the same page with the messages and its status."""
    try:
        result = await action()
    except DomainError as exc:
        return await render(errors_by_field(exc), exc.status_code)
    return _back(success(result) if callable(success) else success)


async def _upload(request: Request[Any, Any, Any]) -> tuple[bytes, str | None]:
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise Invalid.field("file", "Choose a file to upload.")
    return await upload.read(max_bytes() + 1), upload.filename


class ClientReadinessPages(Controller):
    include_in_schema = False
    path = "/organisations/{organisation_id:uuid}"
    guards = [requires_login]

    def _can_edit(self, principal: Principal, organisation_id: uuid.UUID) -> bool:
        return bool(principal.roles_in(TenantKind.organisation, organisation_id) & CLIENT_EDITORS)

    async def _base(self, principal: Principal, organisation_id: uuid.UUID) -> dict[str, Any]:
        client(principal, organisation_id)
        return {
            "organisation_id": organisation_id,
            "organisation_name": await services.organisation_name(organisation_id),
            "can_edit": self._can_edit(principal, organisation_id),
            "errors": {},
        }

    # --- overview and self-assessment ---------------------------------------------------------

    async def _overview(
        self,
        principal: Principal,
        organisation_id: uuid.UUID,
        errors: dict[str, str],
        status: int = 200,
    ) -> Template:
        ctx = await self._base(principal, organisation_id)
        ctx.update(
            assessments=await services.list_assessments(organisation_id),
            stage1=await services.stage1_panel(organisation_id),
            stage2=await services.stage2_preparation(organisation_id),
            standards=await services.standards(),
            errors=errors,
        )
        return Template("readiness/overview.html", context=ctx, status_code=status)

    @get("/readiness")
    async def overview(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID
    ) -> Template:
        return await self._overview(me(request), organisation_id, {})

    @post("/readiness/assessments")
    async def create_assessment(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID
    ) -> Response[Any]:
        p = me(request)
        client(p, organisation_id, write=True)
        data = await form_data(request)

        async def act() -> uuid.UUID:
            return await services.create_assessment(
                p.user_id, organisation_id, str(data.get("standard", ""))
            )

        async def render(errors: dict[str, str], status: int) -> Template:
            return await self._overview(p, organisation_id, errors, status)

        return await _attempt(
            act, render, lambda aid: f"/organisations/{organisation_id}/readiness/assessments/{aid}"
        )

    async def _assessment(
        self,
        principal: Principal,
        organisation_id: uuid.UUID,
        assessment_id: uuid.UUID,
        errors: dict[str, str],
        status: int = 200,
    ) -> Template:
        ctx = await self._base(principal, organisation_id)
        assessment = await services.get_assessment(organisation_id, assessment_id)
        ctx.update(
            assessment=assessment,
            chart=progress_svg(assessment["history"]),
            groups=GROUPS,
            ratings=RATING_LABELS,
            members=await services.organisation_members(organisation_id),
            documents=await services.list_documents(organisation_id),
            errors=errors,
        )
        return Template("readiness/assessment.html", context=ctx, status_code=status)

    @get("/readiness/assessments/{assessment_id:uuid}")
    async def assessment(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID, assessment_id: uuid.UUID
    ) -> Template:
        return await self._assessment(me(request), organisation_id, assessment_id, {})

    @post("/readiness/items/{item_id:uuid}")
    async def rate(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID, item_id: uuid.UUID
    ) -> Response[Any]:
        p = me(request)
        client(p, organisation_id, write=True)
        item = await services.item_row(organisation_id, item_id)
        data = await form_data(request)

        async def act() -> None:
            docs = [_uuid("document_ids", d) for d in as_list(data.get("document_ids"))]
            patch = convert(
                _blank_to_none(
                    {k: v for k, v in data.items() if k != "document_ids"},
                    "owner_id",
                    "target_date",
                ),
                GapItemPatch,
            )
            await services.update_item(
                p.user_id,
                organisation_id,
                item_id,
                {
                    "rating": patch.rating,
                    "note": patch.note,
                    "owner_id": patch.owner_id,
                    "target_date": patch.target_date,
                    "document_ids": [d for d in docs if d],
                },
            )

        async def render(errors: dict[str, str], status: int) -> Template:
            return await self._assessment(p, organisation_id, item["assessment"], errors, status)

        url = f"/organisations/{organisation_id}/readiness/assessments/{item['assessment']}"
        return await _attempt(act, render, f"{url}#item-{item_id}")

    @post("/readiness/items/{item_id:uuid}/action")
    async def gap_action(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID, item_id: uuid.UUID
    ) -> Response[Any]:
        p = me(request)
        client(p, organisation_id, write=True)
        item = await services.item_row(organisation_id, item_id)
        data = await form_data(request)

        async def act() -> None:
            parsed = convert(_blank_to_none(data, "owner_id", "due_on"), ActionIn)
            await services.create_action_from_gap(
                p.user_id,
                organisation_id,
                item_id,
                {"owner_id": parsed.owner_id, "due_on": parsed.due_on, "title": parsed.title},
            )

        async def render(errors: dict[str, str], status: int) -> Template:
            return await self._assessment(p, organisation_id, item["assessment"], errors, status)

        return await _attempt(act, render, f"/organisations/{organisation_id}/readiness/actions")

    async def _actions(
        self,
        principal: Principal,
        organisation_id: uuid.UUID,
        errors: dict[str, str],
        status: int = 200,
    ) -> Template:
        ctx = await self._base(principal, organisation_id)
        ctx.update(actions=await services.list_actions(organisation_id), errors=errors)
        return Template("readiness/actions.html", context=ctx, status_code=status)

    @get("/readiness/actions")
    async def actions(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID
    ) -> Template:
        return await self._actions(me(request), organisation_id, {})

    @post("/readiness/actions/{action_id:uuid}/done")
    async def action_done(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID, action_id: uuid.UUID
    ) -> Response[Any]:
        p = me(request)
        client(p, organisation_id, write=True)

        async def act() -> None:
            await services.complete_action(p.user_id, organisation_id, action_id)

        async def render(errors: dict[str, str], status: int) -> Template:
            return await self._actions(p, organisation_id, errors, status)

        return await _attempt(act, render, f"/organisations/{organisation_id}/readiness/actions")

    # --- document room ------------------------------------------------------------------------

    async def _register(
        self,
        principal: Principal,
        organisation_id: uuid.UUID,
        errors: dict[str, str],
        status: int = 200,
        values: dict[str, Any] | None = None,
    ) -> Template:
        ctx = await self._base(principal, organisation_id)
        ctx.update(
            documents=await services.list_documents(organisation_id),
            shares=await services.list_shares(organisation_id),
            bodies=await services.engaged_bodies(organisation_id),
            members=await services.organisation_members(organisation_id),
            doc_types=DOCUMENT_TYPES,
            errors=errors,
            values=values or {},
        )
        return Template("readiness/documents.html", context=ctx, status_code=status)

    @get("/documents")
    async def documents(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID
    ) -> Template:
        return await self._register(me(request), organisation_id, {})

    @post("/documents")
    async def create_document(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID
    ) -> Response[Any]:
        p = me(request)
        client(p, organisation_id, write=True)
        data = _blank_to_none(
            await form_data(request), "owner_id", "next_review_on", "retention_months"
        )

        async def act() -> uuid.UUID:
            parsed = convert(data, DocumentIn)
            return await services.create_document(
                p.user_id,
                organisation_id,
                {
                    "code": parsed.code,
                    "title": parsed.title,
                    "doc_type": parsed.doc_type,
                    "clause": parsed.clause,
                    "owner_id": parsed.owner_id,
                    "next_review_on": parsed.next_review_on,
                    "retention_months": parsed.retention_months,
                    "change_summary": parsed.change_summary,
                },
            )

        async def render(errors: dict[str, str], status: int) -> Template:
            return await self._register(p, organisation_id, errors, status, data)

        return await _attempt(
            act, render, lambda doc_id: f"/organisations/{organisation_id}/documents/{doc_id}"
        )

    @post("/document-shares")
    async def share(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID
    ) -> Response[Any]:
        p = me(request)
        client(p, organisation_id, write=True)
        data = await form_data(request)

        async def act() -> None:
            body_id = _uuid("body_id", data.get("body_id"))
            if body_id is None:
                raise Invalid.field("body_id", "Choose the certification body.")
            ids = [_uuid("document_ids", d) for d in as_list(data.get("document_ids"))]
            await services.share_documents(
                p.user_id, organisation_id, body_id, [d for d in ids if d]
            )

        async def render(errors: dict[str, str], status: int) -> Template:
            return await self._register(p, organisation_id, errors, status)

        return await _attempt(act, render, f"/organisations/{organisation_id}/documents#shares")

    @post("/document-shares/{share_id:uuid}/withdraw")
    async def withdraw(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID, share_id: uuid.UUID
    ) -> Response[Any]:
        p = me(request)
        client(p, organisation_id, write=True)

        async def act() -> None:
            await services.withdraw_share(p.user_id, organisation_id, share_id)

        async def render(errors: dict[str, str], status: int) -> Template:
            return await self._register(p, organisation_id, errors, status)

        return await _attempt(act, render, f"/organisations/{organisation_id}/documents#shares")

    async def _document(
        self,
        principal: Principal,
        organisation_id: uuid.UUID,
        document_id: uuid.UUID,
        errors: dict[str, str],
        status: int = 200,
        log_view: bool = False,
    ) -> Template:
        ctx = await self._base(principal, organisation_id)
        await services.org_document(organisation_id, document_id)
        doc = await services.get_document(document_id)
        if log_view:
            current = doc["current"] or doc["draft"]
            await services.record_access(
                document_id,
                current["id"] if current else None,
                principal.user_id,
                "organisation",
                "view",
            )
        ctx.update(
            doc=doc,
            members=await services.organisation_members(organisation_id),
            access=await services.access_log(document_id) if ctx["can_edit"] else [],
            max_kib=max_bytes() // 1024,
            errors=errors,
        )
        return Template("readiness/document.html", context=ctx, status_code=status)

    @get("/documents/{document_id:uuid}")
    async def document(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID, document_id: uuid.UUID
    ) -> Template:
        return await self._document(me(request), organisation_id, document_id, {}, log_view=True)

    async def _doc_write(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID, document_id: uuid.UUID
    ) -> tuple[Principal, Render, str]:
        p = me(request)
        client(p, organisation_id, write=True)
        await services.org_document(organisation_id, document_id)

        async def render(errors: dict[str, str], status: int) -> Template:
            return await self._document(p, organisation_id, document_id, errors, status)

        return p, render, f"/organisations/{organisation_id}/documents/{document_id}"

    @post("/documents/{document_id:uuid}")
    async def edit_document(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID, document_id: uuid.UUID
    ) -> Response[Any]:
        p, render, url = await self._doc_write(request, organisation_id, document_id)
        data = _blank_to_none(
            await form_data(request), "owner_id", "next_review_on", "retention_months"
        )

        async def act() -> None:
            parsed = convert(data, DocumentPatch)
            changes: dict[str, Any] = {
                "owner_id": parsed.owner_id,
                "next_review_on": parsed.next_review_on,
                "retention_months": parsed.retention_months,
            }
            if parsed.title is not None:
                changes["title"] = parsed.title
            if parsed.clause is not None:
                changes["clause"] = parsed.clause
            await services.update_document(p.user_id, document_id, changes)

        return await _attempt(act, render, url)

    @post("/documents/{document_id:uuid}/versions")
    async def new_version(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID, document_id: uuid.UUID
    ) -> Response[Any]:
        p, render, url = await self._doc_write(request, organisation_id, document_id)
        data = await form_data(request)

        async def act() -> None:
            summary = str(data.get("change_summary", "")).strip()
            if not summary:
                raise Invalid.field("change_summary", "Say what changes in this version.")
            await services.new_version(p.user_id, document_id, summary[:4000])

        return await _attempt(act, render, url)

    @post("/documents/{document_id:uuid}/versions/{version_id:uuid}")
    async def edit_version(
        self,
        request: Request[Any, Any, Any],
        organisation_id: uuid.UUID,
        document_id: uuid.UUID,
        version_id: uuid.UUID,
    ) -> Response[Any]:
        p, render, url = await self._doc_write(request, organisation_id, document_id)
        data = await form_data(request)

        async def act() -> None:
            await services.update_version(
                p.user_id,
                document_id,
                version_id,
                {
                    "change_summary": str(data.get("change_summary", ""))[:4000],
                    "author_id": _uuid("author_id", data.get("author_id")),
                },
            )

        return await _attempt(act, render, url)

    @post("/documents/{document_id:uuid}/versions/{version_id:uuid}/file")
    async def upload(
        self,
        request: Request[Any, Any, Any],
        organisation_id: uuid.UUID,
        document_id: uuid.UUID,
        version_id: uuid.UUID,
    ) -> Response[Any]:
        p, render, url = await self._doc_write(request, organisation_id, document_id)

        async def act() -> None:
            content, filename = await _upload(request)
            await services.upload_version_file(
                p.user_id, document_id, version_id, content, filename
            )

        return await _attempt(act, render, url)

    @post("/documents/{document_id:uuid}/versions/{version_id:uuid}/approve")
    async def approve(
        self,
        request: Request[Any, Any, Any],
        organisation_id: uuid.UUID,
        document_id: uuid.UUID,
        version_id: uuid.UUID,
    ) -> Response[Any]:
        p, render, url = await self._doc_write(request, organisation_id, document_id)
        data = await form_data(request)

        async def act() -> None:
            raw = str(data.get("effective_on", "")).strip()
            try:
                effective = dt.date.fromisoformat(raw) if raw else None
            except ValueError:
                raise Invalid.field("effective_on", "A date such as 2026-05-01.") from None
            await services.approve_version(p.user_id, document_id, version_id, effective)

        return await _attempt(act, render, url)

    @get("/documents/{document_id:uuid}/versions/{version_id:uuid}/file")
    async def download(
        self,
        request: Request[Any, Any, Any],
        organisation_id: uuid.UUID,
        document_id: uuid.UUID,
        version_id: uuid.UUID,
    ) -> Response[bytes]:
        p = me(request)
        client(p, organisation_id)
        await services.org_document(organisation_id, document_id)
        version = await services.version_row(document_id, version_id)
        response = file_response(version)
        await services.record_access(document_id, version_id, p.user_id, "organisation", "download")
        return response

    # --- internal audits and management reviews -----------------------------------------------

    async def _audits(
        self,
        principal: Principal,
        organisation_id: uuid.UUID,
        errors: dict[str, str],
        status: int = 200,
        values: dict[str, Any] | None = None,
    ) -> Template:
        ctx = await self._base(principal, organisation_id)
        ctx.update(
            audits=await services.list_internal_audits(organisation_id),
            stage1=await services.stage1_panel(organisation_id),
            groups=GROUPS,
            errors=errors,
            values=values or {},
        )
        return Template("readiness/internal_audits.html", context=ctx, status_code=status)

    @get("/internal-audits")
    async def internal_audits(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID
    ) -> Template:
        return await self._audits(me(request), organisation_id, {})

    @post("/internal-audits")
    async def plan_audit(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID
    ) -> Response[Any]:
        p = me(request)
        client(p, organisation_id, write=True)
        data = await form_data(request)

        async def act() -> uuid.UUID:
            clauses = as_list(data.get("clauses")) + [
                c.strip() for c in str(data.get("more_clauses", "")).split(",") if c.strip()
            ]
            parsed = convert(
                {
                    "scope": data.get("scope", ""),
                    "clauses": clauses,
                    "auditor_name": data.get("auditor_name", ""),
                    "planned_on": data.get("planned_on") or None,
                },
                InternalAuditIn,
            )
            return await services.create_internal_audit(
                p.user_id,
                organisation_id,
                {
                    "scope": parsed.scope,
                    "clauses": parsed.clauses,
                    "auditor_name": parsed.auditor_name,
                    "planned_on": parsed.planned_on,
                },
            )

        async def render(errors: dict[str, str], status: int) -> Template:
            return await self._audits(p, organisation_id, errors, status, data)

        return await _attempt(
            act, render, lambda aid: f"/organisations/{organisation_id}/internal-audits/{aid}"
        )

    async def _audit(
        self,
        principal: Principal,
        organisation_id: uuid.UUID,
        audit_id: uuid.UUID,
        errors: dict[str, str],
        status: int = 200,
    ) -> Template:
        ctx = await self._base(principal, organisation_id)
        await services.org_internal_audit(organisation_id, audit_id)
        ctx.update(
            audit=await services.get_internal_audit(audit_id),
            bodies=await services.engaged_bodies(organisation_id),
            grades=("major", "minor", "observation", "ofi"),
            errors=errors,
        )
        return Template("readiness/internal_audit.html", context=ctx, status_code=status)

    @get("/internal-audits/{audit_id:uuid}")
    async def internal_audit(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID, audit_id: uuid.UUID
    ) -> Template:
        return await self._audit(me(request), organisation_id, audit_id, {})

    async def _audit_write(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID, audit_id: uuid.UUID
    ) -> tuple[Principal, Render, str, dict[str, Any]]:
        p = me(request)
        client(p, organisation_id, write=True)
        await services.org_internal_audit(organisation_id, audit_id)

        async def render(errors: dict[str, str], status: int) -> Template:
            return await self._audit(p, organisation_id, audit_id, errors, status)

        url = f"/organisations/{organisation_id}/internal-audits/{audit_id}"
        return p, render, url, await form_data(request)

    @post("/internal-audits/{audit_id:uuid}/complete")
    async def complete_audit(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID, audit_id: uuid.UUID
    ) -> Response[Any]:
        p, render, url, data = await self._audit_write(request, organisation_id, audit_id)

        async def act() -> None:
            parsed = convert(_blank_to_none(data, "completed_on"), CompleteIn)
            await services.complete_internal_audit(
                p.user_id, audit_id, parsed.completed_on, parsed.summary
            )

        return await _attempt(act, render, url)

    @post("/internal-audits/{audit_id:uuid}/share")
    async def share_audit(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID, audit_id: uuid.UUID
    ) -> Response[Any]:
        p, render, url, data = await self._audit_write(request, organisation_id, audit_id)

        async def act() -> None:
            await services.share_internal_audit(
                p.user_id, audit_id, _uuid("body_id", data.get("body_id"))
            )

        return await _attempt(act, render, url)

    @post("/internal-audits/{audit_id:uuid}/findings")
    async def add_finding(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID, audit_id: uuid.UUID
    ) -> Response[Any]:
        p, render, url, data = await self._audit_write(request, organisation_id, audit_id)

        async def act() -> None:
            parsed = convert(data, InternalFindingIn)
            await services.add_internal_finding(
                p.user_id,
                audit_id,
                {
                    "grade": parsed.grade,
                    "clause": parsed.clause,
                    "requirement": parsed.requirement,
                    "evidence": parsed.evidence,
                },
            )

        return await _attempt(act, render, url)

    async def _finding_page(
        self,
        principal: Principal,
        organisation_id: uuid.UUID,
        finding_id: uuid.UUID,
        errors: dict[str, str],
        status: int = 200,
    ) -> Template:
        ctx = await self._base(principal, organisation_id)
        finding = await services.internal_finding_row(finding_id)
        if finding["organisation_id"] != organisation_id:
            raise NotFound(services.NO_FINDING)
        ctx.update(
            finding=finding,
            members=await services.organisation_members(organisation_id),
            editable=finding["status"] in services.EDITABLE,
            errors=errors,
        )
        return Template("readiness/internal_finding.html", context=ctx, status_code=status)

    @get("/internal-findings/{finding_id:uuid}")
    async def internal_finding(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID, finding_id: uuid.UUID
    ) -> Template:
        return await self._finding_page(me(request), organisation_id, finding_id, {})

    async def _finding_write(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID, finding_id: uuid.UUID
    ) -> tuple[Principal, Render, str, dict[str, Any]]:
        p = me(request)
        client(p, organisation_id, write=True)
        finding = await services.internal_finding_row(finding_id)
        if finding["organisation_id"] != organisation_id:
            raise NotFound(services.NO_FINDING)

        async def render(errors: dict[str, str], status: int) -> Template:
            return await self._finding_page(p, organisation_id, finding_id, errors, status)

        url = f"/organisations/{organisation_id}/internal-findings/{finding_id}"
        return p, render, url, await form_data(request)

    @post("/internal-findings/{finding_id:uuid}")
    async def answer_finding(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID, finding_id: uuid.UUID
    ) -> Response[Any]:
        p, render, url, data = await self._finding_write(request, organisation_id, finding_id)

        async def act() -> None:
            parsed = convert(
                _blank_to_none(data, "owner_id", "target_date", "root_cause_method"),
                InternalFindingPatch,
            )
            changes = {
                k: getattr(parsed, k)
                for k in (
                    "correction",
                    "root_cause_method",
                    "root_cause",
                    "action_plan",
                    "target_date",
                )
                if getattr(parsed, k) is not None
            }
            changes["owner_id"] = parsed.owner_id
            await services.update_internal_finding(p.user_id, finding_id, changes)

        return await _attempt(act, render, url)

    @post("/internal-findings/{finding_id:uuid}/steps")
    async def finding_step(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID, finding_id: uuid.UUID
    ) -> Response[Any]:
        p, render, url, data = await self._finding_write(request, organisation_id, finding_id)

        async def act() -> None:
            parsed = convert(data, StepIn)
            await services.transition_internal_finding(
                p.user_id, finding_id, parsed.step, parsed.comment
            )

        return await _attempt(act, render, url)

    async def _reviews(
        self,
        principal: Principal,
        organisation_id: uuid.UUID,
        errors: dict[str, str],
        status: int = 200,
    ) -> Template:
        ctx = await self._base(principal, organisation_id)
        ctx.update(
            reviews=await services.list_management_reviews(organisation_id),
            inputs=services.REVIEW_INPUTS,
            errors=errors,
        )
        return Template("readiness/management_reviews.html", context=ctx, status_code=status)

    @get("/management-reviews")
    async def reviews(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID
    ) -> Template:
        return await self._reviews(me(request), organisation_id, {})

    @post("/management-reviews")
    async def add_review(
        self, request: Request[Any, Any, Any], organisation_id: uuid.UUID
    ) -> Response[Any]:
        p = me(request)
        client(p, organisation_id, write=True)
        data = await form_data(request)

        async def act() -> None:
            parsed = convert(
                {
                    "held_on": data.get("held_on") or None,
                    "attendees": data.get("attendees", ""),
                    "inputs": as_list(data.get("inputs")),
                    "decisions": data.get("decisions", ""),
                },
                ManagementReviewIn,
            )
            await services.create_management_review(
                p.user_id,
                organisation_id,
                {
                    "held_on": parsed.held_on,
                    "attendees": parsed.attendees,
                    "inputs": parsed.inputs,
                    "decisions": parsed.decisions,
                },
            )

        async def render(errors: dict[str, str], status: int) -> Template:
            return await self._reviews(p, organisation_id, errors, status)

        return await _attempt(act, render, f"/organisations/{organisation_id}/management-reviews")


class BodyReadinessPages(Controller):
    include_in_schema = False
    path = "/manage/bodies/{body_id:uuid}"
    guards = [requires_login]

    @get("/shared-documents")
    async def shared(self, request: Request[Any, Any, Any], body_id: uuid.UUID) -> Template:
        body(me(request), body_id)
        return Template(
            "readiness/body_shared.html",
            context={
                "body_id": body_id,
                "body_name": await services.body_name(body_id),
                "documents": await services.shared_documents(body_id),
                "audits": await services.list_internal_audits(shared_with=body_id),
            },
        )

    async def _document(
        self,
        principal: Principal,
        body_id: uuid.UUID,
        document_id: uuid.UUID,
        errors: dict[str, str],
        status: int = 200,
        log_view: bool = False,
    ) -> Template:
        body(principal, body_id)
        doc = await services.body_document(body_id, document_id)
        if log_view:
            current = doc["current"]
            await services.record_access(
                document_id,
                current["id"] if current else None,
                principal.user_id,
                "body",
                "view",
                body_id,
            )
        return Template(
            "readiness/body_document.html",
            context={
                "body_id": body_id,
                "doc": doc,
                "can_comment": bool(principal.roles_in(TenantKind.body, body_id) & BODY_COMMENTERS),
                "reports": await services.stage1_reports(body_id, doc["organisation"]),
                "errors": errors,
            },
            status_code=status,
        )

    @get("/shared-documents/{document_id:uuid}")
    async def document(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID, document_id: uuid.UUID
    ) -> Template:
        return await self._document(me(request), body_id, document_id, {}, log_view=True)

    @get("/shared-documents/{document_id:uuid}/versions/{version_id:uuid}/file")
    async def download(
        self,
        request: Request[Any, Any, Any],
        body_id: uuid.UUID,
        document_id: uuid.UUID,
        version_id: uuid.UUID,
    ) -> Response[bytes]:
        p = me(request)
        body(p, body_id)
        await services.body_document(body_id, document_id)
        version = await services.version_row(document_id, version_id)
        if version["status"] == "draft":
            raise NotFound(services.NO_VERSION)
        response = file_response(version)
        await services.record_access(
            document_id, version_id, p.user_id, "body", "download", body_id
        )
        return response

    @post("/shared-documents/{document_id:uuid}/comments")
    async def comment(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID, document_id: uuid.UUID
    ) -> Response[Any]:
        p = me(request)
        body(p, body_id, comment=True)
        data = await form_data(request)

        async def act() -> None:
            parsed = convert(data, CommentIn)
            await services.add_comment(
                p.user_id, body_id, document_id, parsed.version_id, parsed.text
            )

        async def render(errors: dict[str, str], status: int) -> Template:
            return await self._document(p, body_id, document_id, errors, status)

        return await _attempt(
            act, render, f"/manage/bodies/{body_id}/shared-documents/{document_id}#comments"
        )

    @get("/shared-internal-audits/{audit_id:uuid}")
    async def internal_audit(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID, audit_id: uuid.UUID
    ) -> Template:
        body(me(request), body_id)
        row = await services.internal_audit_row(audit_id)
        if row["shared_body"] != body_id:
            raise NotFound(services.NO_AUDIT)
        return Template(
            "readiness/body_internal_audit.html",
            context={
                "body_id": body_id,
                "audit": await services.get_internal_audit(audit_id),
                "organisation_name": await services.organisation_name(row["organisation"]),
            },
        )


class ReferencePages(Controller):
    include_in_schema = False
    path = "/reports/{report_id:uuid}/references"
    guards = [requires_login]

    async def _page(
        self, principal: Principal, report_id: uuid.UUID, errors: dict[str, str], status: int = 200
    ) -> Template:
        row = await findings_services.report_row(report_id)
        side = report_side(principal, row)
        report = await services.report_for_reference(report_id)
        can_write = (
            side == "body"
            and bool(principal.roles_in(TenantKind.body, row["body"]) & REPORT_WRITERS)
            and report["audit_kind"] == "stage1"
            and report["status"] == "draft"
        )
        shared = (
            [
                d
                for d in await services.shared_documents(row["body"])
                if d["organisation"] == row["organisation"]
            ]
            if can_write
            else []
        )
        return Template(
            "readiness/references.html",
            context={
                "report": report,
                "side": side,
                "references": await services.list_references(report_id),
                "can_write": can_write,
                "shared": shared,
                "errors": errors,
            },
            status_code=status,
        )

    @get("")
    async def view(self, request: Request[Any, Any, Any], report_id: uuid.UUID) -> Template:
        return await self._page(me(request), report_id, {})

    @post("")
    async def add(self, request: Request[Any, Any, Any], report_id: uuid.UUID) -> Response[Any]:
        p = me(request)
        report_side(p, await findings_services.report_row(report_id), write=True)
        data = _blank_to_none(await form_data(request), "document_id", "version_id")

        async def act() -> None:
            parsed = convert(data, ReferenceIn)
            await services.add_reference(
                p.user_id,
                report_id,
                {
                    "document_id": parsed.document_id,
                    "version_id": parsed.version_id,
                    "clause": parsed.clause,
                    "note": parsed.note,
                },
            )

        async def render(errors: dict[str, str], status: int) -> Template:
            return await self._page(p, report_id, errors, status)

        return await _attempt(act, render, f"/reports/{report_id}/references")


PAGE_CONTROLLERS = [ClientReadinessPages, BodyReadinessPages, ReferencePages]
