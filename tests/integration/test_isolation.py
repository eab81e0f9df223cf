"""Runs the tenant-isolation matrix: every route, every role, own tenant and the other one."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from marketplace.accounts.sessions import start_session
from tests.factories import ROLE_KEYS, World
from tests.integration.isolation_matrix import Route, all_routes

CALLERS = (
    [("a", key) for key in ROLE_KEYS]
    + [("b", key) for key in ROLE_KEYS]
    + [("-", "outsider"), ("-", "anonymous")]
)


def _cases() -> list[Any]:
    cases = []
    for route in all_routes():
        for tenant, key in CALLERS:
            if key == "anonymous":
                expected = route.anonymous
            elif tenant == "a":
                expected = route.own.get(key, route.other)
            else:
                expected = route.other
            cases.append(
                pytest.param(
                    route,
                    tenant,
                    key,
                    expected,
                    id=f"{route.method} {route.path} {tenant}:{key}->{expected}",
                )
            )
    return cases


def matrix_size() -> int:
    return len(_cases())


async def _resolve(route: Route, world: World) -> str:
    a = world.a
    ids: dict[str, object] = {"org": a.org_id, "body": a.body_id, "site": a.site_id}
    if route.setup is not None:
        # A domain's route may need objects of its own in tenant a (a quote, an audit ...).
        ids.update(await route.setup(world))
    return route.path.format(**ids)


@pytest.mark.parametrize(("route", "tenant", "key", "expected"), _cases())
async def test_isolation(
    client: httpx.AsyncClient, world: World, route: Route, tenant: str, key: str, expected: int
) -> None:
    path = await _resolve(route, world)
    headers: dict[str, str] = {}
    cookies: dict[str, str] = {}
    actor = None
    if key == "outsider":
        actor = world.outsider
    elif key != "anonymous":
        actor = world.actor(tenant, key)
    if actor is not None:
        if path.startswith("/api/"):
            headers = actor.headers
        else:
            session = await start_session(actor.user_id, 1)
            cookies = {"mp_session": session.secret}
    client.cookies.clear()
    for k, v in cookies.items():
        client.cookies.set(k, v)
    response = await client.request(route.method, path, json=route.json(), headers=headers)
    assert response.status_code == expected, response.text[:300]
    if expected == 404 and path.startswith("/api/"):
        assert "detail" in response.json()
