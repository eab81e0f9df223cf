"""Who may open which dashboard: the roles of a body's home, its notes and its invoice figures."""

from __future__ import annotations

import uuid

from marketplace.accounts.guards import Principal, require_role
from marketplace.accounts.roles import TenantKind
from marketplace.billing.access import BILLERS
from marketplace.scheduling.context import BODY_ALL, CLIENT_ALL

# Who sees a body's home and client file: everyone but auditors, who have a home of their own.
HOME_ROLES = frozenset({"owner", "scheduler", "decision_maker", "finance"})
NOTE_WRITERS = frozenset({"owner", "scheduler", "decision_maker"})
NO_BODY = "No such certification body."
NO_CLIENT = "No such client."
NO_ORGANISATION = "No such organisation."


def home_role(principal: Principal, body_id: uuid.UUID) -> str:
    """The caller's role on the body's home: 404 outside the body, 403 for auditors."""
    return require_role(principal, TenantKind.body, body_id, HOME_ROLES, what=NO_BODY)


def sees_invoices(role: str) -> bool:
    """Invoice figures are for the body's owner and finance roles."""
    return role in BILLERS


def require_note_writer(principal: Principal, body_id: uuid.UUID) -> None:
    require_role(principal, TenantKind.body, body_id, NOTE_WRITERS, what=NO_BODY)


def require_body_member(principal: Principal, body_id: uuid.UUID) -> None:
    """Any role in the body, auditors included (the corrective action list)."""
    require_role(principal, TenantKind.body, body_id, BODY_ALL, what=NO_BODY)


def require_client_member(principal: Principal, organisation_id: uuid.UUID) -> None:
    require_role(
        principal, TenantKind.organisation, organisation_id, CLIENT_ALL, what=NO_ORGANISATION
    )
