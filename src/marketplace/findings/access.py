"""Who may read, write, answer and review a report or a corrective action, for both tenants."""

from __future__ import annotations

from typing import Any

from marketplace.accounts.guards import Principal
from marketplace.accounts.roles import TenantKind
from marketplace.core.errors import NotFound
from marketplace.scheduling.context import BODY_ALL, CLIENT_ALL, NO_ROLES, check_access

# Who writes reports, who answers corrective actions, who reviews them (DESIGN.md roles).
REPORT_WRITERS = frozenset({"owner", "scheduler", "auditor"})
CLIENT_ANSWERERS = frozenset({"owner", "quality_manager"})
BODY_REVIEWERS = frozenset({"owner", "scheduler", "auditor"})
NO_REPORT = "No such report."
NO_ACTION = "No such corrective action."


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
