"""Who may touch which tenant's object: the one guard mechanism every endpoint uses."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler

from marketplace.accounts.roles import TenantKind
from marketplace.core.errors import Forbidden, NotFound, Unauthorized


@dataclass(frozen=True)
class MembershipRef:
    kind: TenantKind
    tenant_id: uuid.UUID
    role: str
    tenant_name: str = ""


@dataclass(frozen=True)
class Principal:
    """The signed-in caller with every membership, loaded once per request."""

    user_id: uuid.UUID
    email: str
    name: str
    time_zone: str
    is_platform_admin: bool
    memberships: tuple[MembershipRef, ...]
    token_id: uuid.UUID | None = None  # set when the caller authenticated with an API token
    session_id: uuid.UUID | None = None  # set when the caller came with a page session

    def roles_in(self, kind: TenantKind | str, tenant_id: uuid.UUID) -> frozenset[str]:
        return frozenset(
            m.role for m in self.memberships if m.kind == kind and m.tenant_id == tenant_id
        )

    def tenants(
        self, kind: TenantKind | str, roles: Iterable[str] | None = None
    ) -> list[uuid.UUID]:
        wanted = set(roles) if roles is not None else None
        return [
            m.tenant_id
            for m in self.memberships
            if m.kind == kind and (wanted is None or m.role in wanted)
        ]


def require_role(
    principal: Principal,
    kind: TenantKind | str,
    tenant_id: uuid.UUID,
    roles: Iterable[str] | None = None,
    *,
    what: str = "Not found.",
) -> str:
    """Caller must hold one of `roles` (any role when None) in the tenant that owns the object.

    No membership at all answers 404, exactly like an unknown id, so other tenants' objects stay
    invisible; a member without the needed role gets 403.
    """
    held = principal.roles_in(kind, tenant_id)
    if not held:
        raise NotFound(what)
    if roles is None:
        return next(iter(held))
    wanted = set(roles)
    for role in held:
        if role in wanted:
            return role
    raise Forbidden(
        f"This needs the {' or '.join(sorted(wanted))} role in this {TenantKind(kind).value}.",
        code="role_required",
    )


def is_member(principal: Principal | None, kind: TenantKind | str, tenant_id: uuid.UUID) -> bool:
    return principal is not None and bool(principal.roles_in(kind, tenant_id))


def current_principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    principal = connection.scope.get("principal")
    return principal if isinstance(principal, Principal) else None


def requires_login(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if current_principal(connection) is None:
        raise NotAuthorizedException()


def requires_platform_admin(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    principal = current_principal(connection)
    if principal is None:
        raise NotAuthorizedException()
    if not principal.is_platform_admin:
        raise Forbidden("Platform administrators only.", code="admin_required")


def principal_of(request: Request[Any, Any, Any]) -> Principal:
    """The API caller; 401 when the request carries no valid bearer token."""
    principal = current_principal(request)
    if principal is None:
        raise Unauthorized("Send a valid bearer token.")
    return principal


def me(request: Request[Any, Any, Any]) -> Principal:
    """The signed-in person on a page; 401 (the sign-in page) without a session."""
    principal = current_principal(request)
    if principal is None:
        raise Unauthorized("Sign in first.")
    return principal


def client_address(request: Request[Any, Any, Any]) -> str | None:
    """The caller's address for throttling: the TCP peer, or the client a trusted proxy names
    (the server applies MARKETPLACE_TRUSTED_PROXIES to X-Forwarded-For before we see it)."""
    return request.client.host if request.client else None
