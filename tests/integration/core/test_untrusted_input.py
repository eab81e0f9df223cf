"""Input anyone can send gets a clear 4xx, never a 500 (API.md): paging, nesting, standards."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import Actor, World, sign_in

# Every list that takes page/per_page: (path template, who asks). Found with
# `grep -rn "page: int" src` and the app's route table; a new list belongs here.
API_LISTS = [
    ("/api/v1/bodies", None),
    ("/api/v1/admin/accreditations", "admin"),
    ("/api/v1/bodies/{body}/reviews", None),
    ("/api/v1/bodies/{body}/activity", "body:owner"),
    ("/api/v1/organisations/{org}/activity", "org:owner"),
    ("/api/v1/bodies/{body}/quote-requests", "body:owner"),
    ("/api/v1/organisations/{org}/quote-requests", "org:owner"),
    ("/api/v1/calendar-feeds", "body:owner"),
    ("/api/v1/organisations/{org}/corrective-actions", "org:owner"),
    ("/api/v1/bodies/{body}/corrective-actions", "body:owner"),
    ("/api/v1/bodies/{body}/invoices", "body:owner"),
    ("/api/v1/organisations/{org}/invoices", "org:owner"),
    ("/api/v1/bodies/{body}/clients", "body:owner"),
    ("/api/v1/admin/reviews", "admin"),
    ("/api/v1/admin/users", "admin"),
    ("/api/v1/admin/outbox", "admin"),
    ("/api/v1/organisations/{org}/readiness/actions", "org:owner"),
    ("/api/v1/organisations/{org}/documents", "org:owner"),
    ("/api/v1/bodies/{body}/shared-documents", "body:owner"),
]
PAGE_LISTS = [
    ("/bodies", None),
    ("/manage/bodies/{body}/quote-requests", "body:owner"),
    ("/organisations/{org}/corrective-actions", "org:owner"),
    ("/manage/bodies/{body}/corrective-actions", "body:owner"),
    ("/manage/bodies/{body}/clients", "body:owner"),
    ("/admin/reviews", "admin"),
    ("/admin/users", "admin"),
    ("/admin/outbox", "admin"),
]
OUT_OF_RANGE = ["0", "-1", "922337203685477580", str(2**63), str(10**30), "abc", "1.5"]


def _actor(world: World, who: str) -> Actor:
    return world.admin if who == "admin" else world.actor("a", who)


def _headers(world: World, who: str | None) -> dict[str, str]:
    return {} if who is None else _actor(world, who).headers


def _url(world: World, template: str) -> str:
    return template.format(body=world.a.body_id, org=world.a.org_id)


@pytest.mark.parametrize("value", OUT_OF_RANGE)
@pytest.mark.parametrize("param", ["page", "per_page"])
@pytest.mark.parametrize(("path", "who"), API_LISTS, ids=[p for p, _ in API_LISTS])
async def test_api_lists_answer_422_for_pages_out_of_range(
    client: httpx.AsyncClient, world: World, path: str, who: str | None, param: str, value: str
) -> None:
    url = _url(world, path)
    headers = _headers(world, who)
    r = await client.get(url, headers=headers)
    assert r.status_code == 200, r.text  # the list itself is reachable by this caller

    r = await client.get(url, params={param: value}, headers=headers)
    assert r.status_code == 422, r.text
    assert param in [e["field"] for e in r.json()["errors"]], r.text


@pytest.mark.parametrize("value", OUT_OF_RANGE)
@pytest.mark.parametrize(("path", "who"), PAGE_LISTS, ids=[p for p, _ in PAGE_LISTS])
async def test_list_pages_answer_a_4xx_page_for_pages_out_of_range(
    client: httpx.AsyncClient, world: World, path: str, who: str | None, value: str
) -> None:
    url = _url(world, path)
    if who is not None:
        await sign_in(client, _actor(world, who).user_id)
    r = await client.get(url)
    assert r.status_code == 200, r.text

    r = await client.get(url, params={"page": value})
    assert 400 <= r.status_code < 500, r.text
    assert r.headers["content-type"].startswith("text/html")
