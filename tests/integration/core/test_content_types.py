"""Calendar, CSV and text downloads name their charset exactly once in Content-Type."""

from __future__ import annotations

import httpx
import pytest

from marketplace.core import clock
from tests.factories import World, sign_in
from tests.factories.findings import issued_report
from tests.integration.calendars import feed_rows as h


def _raw_content_types(r: httpx.Response) -> list[str]:
    return [v.decode() for k, v in r.headers.raw if k.lower() == b"content-type"]


def _one_charset(r: httpx.Response, kind: str) -> None:
    assert r.status_code == 200, r.text[:300]
    (value,) = _raw_content_types(r)
    assert value.startswith(kind), value
    assert value.lower().count("charset=") == 1, value
    assert value == f"{kind}; charset=utf-8"


@pytest.fixture(autouse=True)
def _frozen() -> None:
    clock.travel_to(h.TODAY)


async def test_calendar_answers_have_one_charset(client: httpx.AsyncClient, world: World) -> None:
    c = await h.cycle(world.a.org_id, world.a.body_id)
    audit_id = await h.audit(
        c,
        starts_at=h.local("2027-03-01", 9, "Europe/London"),
        ends_at=h.local("2027-03-01", 17, "Europe/London"),
    )
    owner = world.actor("a", "body:owner")
    feed = await client.post(
        "/api/v1/calendar-feeds",
        json={"scope": "body", "scope_id": str(world.a.body_id)},
        headers=owner.headers,
    )
    path = str(feed.json()["url"]).removeprefix("http://testserver")
    _one_charset(await client.get(path), "text/calendar")
    _one_charset(
        await client.get(f"/api/v1/audits/{audit_id}/ics", headers=owner.headers), "text/calendar"
    )
    await sign_in(client, owner.user_id)
    _one_charset(await client.get(f"/audits/{audit_id}/calendar.ics"), "text/calendar")


async def test_csv_exports_have_one_charset(client: httpx.AsyncClient, world: World) -> None:
    await issued_report(world.a.org_id, world.a.body_id, ("major",))
    await sign_in(client, world.actor("a", "body:owner").user_id)
    _one_charset(
        await client.get(f"/manage/bodies/{world.a.body_id}/clients/export.csv"), "text/csv"
    )
    await sign_in(client, world.actor("a", "org:owner").user_id)
    _one_charset(
        await client.get(f"/organisations/{world.a.org_id}/corrective-actions/export.csv"),
        "text/csv",
    )


async def test_text_evidence_download_has_one_charset(
    client: httpx.AsyncClient, world: World
) -> None:
    _made, _report, actions = await issued_report(world.a.org_id, world.a.body_id, ("major",))
    headers = world.actor("a", "org:owner").headers
    up = await client.post(
        f"/api/v1/corrective-actions/{actions['major']}/evidence",
        files={"file": ("notes.txt", "Größe geprüft\n".encode(), "text/plain")},
        headers=headers,
    )
    assert up.status_code == 201, up.text
    _one_charset(
        await client.get(f"/api/v1/evidence/{up.json()['id']}", headers=headers), "text/plain"
    )
