"""Directory search over the API: every filter and sort, facets, bad input, bounded queries."""

from __future__ import annotations

import httpx
import pytest

from marketplace.rules.ranking import pooled_mean, rank_key
from tests.factories import World
from tests.factories.directory import accredit, listed_body, rate
from tests.integration.directory.query_count import record_statements

pytestmark = pytest.mark.usefixtures("database")


async def _ids(client: httpx.AsyncClient, query: str) -> list[str]:
    response = await client.get(f"/api/v1/bodies?{query}")
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["items"]]


async def test_only_verified_unexpired_accreditations_match(client: httpx.AsyncClient) -> None:
    ok = await listed_body("Good Cert")
    await accredit(ok)
    await accredit(await listed_body("Pending Cert"), status="pending")
    await accredit(await listed_body("Expired Cert"), days=-1)
    await accredit(await listed_body("Suspended Cert"), status="suspended")
    await accredit(await listed_body("Rejected Cert"), status="rejected")
    await accredit(await listed_body("Last Day Cert"), days=0)
    names = await _ids(client, "standard=ISO%209001:2015&iaf_sector=28")
    assert sorted(names) == ["Good Cert", "Last Day Cert"]
    assert sorted(await _ids(client, "standard=ISO%209001:2015")) == ["Good Cert", "Last Day Cert"]
    assert sorted(await _ids(client, "iaf_sector=28")) == ["Good Cert", "Last Day Cert"]


async def test_standard_and_sector_must_be_on_one_accreditation(client: httpx.AsyncClient) -> None:
    split = await listed_body("Split Cert")
    await accredit(split, "ISO 9001:2015", (28,))
    await accredit(split, "ISO 14001:2015", (33,))
    assert await _ids(client, "standard=ISO%209001:2015&iaf_sector=33") == []
    assert await _ids(client, "standard=ISO%209001:2015&iaf_sector=28") == ["Split Cert"]
    assert await _ids(client, "standard=ISO%2014001:2015&iaf_sector=33") == ["Split Cert"]


async def test_accreditation_body_filter(client: httpx.AsyncClient) -> None:
    await accredit(await listed_body("British Cert"), ab="UKAS")
    await accredit(await listed_body("American Cert"), ab="ANAB")
    assert await _ids(client, "accreditation_body=ANAB") == ["American Cert"]
    # The same accreditation must carry the standard and the accreditation body.
    assert await _ids(client, "accreditation_body=ANAB&standard=ISO%2014001:2015") == []


async def test_country_language_service_remote_and_text_filters(client: httpx.AsyncClient) -> None:
    await listed_body(
        "Alpha Assurance",
        "GB",
        languages=("en", "de"),
        regions=("IE",),
        services=("gap_analysis",),
        remote_audits=True,
        description="Food safety specialists",
    )
    await listed_body("Beta Registrar", "DE", languages=("de",), description="Aerospace audits")
    assert await _ids(client, "country=IE") == ["Alpha Assurance"]
    assert sorted(await _ids(client, "country=de")) == ["Beta Registrar"]
    assert sorted(await _ids(client, "language=de")) == ["Alpha Assurance", "Beta Registrar"]
    assert await _ids(client, "language=en") == ["Alpha Assurance"]
    assert await _ids(client, "service=gap_analysis") == ["Alpha Assurance"]
    assert await _ids(client, "remote=true") == ["Alpha Assurance"]
    assert await _ids(client, "remote=false") == ["Beta Registrar"]
    assert await _ids(client, "q=aerospace") == ["Beta Registrar"]
    assert await _ids(client, "q=alpha") == ["Alpha Assurance"]
    assert await _ids(client, "q=nothing%20like%20this") == []


async def test_min_rating(client: httpx.AsyncClient) -> None:
    await rate(await listed_body("High"), 10, 4.6)
    await rate(await listed_body("Low"), 10, 3.2)
    await listed_body("Unrated")
    assert await _ids(client, "min_rating=4") == ["High"]
    assert sorted(await _ids(client, "min_rating=3")) == ["High", "Low"]


async def test_bayesian_ranking_order_on_fixed_data(client: httpx.AsyncClient) -> None:
    # The platform mean (about 4.18 here) is the prior every body is shrunk towards.
    data = {
        "One Five": (1, 5.0),
        "Many 4.7": (200, 4.7),
        "Some 4.9": (12, 4.9),
        "Average": (300, 3.8),
        "None": (0, 0.0),
    }
    for name, (count, mean) in data.items():
        bid = await listed_body(name)
        if count:
            await rate(bid, count, mean)
    prior = pooled_mean([(c, m) for c, m in data.values() if c], 3.0)
    expected = sorted(data, key=lambda n: rank_key(data[n][0], data[n][1], prior))
    assert expected == ["Many 4.7", "Some 4.9", "One Five", "None", "Average"]
    assert await _ids(client, "sort=rating") == expected
    # Relevance without a text query ranks the same way.
    assert await _ids(client, "") == expected
    top = (await client.get("/api/v1/bodies?sort=rating")).json()["items"][0]
    assert top["review_count"] == 200
    assert top["rating"] == 4.7
    assert top["score"] == pytest.approx(round((10 * prior + 940) / 210, 3), abs=0.001)


async def test_other_sorts(client: httpx.AsyncClient) -> None:
    a = await listed_body("Aardvark", day_rate_min_minor=120000, response_time_hours=72)
    b = await listed_body("Badger", day_rate_min_minor=80000, response_time_hours=4)
    c = await listed_body("Cheetah", day_rate_min_minor=0, response_time_hours=24)
    await rate(a, 3, 4.0)
    await rate(b, 40, 4.0)
    await rate(c, 9, 4.0)
    assert await _ids(client, "sort=reviews") == ["Badger", "Cheetah", "Aardvark"]
    # A body without a published rate sorts after those with one.
    assert await _ids(client, "sort=price") == ["Badger", "Aardvark", "Cheetah"]
    assert await _ids(client, "sort=response_time") == ["Badger", "Cheetah", "Aardvark"]


async def test_relevance_prefers_name_matches(client: httpx.AsyncClient) -> None:
    await listed_body("Quality Partners", description="General audits")
    await listed_body("Other Body", description="Quality management audits")
    await rate(await listed_body("Unrelated"), 50, 5.0)
    names = await _ids(client, "q=quality")
    assert names[0] == "Quality Partners"
    assert sorted(names) == ["Other Body", "Quality Partners"]


async def test_facets_and_pagination(client: httpx.AsyncClient) -> None:
    for i in range(5):
        bid = await listed_body(f"Body {i}", services=("training",) if i % 2 else ())
        await accredit(bid, sectors=(28, 29))
    await accredit(await listed_body("Pending"), status="pending")
    response = await client.get("/api/v1/bodies?standard=ISO%209001:2015&per_page=2&page=3")
    page = response.json()
    assert page["total"] == 5
    assert page["page"] == 3
    assert page["per_page"] == 2
    assert len(page["items"]) == 1
    facets = page["facets"]
    assert {"value": "ISO 9001:2015", "count": 5} in facets["standard"]
    assert {"value": "28", "count": 5} in facets["iaf_sector"]
    assert {"value": "training", "count": 2} in facets["service"]
    assert {"value": "UKAS", "count": 5} in facets["accreditation_body"]
    assert page["items"][0]["standards"] == ["ISO 9001:2015"]


@pytest.mark.parametrize(
    ("query", "field", "allowed"),
    [
        ("standard=ISO%209999", "standard", "ISO 9001:2015"),
        ("iaf_sector=40", "iaf_sector", "39"),
        ("iaf_sector=abc", "iaf_sector", "28"),
        ("service=bogus", "service", "gap_analysis"),
        ("accreditation_body=NOPE", "accreditation_body", "UKAS"),
        ("sort=cheapest", "sort", "response_time"),
        ("remote=maybe", "remote", "true"),
    ],
)
async def test_unknown_filter_values_are_422_with_allowed_values(
    client: httpx.AsyncClient, query: str, field: str, allowed: str
) -> None:
    response = await client.get(f"/api/v1/bodies?{query}")
    assert response.status_code == 422
    body = response.json()
    assert body["errors"][0]["field"] == field
    assert allowed in body["errors"][0]["message"]


@pytest.mark.parametrize(
    "query",
    ["min_rating=6", "min_rating=x", "country=GBR", "language=eng", "per_page=101", "page=0"],
)
async def test_malformed_filters_are_422(client: httpx.AsyncClient, query: str) -> None:
    response = await client.get(f"/api/v1/bodies?{query}")
    assert response.status_code == 422, response.text


async def test_query_count_is_bounded(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = record_statements(monkeypatch)
    query = "/api/v1/bodies?standard=ISO%209001:2015&iaf_sector=28&country=GB&sort=rating"

    async def measure() -> int:
        await client.get(query)  # warms the reference cache
        calls.clear()
        response = await client.get(query)
        assert response.status_code == 200
        return len(calls)

    for i in range(3):
        await accredit(await listed_body(f"Small {i}", services=("training",)))
    small = await measure()
    for i in range(30):
        bid = await listed_body(f"Big {i}", services=("training", "gap_analysis"), regions=("IE",))
        await accredit(bid, sectors=(28, 29))
        await rate(bid, i + 1, 4.0)
    large = await measure()
    assert small == large
    assert large <= 3


async def test_compare_route_wins_over_slug(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get(f"/api/v1/bodies/compare?ids={world.a.body_id},{world.b.body_id}")
    assert response.status_code == 200, response.text
    assert [b["id"] for b in response.json()["bodies"]] == [
        str(world.a.body_id),
        str(world.b.body_id),
    ]
    # Without ids it is a 422 from compare, not a 404 from the slug lookup.
    response = await client.get("/api/v1/bodies/compare")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "ids"


@pytest.mark.parametrize("q", ["100%_", "{}", "o'brien", "the", "a\\b", "ünïcode ☃"])
async def test_free_text_is_never_a_500(client: httpx.AsyncClient, q: str) -> None:
    await listed_body("O'Brien 100%_ Certification")
    response = await client.get("/api/v1/bodies", params={"q": q})
    assert response.status_code == 200, response.text
