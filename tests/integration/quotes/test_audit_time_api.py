"""GET /api/v1/audit-time and the public calculator page: figures, justification, bad input."""

from __future__ import annotations

import httpx
import pytest

from marketplace.quotes.tables import QuoteRequest
from tests.factories import World

pytestmark = pytest.mark.usefixtures("database")


async def test_qms_fifty_persons(client: httpx.AsyncClient) -> None:
    r = await client.get(
        "/api/v1/audit-time", params={"standard": "ISO 9001:2015", "effective_personnel": 50}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["initial_days"] == 5.0
    assert (body["stage1_days"], body["stage2_days"]) == (1.5, 3.5)
    assert body["surveillance_days"] == 1.5
    assert body["recertification_days"] == 3.5
    assert body["minimum_initial_days"] == 3.5
    assert body["sampled_sites"] == {"initial": 1, "surveillance": 1, "recertification": 1}
    assert any("IAF MD 5" in s for s in body["basis"])


async def test_multi_site_sampling(client: httpx.AsyncClient) -> None:
    r = await client.get(
        "/api/v1/audit-time",
        params={"standard": "ISO 9001:2015", "effective_personnel": 500, "sites": 100},
    )
    assert r.json()["sampled_sites"] == {"initial": 10, "surveillance": 6, "recertification": 8}


async def test_ems_needs_complexity(client: httpx.AsyncClient) -> None:
    params = {"standard": "ISO 14001:2015", "effective_personnel": 50}
    r = await client.get("/api/v1/audit-time", params=params)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "complexity"
    r = await client.get("/api/v1/audit-time", params={**params, "complexity": "high"})
    assert r.status_code == 200
    assert r.json()["initial_days"] == 8.0


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"standard": "ISO 9999:2099", "effective_personnel": 5}, "standard"),
        ({"standard": "ISO 9001:2015", "effective_personnel": 10**12}, "effective_personnel"),
        ({"effective_personnel": 5}, "standard"),
        ({"standard": "ISO 9001:2015"}, "effective_personnel"),
        ({"standard": "ISO 9001:2015", "effective_personnel": 0}, "effective_personnel"),
        ({"standard": "ISO 9001:2015", "effective_personnel": 5, "sites": 0}, "sites"),
        (
            {"standard": "ISO 14001:2015", "effective_personnel": 5, "complexity": "huge"},
            "complexity",
        ),
    ],
)
async def test_bad_input_is_422_with_field(
    client: httpx.AsyncClient, params: dict[str, object], field: str
) -> None:
    r = await client.get("/api/v1/audit-time", params=params)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == field


async def test_nul_in_standard_is_4xx_not_500(client: httpx.AsyncClient) -> None:
    r = await client.get(
        "/api/v1/audit-time", params={"standard": "ISO\x009001:2015", "effective_personnel": 5}
    )
    assert r.status_code == 422


async def test_non_numeric_personnel_is_4xx(client: httpx.AsyncClient) -> None:
    r = await client.get(
        "/api/v1/audit-time", params={"standard": "ISO 9001:2015", "effective_personnel": "many"}
    )
    assert r.status_code in (400, 422)


@pytest.mark.parametrize(
    ("standard", "table"), [("ISO/IEC 27701:2019", "ISMS"), ("ISO 22301:2019", "QMS")]
)
async def test_families_without_a_table_say_which_one_stands_in(
    client: httpx.AsyncClient, standard: str, table: str
) -> None:
    r = await client.get(
        "/api/v1/audit-time", params={"standard": standard, "effective_personnel": 50}
    )
    assert r.status_code == 200
    body = r.json()
    assert body["table_family"] == table
    assert "indicative" in " ".join(body["basis"])


async def test_calculator_page_shows_calculation(client: httpx.AsyncClient) -> None:
    r = await client.get(
        "/audit-time", params={"standard": "ISO 9001:2015", "effective_personnel": "50"}
    )
    assert r.status_code == 200
    assert "How this was calculated" in r.text
    assert "46 to 65" in r.text


async def test_calculator_page_bad_input(client: httpx.AsyncClient) -> None:
    r = await client.get(
        "/audit-time", params={"standard": "ISO 14001:2015", "effective_personnel": "50"}
    )
    assert r.status_code == 422
    assert "complexity" in r.text
    r = await client.get("/audit-time")
    assert r.status_code == 200


@pytest.mark.parametrize(
    ("standard", "complexity", "allowed"),
    [
        ("ISO 45001:2018", "limited", "high, medium, low"),  # the OH&S table has no limited
        ("ISO 14001:2015", "extreme", "high, medium, low, limited"),
        ("ISO 9001:2015", "high", "no complexity"),  # API.md: complexity null
        ("ISO 22301:2019", "low", "no complexity"),
    ],
)
async def test_complexity_a_standard_lacks_is_422_with_the_allowed_values(
    client: httpx.AsyncClient, world: World, standard: str, complexity: str, allowed: str
) -> None:
    params = {"standard": standard, "effective_personnel": 50, "complexity": complexity}
    r = await client.get("/api/v1/audit-time", params=params)
    assert r.status_code == 422, r.text
    (error,) = r.json()["errors"]
    assert error["field"] == "complexity"
    assert allowed in error["message"]

    r = await client.get("/audit-time", params=params)
    assert r.status_code == 422, r.text
    assert allowed in r.text

    before = await QuoteRequest.count().run()
    r = await client.post(
        "/api/v1/quote-requests",
        json={
            "organisation_id": str(world.a.org_id),
            "standard": standard,
            "body_ids": [str(world.a.body_id)],
            "complexity": complexity,
        },
        headers=world.actor("a", "org:owner").headers,
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "complexity"
    assert await QuoteRequest.count().run() == before


async def test_each_oh_and_s_level_reads_its_own_column(client: httpx.AsyncClient) -> None:
    days = {}
    for level in ("high", "medium", "low"):
        r = await client.get(
            "/api/v1/audit-time",
            params={"standard": "ISO 45001:2018", "effective_personnel": 50, "complexity": level},
        )
        assert r.status_code == 200, r.text
        days[level] = r.json()["table_days"]
    assert days == {"high": 8.0, "medium": 6.0, "low": 4.5}  # band 46-65 of the OH&S table
