"""Input anyone can send gets a clear 4xx, never a 500 (API.md): paging, nesting, standards."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import stripe
from litestar import Litestar

from marketplace.app import create_app
from marketplace.settings import Settings, StripeSettings
from tests.factories import Actor, World, _tables_to_clean, sign_in

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


# --- JSON nested past any schema -------------------------------------------------------------

DEEP = b"[" * 1000 + b"]" * 1000


def _json_body_routes(app: Litestar) -> list[tuple[str, str]]:
    """Every API route that reads a body (POST, PUT, PATCH), from the app's own route table."""
    routes = []
    for route in app.routes:
        if not route.path.startswith("/api/"):
            continue
        for handler in getattr(route, "route_handlers", []):
            for method in sorted(handler.http_methods & {"POST", "PUT", "PATCH"}):
                routes.append((method, route.path))
    return routes


def _fill(world: World, path: str) -> str:
    path = path.replace("{organisation_id:uuid}", str(world.a.org_id))
    path = path.replace("{body_id:uuid}", str(world.a.body_id))
    path = path.replace("{site_id:uuid}", str(world.a.site_id))
    path = re.sub(r"\{[a-z_]+:uuid\}", str(uuid.uuid4()), path)
    return re.sub(r"\{[a-z_]+:(str|path)\}", "x", path)


async def _row_counts() -> dict[str, int]:
    return {t._meta.tablename: await t.count().run() for t in _tables_to_clean()}


async def test_deeply_nested_json_is_refused_on_every_json_endpoint(
    app: Litestar, client: httpx.AsyncClient, world: World
) -> None:
    routes = _json_body_routes(app)
    assert len(routes) > 40  # the walk reaches every family, not a handful
    before = await _row_counts()
    for method, path in routes:
        who = world.admin if "/admin/" in path else world.actor("a", "org:owner")
        if "/bodies/" in path:
            who = world.actor("a", "body:owner")
        for content_type in ("application/json", "text/plain"):
            r = await client.request(
                method,
                _fill(world, path),
                content=DEEP,
                headers={**who.headers, "Content-Type": content_type},
            )
            assert r.status_code == 400, (method, path, content_type, r.text)
            assert r.json()["code"] == "malformed_body"
    assert await _row_counts() == before  # nothing written


async def test_nesting_within_the_limit_still_reaches_the_handler(
    client: httpx.AsyncClient, world: World
) -> None:
    # 32 levels passes the screen and gets the schema's own answer (a 4xx field error).
    body = b"[" * 32 + b"]" * 32
    r = await client.post(
        f"/api/v1/organisations/{world.a.org_id}/documents",
        content=body,
        headers={**world.actor("a", "org:owner").headers, "Content-Type": "application/json"},
    )
    assert r.status_code in (400, 422), r.text
    assert r.json().get("code") != "malformed_body" or "nests" not in r.json()["detail"]
    # Brackets inside strings are text, not nesting.
    r = await client.post(
        f"/api/v1/organisations/{world.a.org_id}/documents",
        json={"code": "QP-01", "title": "[" * 500, "doc_type": "procedure"},
        headers=world.actor("a", "org:quality_manager").headers,
    )
    assert r.status_code in (201, 422), r.text
    assert "nests" not in r.text


WEBHOOK_SECRET = "whsec_nesting"


@pytest.fixture
async def webhook_client(database: None) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        Settings(stripe=StripeSettings(webhook_secret=WEBHOOK_SECRET)), manage_pool=False
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as c:
        yield c


def _stripe_signature(payload: bytes) -> str:
    """Signed with Stripe's own code, exactly as Stripe signs a delivery."""
    t = int(time.time())
    mac = stripe.WebhookSignature._compute_signature(f"{t}.{payload.decode()}", WEBHOOK_SECRET)  # type: ignore[no-untyped-call]
    return f"t={t},v1={mac}"


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "text/plain"])
async def test_a_validly_signed_deeply_nested_webhook_is_refused(
    webhook_client: httpx.AsyncClient, world: World, content_type: str
) -> None:
    before = await _row_counts()
    for payload in (DEEP, b'{"id": "evt_1", "type": "x", "data": ' + DEEP + b"}"):
        stripe.WebhookSignature.verify_header(
            payload.decode(), _stripe_signature(payload), WEBHOOK_SECRET
        )  # type: ignore[no-untyped-call]
        r = await webhook_client.post(
            "/webhooks/stripe",
            content=payload,
            headers={"Content-Type": content_type, "Stripe-Signature": _stripe_signature(payload)},
        )
        assert r.status_code == 400, r.text
        assert r.json()["code"] == "malformed_body"
    assert await _row_counts() == before


# --- every listed standard, wherever a standard is accepted ----------------------------------


async def _standard_walk(client: httpx.AsyncClient, world: World, std: dict[str, Any]) -> None:
    code = std["code"]
    level = "medium" if std["uses_complexity"] else None
    org, body, other = world.a.org_id, world.a.body_id, world.b.body_id
    owner = world.actor("a", "org:owner").headers
    body_owner = world.actor("a", "body:owner").headers

    def ok(r: httpx.Response, *codes: int) -> None:
        assert r.status_code < 500, (code, r.request.url, r.text)
        if codes:
            assert r.status_code in codes, (code, r.request.url, r.text)

    time = {"standard": code, "effective_personnel": 50, **({"complexity": level} if level else {})}
    r = await client.get("/api/v1/audit-time", params=time)
    ok(r, 200)
    if std["family"] not in {"QMS", "EMS", "OHSMS", "ISMS"}:
        assert "the certification body sets" in " ".join(r.json()["basis"]), r.text
    ok(await client.get("/audit-time", params=time), 200)
    r = await client.post(
        "/api/v1/quote-requests",
        json={
            "organisation_id": str(org),
            "standard": code,
            "body_ids": [str(body)],
            "complexity": level,
        },
        headers=owner,
    )
    ok(r, 201)
    ok(await client.get("/api/v1/bodies", params={"standard": code}), 200)
    compare = {"ids": f"{body},{other}", "standard": code, "organisation": str(org)}
    r = await client.get("/api/v1/bodies/compare", params=compare, headers=owner)
    ok(r, 200)
    ok(
        await client.get(
            f"/api/v1/bodies/{body}/clients", params={"standard": code}, headers=body_owner
        ),
        200,
    )
    r = await client.post(
        f"/api/v1/bodies/{body}/accreditations",
        json={
            "accreditation_body": "UKAS",
            "number": f"N-{uuid.uuid4().hex[:6]}",
            "standard": code,
            "iaf_sectors": [28],
            "valid_until": "2099-01-01",
        },
        headers=body_owner,
    )
    ok(r, 201)
    r = await client.post(
        f"/api/v1/bodies/{body}/auditors",
        json={
            "name": "Quinn Auditor",
            "email": f"q-{uuid.uuid4().hex[:6]}@example.test",
            "qualifications": [{"standard": code, "iaf_sector": 28}],
        },
        headers=body_owner,
    )
    ok(r, 201)
    # Gap assessments exist for the standards with a clause list; the others are a clean 4xx.
    ok(
        await client.post(
            f"/api/v1/organisations/{org}/readiness/assessments",
            json={"standard": code},
            headers=owner,
        )
    )

    # The pages: public search and compare, then the signed-in client's quote form and the
    # body's client list.
    ok(await client.get("/bodies", params={"standard": code}), 200)
    await sign_in(client, world.actor("a", "org:owner").user_id)
    ok(await client.get("/bodies/compare", params=compare), 200)
    ok(await client.get("/quote-requests/new", params={"standard": code}), 200)
    await sign_in(client, world.actor("a", "body:owner").user_id)
    ok(await client.get(f"/manage/bodies/{body}/clients", params={"standard": code}), 200)
    client.cookies.clear()


async def test_every_listed_standard_works_wherever_a_standard_is_accepted(
    client: httpx.AsyncClient, world: World
) -> None:
    r = await client.get("/api/v1/standards")
    assert r.status_code == 200
    standards = r.json()
    assert len(standards) >= 13
    for std in standards:
        await _standard_walk(client, world, std)
