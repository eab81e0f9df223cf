"""Who may see and handle quote requests: the roles, and what each viewer of a request sees."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from marketplace.accounts.guards import Principal
from marketplace.accounts.roles import TenantKind
from marketplace.core.errors import Forbidden, NotFound
from marketplace.quotes.tables import QuoteRequestRecipient

# Body roles that see the inbox and answer requests; everyone in a client may read its requests,
# only its owner and quality manager send them and accept a quote.
QUOTE_HANDLERS = frozenset({"owner", "scheduler"})
REQUESTERS = frozenset({"owner", "quality_manager"})


@dataclass(frozen=True)
class Viewer:
    """Who looks at a request: its client (everything) or some of its recipient bodies (theirs)."""

    client: bool
    body_ids: frozenset[uuid.UUID]
    role: str


async def viewer_of(principal: Principal, req: dict[str, Any]) -> Viewer:
    """The client sees the whole request; a recipient body only its own row and quote.

    Anyone else gets 404, exactly as for an unknown id; a body member without a quote-handling
    role gets 403.
    """
    org_roles = principal.roles_in(TenantKind.organisation, req["organisation"])
    if org_roles:
        role = "owner" if "owner" in org_roles else sorted(org_roles)[0]
        return Viewer(True, frozenset(), role)
    mine = set(principal.tenants(TenantKind.body))
    if mine:
        recipients = {
            r["body"]
            for r in await QuoteRequestRecipient.select(QuoteRequestRecipient.body)
            .where(
                (QuoteRequestRecipient.request == req["id"])
                & QuoteRequestRecipient.body.is_in(list(mine))
            )
            .run()
        }
        if recipients:
            allowed = frozenset(
                b for b in recipients if principal.roles_in(TenantKind.body, b) & QUOTE_HANDLERS
            )
            if not allowed:
                raise Forbidden(
                    "Quote requests are handled by a body's owner or scheduler.",
                    code="role_required",
                )
            return Viewer(False, allowed, "body")
    raise NotFound("No such quote request.")
