"""Probes, the OpenAPI document, static files, security headers and how bad input is answered."""

from __future__ import annotations

import httpx

from tests.factories import World


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ok"}


async def test_openapi_describes_the_api(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/schema/openapi.json")).json()
    for path in (
        "/api/v1/auth/register",
        "/api/v1/auth/token",
        "/api/v1/me",
        "/api/v1/organisations",
        "/api/v1/standards",
        "/api/v1/iaf-sectors",
        "/api/v1/accreditation-bodies",
        "/api/v1/support-services",
        "/api/v1/bodies",
    ):
        assert path in doc["paths"], path


async def test_reference_data_is_public_and_complete(client: httpx.AsyncClient) -> None:
    sectors = (await client.get("/api/v1/iaf-sectors")).json()
    assert [s["code"] for s in sectors] == list(range(1, 40))
    standards = {s["code"]: s for s in (await client.get("/api/v1/standards")).json()}
    for code in (
        "ISO 9001:2015",
        "ISO 14001:2015",
        "ISO 45001:2018",
        "ISO/IEC 27001:2022",
        "ISO 22000:2018",
        "ISO 50001:2018",
        "ISO 13485:2016",
        "ISO 37001:2016",
        "ISO/IEC 20000-1:2018",
    ):
        assert code in standards, code
    assert standards["ISO 14001:2015"]["family"] == "EMS"
    abs_ = (await client.get("/api/v1/accreditation-bodies")).json()
    assert len(abs_) >= 15
    assert {"code": "UKAS", "country": "GB", "iaf_mla": True}.items() <= next(
        a for a in abs_ if a["code"] == "UKAS"
    ).items()
    services = {s["code"] for s in (await client.get("/api/v1/support-services")).json()}
    assert {
        "gap_analysis",
        "training",
        "remote_audits",
        "integrated_audits",
        "multi_site",
        "transfer",
        "translation",
        "unannounced_audits",
    } <= services


async def test_pages_and_static_files(client: httpx.AsyncClient) -> None:
    home = await client.get("/")
    assert home.status_code == 200
    assert "default-src 'self'" in home.headers["content-security-policy"]
    assert home.headers["x-content-type-options"] == "nosniff"
    css = await client.get("/static/css/site.css")
    assert css.status_code == 200
    assert "text/css" in css.headers["content-type"]
    assert (await client.get("/reference/")).status_code == 200
    missing = await client.get("/no/such/page")
    assert missing.status_code == 404
    assert "text/html" in missing.headers["content-type"]


async def test_malformed_json_is_400_with_detail(client: httpx.AsyncClient, world: World) -> None:
    r = await client.post(
        "/api/v1/organisations",
        content=b"{not json",
        headers={**world.outsider.headers, "content-type": "application/json"},
    )
    assert r.status_code == 400
    assert r.json()["detail"]


async def test_missing_and_wrongly_typed_fields_are_422_with_field_errors(
    client: httpx.AsyncClient, world: World
) -> None:
    r = await client.post(
        "/api/v1/organisations", json={"name": "X"}, headers=world.outsider.headers
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"]
    r = await client.post(
        "/api/v1/organisations",
        json={"name": "X", "country": "GB", "iaf_sector": "twenty-eight", "effective_personnel": 5},
        headers=world.outsider.headers,
    )
    assert r.status_code == 422


async def test_huge_body_is_413(client: httpx.AsyncClient, world: World) -> None:
    big = b'{"name": "' + b"x" * (11 * 1024 * 1024) + b'"}'
    r = await client.post(
        "/api/v1/organisations",
        content=big,
        headers={**world.outsider.headers, "content-type": "application/json"},
    )
    assert r.status_code == 413
    assert r.json()["detail"]


async def test_nul_characters_are_refused_everywhere(
    client: httpx.AsyncClient, world: World
) -> None:
    # Found by the fuzzer: PostgreSQL cannot store NUL, which used to surface as a 500.
    r = await client.post(
        "/api/v1/auth/token", json={"email": "a\u0000b@example.test", "password": "x"}
    )
    assert r.status_code == 422
    assert r.json()["code"] == "nul_character"
    r = await client.get("/api/v1/bodies/abc%00def")
    assert r.status_code == 422
    r = await client.get("/login?next=%00")
    assert r.status_code == 422
    r = await client.post(
        "/login",
        content=b"email=a%00b&password=x",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code in (403, 422)  # refused either by CSRF or by the NUL rule, never stored
