"""The tenant-isolation matrix, kept as data: route x role x own/other tenant -> expected status.

Each Route names its path with placeholders resolved against tenant "a" ({org}, {body}, {site},
or any key a later issue adds to `extra_ids`). A caller holding `role key` in tenant a expects
`own[role key]`; a role missing from `own` expects `other` (default 404: a tenant that is not
yours is indistinguishable from one that does not exist). Every role of tenant b, and the signed-in
outsider, expect `other`; an anonymous caller expects `anonymous`. Later issues append their routes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

ORG_ALL = {"org:owner": 200, "org:quality_manager": 200, "org:member": 200}
BODY_ALL = {
    f"body:{r}": 200 for r in ("owner", "scheduler", "auditor", "decision_maker", "finance")
}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    own: dict[str, int]
    body: dict[str, Any] | Callable[[], dict[str, Any]] | None = None
    other: int = 404
    anonymous: int = 401
    note: str = ""
    # async (world) -> {placeholder: id}: creates what the path needs inside tenant a
    setup: Callable[[Any], Awaitable[dict[str, Any]]] | None = None

    def json(self) -> dict[str, Any] | None:
        return self.body() if callable(self.body) else self.body


def _member(role: str) -> Callable[[], dict[str, Any]]:
    counter = iter(range(10**6))
    return lambda: {"email": f"new{next(counter)}-{id(counter)}@example.test", "role": role}


async def _invitation(world: Any, kind: str) -> dict[str, Any]:
    """A fresh pending invitation in tenant a (revoking one per case must find one to revoke)."""
    from marketplace.accounts.members import invite_member
    from marketplace.accounts.roles import TenantKind
    from marketplace.accounts.tables import Invitation

    tenant_kind = TenantKind(kind)
    tenant_id = world.a.org_id if kind == "organisation" else world.a.body_id
    manager = world.actor("a", "org:owner" if kind == "organisation" else "body:owner")
    role = "member" if kind == "organisation" else "auditor"
    email = f"invitee-{next(_invitations)}@example.test"
    await invite_member(manager.user_id, tenant_kind, tenant_id, email, role)
    row = await Invitation.select(Invitation.id).where(Invitation.email == email).first().run()
    assert row is not None
    return {"invitation": row["id"]}


_invitations = iter(range(10**6))


async def _org_invitation(world: Any) -> dict[str, Any]:
    return await _invitation(world, "organisation")


async def _body_invitation(world: Any) -> dict[str, Any]:
    return await _invitation(world, "body")


ORG_MANAGERS_ONLY = {"org:owner": 200, "org:quality_manager": 200, "org:member": 403}
BODY_OWNER_ONLY = {
    "body:owner": 200,
    "body:scheduler": 403,
    "body:auditor": 403,
    "body:decision_maker": 403,
    "body:finance": 403,
}


def _with(expected: dict[str, int], ok: int) -> dict[str, int]:
    return {k: ok if v == 200 else v for k, v in expected.items()}


ROUTES: list[Route] = [
    Route("GET", "/api/v1/organisations/{org}", ORG_ALL),
    Route(
        "POST",
        "/api/v1/organisations/{org}/members",
        {"org:owner": 201, "org:quality_manager": 201, "org:member": 403},
        body=_member("member"),
    ),
    Route("GET", "/api/v1/organisations/{org}/invitations", ORG_MANAGERS_ONLY),
    Route(
        "DELETE",
        "/api/v1/organisations/{org}/invitations/{invitation}",
        _with(ORG_MANAGERS_ONLY, 204),
        setup=_org_invitation,
    ),
    Route(
        "POST",
        "/api/v1/organisations/{org}/sites",
        {"org:owner": 201, "org:quality_manager": 201, "org:member": 403},
        body={"name": "Depot", "country": "GB", "time_zone": "Europe/London", "headcount": 5},
    ),
    Route(
        "GET",
        "/api/v1/organisations/{org}/activity",
        {"org:owner": 200, "org:quality_manager": 403, "org:member": 403},
    ),
    Route(
        "PATCH",
        "/api/v1/bodies/{body}",
        {
            "body:owner": 200,
            "body:scheduler": 403,
            "body:auditor": 403,
            "body:decision_maker": 403,
            "body:finance": 403,
        },
        body={"description": "Updated"},
    ),
    Route(
        "POST",
        "/api/v1/bodies/{body}/members",
        {
            "body:owner": 201,
            "body:scheduler": 403,
            "body:auditor": 403,
            "body:decision_maker": 403,
            "body:finance": 403,
        },
        body=_member("auditor"),
    ),
    Route("GET", "/api/v1/bodies/{body}/invitations", BODY_OWNER_ONLY),
    Route(
        "DELETE",
        "/api/v1/bodies/{body}/invitations/{invitation}",
        _with(BODY_OWNER_ONLY, 204),
        setup=_body_invitation,
    ),
    Route(
        "GET",
        "/api/v1/bodies/{body}/activity",
        {
            "body:owner": 200,
            "body:scheduler": 403,
            "body:auditor": 403,
            "body:decision_maker": 403,
            "body:finance": 403,
        },
    ),
    # Pages follow the same rule: other tenants' pages are 404; anonymous browsers go to /login.
    Route("GET", "/organisations/{org}", ORG_ALL, anonymous=302),
    Route(
        "GET",
        "/organisations/{org}/activity",
        {"org:owner": 200, "org:quality_manager": 403, "org:member": 403},
        anonymous=302,
    ),
    Route(
        "GET",
        "/organisations/{org}/invitations/{invitation}/revoke",
        ORG_MANAGERS_ONLY,
        anonymous=302,
        setup=_org_invitation,
    ),
    Route("GET", "/manage/bodies/{body}", BODY_ALL, anonymous=302),
    Route(
        "GET",
        "/manage/bodies/{body}/invitations/{invitation}/revoke",
        BODY_OWNER_ONLY,
        anonymous=302,
        setup=_body_invitation,
    ),
    Route(
        "GET",
        "/manage/bodies/{body}/activity",
        {
            "body:owner": 200,
            "body:scheduler": 403,
            "body:auditor": 403,
            "body:decision_maker": 403,
            "body:finance": 403,
        },
        anonymous=302,
    ),
]


def all_routes() -> list[Route]:
    """The foundation's routes plus every domain's own list (tests/integration/<domain>/isolation_routes.py)."""
    import importlib
    import pkgutil

    import tests.integration as integration

    routes = list(ROUTES)
    for info in sorted(pkgutil.iter_modules(integration.__path__), key=lambda m: m.name):
        if info.ispkg:
            try:
                module = importlib.import_module(f"tests.integration.{info.name}.isolation_routes")
            except ModuleNotFoundError as exc:
                if exc.name != f"tests.integration.{info.name}.isolation_routes":
                    raise
                continue
            routes.extend(module.ROUTES)
    return routes
