"""Isolation rows for notifications: preferences are the caller's own; the outbox is administrators' only."""

from __future__ import annotations

from tests.integration.isolation_matrix import Route

ROUTES: list[Route] = [
    # Every signed-in caller has their own preferences, whatever their tenant.
    Route("GET", "/api/v1/me/notification-preferences", {}, other=200),
    Route(
        "PUT",
        "/api/v1/me/notification-preferences",
        {},
        body={"preferences": [{"kind": "quote_received", "email": False}]},
        other=200,
    ),
    Route("GET", "/account/notifications", {}, other=200, anonymous=302),
    # Platform administrators only: every tenant role and the outsider are refused.
    Route("GET", "/api/v1/admin/outbox", {}, other=403),
    Route("GET", "/api/v1/admin/outbox/counts", {}, other=403),
    Route("GET", "/admin/outbox", {}, other=403, anonymous=302),
    Route("POST", "/api/v1/admin/outbox/retry-failed", {}, other=403),
    Route("GET", "/admin/outbox/retry-failed", {}, other=403, anonymous=302),
]
