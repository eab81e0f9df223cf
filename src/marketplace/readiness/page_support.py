"""What every readiness page shares: forms read into the API's Structs, errors shown again."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from litestar import Request, Response
from litestar.datastructures import UploadFile
from litestar.response import Redirect, Template

from marketplace.accounts.guards import Principal, me
from marketplace.core.errors import DomainError, Invalid
from marketplace.findings.evidence import max_bytes
from marketplace.readiness.context import can_edit, client, organisation_name
from marketplace.web.forms import as_list, blank_to_none, convert, errors_by_field, form_data

AnyRequest = Request[Any, Any, Any]
S = TypeVar("S")
Render = Callable[[dict[str, str], int], Awaitable[Template]]


def parse(
    data: dict[str, Any], kind: type[S], blank: tuple[str, ...] = (), lists: tuple[str, ...] = ()
) -> S:
    """A form post as the API's Struct: a blank field is null, a multiple choice is a list."""
    values = blank_to_none(data, blank)
    for name in lists:
        values[name] = as_list(values.get(name))
    parsed: S = convert(values, kind)
    return parsed


async def attempt(
    action: Callable[[], Awaitable[Any]], render: Render, success: str | Callable[[Any], str]
) -> Response[Any]:
    """Run the change; on a domain error show the same page with the messages and its status."""
    try:
        result = await action()
    except DomainError as exc:
        return await render(errors_by_field(exc), exc.status_code)
    return Redirect(success(result) if callable(success) else success, status_code=303)


async def read_upload(request: AnyRequest) -> tuple[bytes, str | None]:
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise Invalid.field("file", "Choose a file to upload.")
    return await upload.read(max_bytes() + 1), upload.filename


def editor(request: AnyRequest, organisation_id: uuid.UUID) -> Principal:
    """The organisation's editor posting; others get 404 or 403 before anything is read."""
    principal = me(request)
    client(principal, organisation_id, write=True)
    return principal


async def editor_form(
    request: AnyRequest, organisation_id: uuid.UUID
) -> tuple[Principal, dict[str, Any]]:
    return editor(request, organisation_id), await form_data(request)


async def base_context(principal: Principal, organisation_id: uuid.UUID) -> dict[str, Any]:
    client(principal, organisation_id)
    return {
        "organisation_id": organisation_id,
        "organisation_name": await organisation_name(organisation_id),
        "can_edit": can_edit(principal, organisation_id),
        "errors": {},
    }


def page(name: str, ctx: dict[str, Any], errors: dict[str, str], status: int) -> Template:
    return Template(f"readiness/{name}.html", context={**ctx, "errors": errors}, status_code=status)
