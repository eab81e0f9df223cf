"""A tenant's activity log, one page at a time, for the owners who may read it."""

from __future__ import annotations

import msgspec

from marketplace.accounts.schemas import ActivityOut
from marketplace.core.activity import Tenant, entries_for_tenant
from marketplace.core.pagination import Page, PageParams
from marketplace.core.tables import ActivityLog


async def activity_page(tenant: Tenant, params: PageParams) -> Page[ActivityOut]:
    """The newest entries first, with the total for paging."""
    rows = await entries_for_tenant(tenant, limit=params.per_page, offset=params.offset)
    total = (
        await ActivityLog.count()
        .where((ActivityLog.tenant_kind == tenant.kind) & (ActivityLog.tenant_id == tenant.id))
        .run()
    )
    items = [msgspec.convert(r, ActivityOut, strict=False) for r in rows]
    return Page(items=items, total=total, page=params.page, per_page=params.per_page)
