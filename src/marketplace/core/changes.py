"""apply_changes: write the changed columns of one row and log which fields changed, in one step."""

from __future__ import annotations

import uuid
from typing import Any

from piccolo.columns import Column
from piccolo.table import Table

from marketplace.core import clock
from marketplace.core.activity import Tenant, log_action


async def apply_changes(
    table: type[Table],
    row_id: uuid.UUID,
    updates: dict[Any, Any],
    *,
    action: str,
    actor_id: uuid.UUID | None,
    entity_type: str,
    tenant: Tenant | None,
    entity_id: uuid.UUID | None = None,
    data: dict[str, Any] | None = None,
) -> list[str]:
    """Update `row_id` with `updates` and log `action` naming the changed fields; [] when none.

    Call it inside the caller's write transaction. A table with an `updated_at` column has it
    stamped, and it is left out of the logged field names, which say what the user changed.
    The entry is about `entity_id` (default: the row itself; a document for one of its
    versions) and carries `data` instead of the field names when given.
    """
    if not updates:
        return []
    fields = sorted(column._meta.name for column in updates)
    values: dict[Column | str, Any] = {**updates}
    stamp = table._meta.get_column_by_name("updated_at") if _has(table, "updated_at") else None
    if stamp is not None:
        values[stamp] = clock.now()
    await table.update(values).where(table._meta.primary_key == row_id).run()
    await log_action(
        action,
        actor_id=actor_id,
        entity_type=entity_type,
        entity_id=row_id if entity_id is None else entity_id,
        tenant=tenant,
        data={"fields": fields} if data is None else data,
    )
    return fields


def _has(table: type[Table], name: str) -> bool:
    return any(column._meta.name == name for column in table._meta.columns)
