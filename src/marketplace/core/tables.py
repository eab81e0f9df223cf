"""Tables every domain shares: the append-only activity log."""

from __future__ import annotations

from piccolo.columns import JSONB, UUID, Timestamptz, Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

from marketplace.core import clock


class ActivityLog(Table):
    """Append-only trail of every change that matters (pretix's log_action); never updated."""

    id = UUID(primary_key=True)
    # Plain ids rather than foreign keys: the log outlives what it describes and stays append-only.
    actor_id = UUID(null=True, default=None, index=True)
    action = Varchar(length=120, index=True)
    entity_type = Varchar(length=60)
    entity_id = Varchar(length=64, index=True)
    tenant_kind = Varchar(length=20, null=True, default=None)
    tenant_id = UUID(null=True, default=None, index=True, index_method=IndexMethod.btree)
    data = JSONB(default={})
    created_at = Timestamptz(default=clock.now, index=True)
