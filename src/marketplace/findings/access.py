"""Who may read, write, answer and review a report or a corrective action, for both tenants."""

from __future__ import annotations

import uuid
from typing import Any

from marketplace.accounts.guards import Principal, require_role
from marketplace.accounts.roles import TenantKind
from marketplace.core.errors import NotFound
from marketplace.scheduling.context import BODY_ALL, CLIENT_ALL, NO_ROLES, check_access

# Who writes reports, who answers corrective actions, who reviews them (DESIGN.md roles).
REPORT_WRITERS = frozenset({"owner", "scheduler", "auditor"})
CLIENT_ANSWERERS = frozenset({"owner", "quality_manager"})
BODY_REVIEWERS = frozenset({"owner", "scheduler", "auditor"})
NO_REPORT = "No such report."
NO_ACTION = "No such corrective action."
NO_AUDIT = "No such audit."
NO_BODY = "No such certification body."
NO_ORG = "No such organisation."

Actor = Principal | uuid.UUID | None
"""Who acts in a findings service: a signed-in Principal, whose roles are checked against the
object, or a trusted caller inside the platform (the demo generator, tests, jobs) that names
the user it acts for by id, or None, and is not checked."""


def actor_id(actor: Actor) -> uuid.UUID | None:
    """The user id the activity log records for `actor`."""
    return actor.user_id if isinstance(actor, Principal) else actor


def report_side(principal: Principal, report: dict[str, Any], *, write: bool = False) -> str:
    """Body members read every revision; the client reads only issued ones (drafts are internal)."""
    side = check_access(
        principal,
        report["organisation"],
        report["body"],
        client=NO_ROLES if write else CLIENT_ALL,
        body=REPORT_WRITERS if write else BODY_ALL,
        what=NO_REPORT,
    )
    if side == "client" and report["status"] == "draft":
        raise NotFound(NO_REPORT)
    return side


def action_side(principal: Principal, row: dict[str, Any], *, act: str = "read") -> str:
    """read: both parties; answer: client owner/quality manager or the assigned owner; review: body."""
    if act == "answer":
        if row["owner"] == principal.user_id and principal.roles_in(
            TenantKind.organisation, row["organisation"]
        ):
            return "client"
        return check_access(
            principal, row["organisation"], row["body"], client=CLIENT_ANSWERERS, what=NO_ACTION
        )
    if act == "review":
        return check_access(
            principal, row["organisation"], row["body"], body=BODY_REVIEWERS, what=NO_ACTION
        )
    return check_access(
        principal,
        row["organisation"],
        row["body"],
        client=CLIENT_ALL,
        body=BODY_ALL,
        what=NO_ACTION,
    )


def audit_writer(actor: Actor, organisation_id: uuid.UUID, body_id: uuid.UUID) -> None:
    """Only the body's report writers draft an audit's report (the client gets 403, others 404)."""
    if isinstance(actor, Principal):
        check_access(actor, organisation_id, body_id, body=REPORT_WRITERS, what=NO_AUDIT)


def report_actor(actor: Actor, report: dict[str, Any], *, write: bool = False) -> str | None:
    """report_side for a Principal; None (no side, not checked) for a trusted caller."""
    return report_side(actor, report, write=write) if isinstance(actor, Principal) else None


def action_actor(actor: Actor, row: dict[str, Any], *, act: str = "read") -> str | None:
    """action_side for a Principal; None (no side, not checked) for a trusted caller."""
    return action_side(actor, row, act=act) if isinstance(actor, Principal) else None


def body_member(actor: Actor, body_id: uuid.UUID, roles: frozenset[str] = BODY_ALL) -> None:
    """A member of the body with one of `roles` (404 for other tenants, 403 for other roles)."""
    if isinstance(actor, Principal):
        require_role(actor, TenantKind.body, body_id, roles, what=NO_BODY)


def organisation_member(actor: Actor, organisation_id: uuid.UUID) -> None:
    """Any member of the client organisation (404 for everyone else)."""
    if isinstance(actor, Principal):
        require_role(actor, TenantKind.organisation, organisation_id, CLIENT_ALL, what=NO_ORG)


def can_write_reports(principal: Principal, body_id: uuid.UUID) -> bool:
    return bool(principal.roles_in(TenantKind.body, body_id) & REPORT_WRITERS)


def can_answer(principal: Principal, row: dict[str, Any]) -> bool:
    """The client's owner or quality manager, or the member the action is assigned to."""
    roles = principal.roles_in(TenantKind.organisation, row["organisation"])
    return bool(roles & CLIENT_ANSWERERS) or (bool(roles) and row["owner"] == principal.user_id)


def can_review(principal: Principal, row: dict[str, Any]) -> bool:
    return bool(principal.roles_in(TenantKind.body, row["body"]) & BODY_REVIEWERS)
