"""log_action: the one way services record what happened (namespaced actions such as marketplace.account.created)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from marketplace.core import clock
from marketplace.core.tables import ActivityLog

_ACTION = re.compile(r"^marketplace(\.[a-z_]+){2,}$")


@dataclass(frozen=True)
class Tenant:
    kind: str  # "organisation" | "body"
    id: uuid.UUID


@dataclass(frozen=True)
class ActionEntry:
    """What a listener of an action is told (the same fields log_action records)."""

    action: str
    actor_id: uuid.UUID | None
    entity_type: str
    entity_id: str
    tenant: Tenant | None
    data: dict[str, Any]
    # What listeners need but the log must not keep, such as the secret of an e-mailed link.
    private: dict[str, Any] = field(default_factory=dict)


ActionListener = Callable[[ActionEntry], Awaitable[None]]
_listeners: dict[str, list[ActionListener]] = {}


def on_action(action: str, listener: ActionListener) -> None:
    """Call `listener` from log_action, in the cause's transaction (pretix: the log drives notifications).

    Higher floors (notifications and the domains' notification hooks) react this way to what lower
    ones do without the lower ones importing them. Registering the same listener twice is a no-op.
    """
    listeners = _listeners.setdefault(action, [])
    if listener not in listeners:
        listeners.append(listener)


def listeners() -> dict[str, list[ActionListener]]:
    """A copy of who listens to which action (to check what an entry point wired)."""
    return {action: list(fns) for action, fns in _listeners.items()}


async def log_action(
    action: str,
    *,
    actor_id: uuid.UUID | None,
    entity_type: str,
    entity_id: uuid.UUID | str,
    tenant: Tenant | None = None,
    data: dict[str, Any] | None = None,
    private: dict[str, Any] | None = None,
) -> None:
    if not _ACTION.match(action):
        raise ValueError(
            f"activity actions are namespaced like marketplace.thing.verb, got {action!r}"
        )
    await ActivityLog.insert(
        ActivityLog(
            actor_id=actor_id,
            action=action,
            entity_type=entity_type,
            entity_id=str(entity_id),
            tenant_kind=tenant.kind if tenant else None,
            tenant_id=tenant.id if tenant else None,
            data=data or {},
            created_at=clock.now(),
        )
    ).run()
    listeners = _listeners.get(action)
    if listeners:
        entry = ActionEntry(
            action, actor_id, entity_type, str(entity_id), tenant, data or {}, private or {}
        )
        for listener in listeners:
            await listener(entry)


async def entries_for_tenant(
    tenant: Tenant, limit: int = 100, offset: int = 0
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (
        await ActivityLog.select()
        .where((ActivityLog.tenant_kind == tenant.kind) & (ActivityLog.tenant_id == tenant.id))
        .order_by(ActivityLog.created_at, ascending=False)
        .limit(limit)
        .offset(offset)
        .output(load_json=True)
        .run()
    )
    return rows


async def entries_for_entity(entity_type: str, entity_id: uuid.UUID | str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (
        await ActivityLog.select()
        .where((ActivityLog.entity_type == entity_type) & (ActivityLog.entity_id == str(entity_id)))
        .order_by(ActivityLog.created_at)
        .output(load_json=True)
        .run()
    )
    return rows
