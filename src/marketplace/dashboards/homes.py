"""Where each user's home is: every dashboard the caller may open."""

from __future__ import annotations

from marketplace.accounts.guards import Principal
from marketplace.dashboards.access import HOME_ROLES
from marketplace.dashboards.schemas import Home


def homes(principal: Principal) -> list[Home]:
    """Every dashboard the caller may open, the first being where "/dashboard" leads."""
    out: list[Home] = []
    for m in principal.memberships:
        if m.kind == "body" and m.role in HOME_ROLES:
            out.append(Home(f"/manage/bodies/{m.tenant_id}/home", f"{m.tenant_name} (body)"))
        elif m.kind == "organisation":
            out.append(Home(f"/organisations/{m.tenant_id}/home", f"{m.tenant_name} (client)"))
    if any(m.kind == "body" and m.role == "auditor" for m in principal.memberships):
        out.append(Home("/me/auditor", "My audits (auditor)"))
    if principal.is_platform_admin:
        out.insert(0, Home("/admin/home", "Platform administration"))
    unique: list[Home] = []
    for h in out:
        if all(u.href != h.href for u in unique):
            unique.append(h)
    return unique
