"""Who acts in readiness and what every area shares: roles, clause numbers, members, patches."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from typing import Any, TypeVar

import msgspec
from piccolo.table import Table

from marketplace.accounts.guards import Principal, require_role
from marketplace.accounts.names import name_of
from marketplace.accounts.roles import TenantKind
from marketplace.accounts.tables import Membership, Organisation
from marketplace.core.errors import Invalid, NotFound
from marketplace.findings.access import REPORT_WRITERS
from marketplace.readiness.schemas import StandardRef
from marketplace.reference.tables import Standard
from marketplace.scheduling.context import CLIENT_ALL

# Who may do what (DESIGN.md roles). The client's owner and quality manager run readiness; members
# read. On the body side, shared documents are for those who audit and decide (findings lets the
# same people read reports); finance has no business in a client's management system documents.
CLIENT_EDITORS = frozenset({"owner", "quality_manager"})
BODY_READERS = frozenset({"owner", "scheduler", "auditor", "decision_maker"})
BODY_COMMENTERS = REPORT_WRITERS
NO_ORG = "No such organisation."
NO_BODY = "No such certification body."
CLAUSE_PATTERN = re.compile(r"^\d{1,2}(\.\d{1,2}){0,3}$")
T = TypeVar("T")


def client(principal: Principal, organisation_id: uuid.UUID, *, write: bool = False) -> None:
    """Members of the organisation read its readiness; its owner and quality manager change it."""
    require_role(
        principal,
        TenantKind.organisation,
        organisation_id,
        CLIENT_EDITORS if write else CLIENT_ALL,
        what=NO_ORG,
    )


def body(principal: Principal, body_id: uuid.UUID, *, comment: bool = False) -> None:
    """Those who audit and decide read what clients share; report writers may comment."""
    require_role(
        principal,
        TenantKind.body,
        body_id,
        BODY_COMMENTERS if comment else BODY_READERS,
        what=NO_BODY,
    )


def can_edit(principal: Principal, organisation_id: uuid.UUID) -> bool:
    return bool(principal.roles_in(TenantKind.organisation, organisation_id) & CLIENT_EDITORS)


def can_comment(principal: Principal, body_id: uuid.UUID) -> bool:
    return bool(principal.roles_in(TenantKind.body, body_id) & BODY_COMMENTERS)


def check_clause(field: str, value: str) -> str:
    value = value.strip()
    if value and not CLAUSE_PATTERN.match(value):
        raise Invalid.field(field, "A clause number such as 7.5 or 8.5.1.")
    return value


async def check_member(field: str, organisation_id: uuid.UUID, user_id: Any) -> None:
    if user_id is None:
        return
    if (
        not await Membership.exists()
        .where((Membership.user == user_id) & (Membership.organisation == organisation_id))
        .run()
    ):
        raise Invalid.field(field, "Choose a member of the organisation.")


async def organisation_name(organisation_id: uuid.UUID) -> str:
    name = await name_of(Organisation, organisation_id)
    if name is None:
        raise NotFound("No such organisation.")
    return name


async def standards() -> list[StandardRef]:
    rows: list[dict[str, Any]] = (
        await Standard.select(Standard.code, Standard.title).order_by(Standard.code).run()
    )
    return msgspec.convert(rows, list[StandardRef])


# --- patches ------------------------------------------------------------------------------------


def changes_of(
    data: msgspec.Struct, given: Iterable[str], clearable: Iterable[str] = ()
) -> dict[str, Any]:
    """What a patch changes: every field it sets, and a clearable field sent as null (or blank).

    `given` names the fields the caller sent (the JSON object's keys, the form's fields), so an
    absent field keeps its value while an explicit null clears it.
    """
    sent = set(given)
    out = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not None}
    for name in clearable:
        if name in sent:
            out[name] = getattr(data, name)
    return out


def columns_of(table: type[Table], changes: dict[str, Any], names: Iterable[str]) -> dict[Any, Any]:
    """The column updates for the named fields present in `changes` (a null kept: it clears)."""
    return {getattr(table, n): changes[n] for n in names if n in changes}


def as_struct(row: dict[str, Any], kind: type[T], **renames: str) -> T:
    """A row as an API answer; `renames` gives the answer's name for a column (owner_id="owner")."""
    return msgspec.convert(
        {**row, **{k: row.get(v) for k, v in renames.items()}}, kind, strict=False
    )
