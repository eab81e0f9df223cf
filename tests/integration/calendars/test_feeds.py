"""Calendar feeds end to end: tokens, content read by three parsers, conditional GET, isolation."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
import icalendar
import pytest

from marketplace.accounts.tables import Membership
from marketplace.calendars.tables import CalendarFeed
from marketplace.core import clock
from marketplace.core.errors import NotFound
from tests.factories import World, sign_in
from tests.factories.scheduling import auditor
from tests.integration.calendars import feed_rows as h
from tests.integration.calendars.feed_rows import local
from tests.integration.calendars.parsers import parse_all


@pytest.fixture(autouse=True)
def _frozen() -> None:
    clock.travel_to(h.TODAY)


async def _feed(client: httpx.AsyncClient, actor_headers: dict[str, str], **body: object) -> str:
    r = await client.post("/api/v1/calendar-feeds", json=body, headers=actor_headers)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["url"].startswith("http://testserver/calendar/")
    assert out["webcal_url"] == "webcal://" + out["url"].removeprefix("http://")
    return str(out["url"]).removeprefix("http://testserver")


def _uid(audit_id: uuid.UUID) -> str:
    return f"audit-{audit_id}@testserver"


async def test_create_list_revoke_and_unknown(client: httpx.AsyncClient, world: World) -> None:
    owner = world.actor("a", "org:owner")
    path = await _feed(client, owner.headers, scope="organisation", scope_id=str(world.a.org_id))
    secret = path.removeprefix("/calendar/").removesuffix(".ics")
    assert len(secret) >= 22  # >= 128 bits of base64url
    row = await CalendarFeed.select().first().run()
    assert row is not None
    assert secret not in str(row)
    assert len(row["token_hash"]) == 64

    for query in ("page=99999999999999999999", "page=0", "per_page=101", "page=x"):
        r = await client.get(f"/api/v1/calendar-feeds?{query}", headers=owner.headers)
        assert r.status_code in (400, 422), query
    listed = (await client.get("/api/v1/calendar-feeds", headers=owner.headers)).json()
    assert listed["total"] == 1
    assert secret not in str(listed)
    assert listed["items"][0]["scope"] == "organisation"
    # Another user does not see it, and cannot revoke it.
    other = world.actor("a", "org:member")
    assert (await client.get("/api/v1/calendar-feeds", headers=other.headers)).json()["total"] == 0
    feed_id = listed["items"][0]["id"]
    r = await client.delete(f"/api/v1/calendar-feeds/{feed_id}", headers=other.headers)
    assert r.status_code == 404

    r = await client.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/calendar")
    assert "private" in r.headers["cache-control"]

    r = await client.delete(f"/api/v1/calendar-feeds/{feed_id}", headers=owner.headers)
    assert r.status_code == 204
    assert (await client.get(path)).status_code == 404  # at once
    assert (await client.head(path)).status_code == 404
    r = await client.delete(f"/api/v1/calendar-feeds/{feed_id}", headers=owner.headers)
    assert r.status_code == 404

    for bad in ("/calendar/" + "x" * 43 + ".ics", "/calendar/short.ics", f"/calendar/{secret}"):
        assert (await client.get(bad)).status_code == 404
    assert (await client.get("/calendar/%2e%2e.ics")).status_code == 404


async def test_scope_rules(client: httpx.AsyncClient, world: World) -> None:
    scheduler = world.actor("a", "body:scheduler").headers
    auditor_user = world.actor("a", "body:auditor")
    own_auditor = await auditor(world.a.body_id, "Lee Lead", user_id=auditor_user.user_id)
    foreign_auditor = await auditor(world.b.body_id, "Bo Other")
    post = "/api/v1/calendar-feeds"

    async def status(headers: dict[str, str], body: dict[str, object]) -> int:
        return (await client.post(post, json=body, headers=headers)).status_code

    assert await status(scheduler, {"scope": "body", "scope_id": str(world.a.body_id)}) == 201
    assert await status(scheduler, {"scope": "body", "scope_id": str(world.b.body_id)}) == 404
    assert (
        await status(scheduler, {"scope": "organisation", "scope_id": str(world.a.org_id)}) == 404
    )
    assert await status(scheduler, {"scope": "auditor", "scope_id": str(own_auditor)}) == 201
    assert await status(scheduler, {"scope": "auditor", "scope_id": str(foreign_auditor)}) == 404
    # The auditor follows their own calendar; a finance colleague may not follow theirs.
    assert (
        await status(auditor_user.headers, {"scope": "auditor", "scope_id": str(own_auditor)})
        == 201
    )
    finance = world.actor("a", "body:finance").headers
    assert await status(finance, {"scope": "auditor", "scope_id": str(own_auditor)}) == 404
    assert await status(finance, {"scope": "me"}) == 201
    assert await status(finance, {"scope": "me", "scope_id": str(auditor_user.user_id)}) == 404
    assert await status(finance, {"scope": "auditor", "scope_id": str(uuid.uuid4())}) == 404
    r = await client.post(post, json={"scope": "body"}, headers=finance)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "scope_id"
    assert await status(finance, {"scope": "planet", "scope_id": str(world.a.body_id)}) == 422
    assert await status(finance, {"scope": "me", "scope_id": "not-a-uuid"}) in (400, 422)
    assert (await client.post(post, json={"scope": "me"})).status_code == 401


async def _scene(world: World) -> dict[str, uuid.UUID]:
    """Tenant a's audits across both 2027 DST changes in London and New York, plus every state."""
    c = await h.cycle(world.a.org_id, world.a.body_id)
    lee = await auditor(world.a.body_id, "Lee Lead")
    mo = await auditor(world.a.body_id, "Mo Member", email="mo@auditors.test")
    kit = await auditor(world.a.body_id, "Kit Expert", email="kit@auditors.test")
    ids: dict[str, uuid.UUID] = {}
    ldn, ny = "Europe/London", "America/New_York"
    spans = {
        "ldn_before_spring": ("2027-03-26", 9, "2027-03-26", 17, ldn),
        "ldn_after_spring": ("2027-03-29", 9, "2027-03-29", 17, ldn),
        "ldn_multi_day_over_change": ("2027-03-26", 9, "2027-03-30", 17, ldn),
        "ldn_before_autumn": ("2027-10-29", 9, "2027-10-29", 17, ldn),
        "ldn_after_autumn": ("2027-11-01", 9, "2027-11-01", 17, ldn),
        "ny_before_spring": ("2027-03-12", 9, "2027-03-12", 17, ny),
        "ny_after_spring": ("2027-03-15", 9, "2027-03-15", 17, ny),
        "ny_before_autumn": ("2027-11-05", 9, "2027-11-05", 17, ny),
        "ny_after_autumn": ("2027-11-08", 9, "2027-11-08", 17, ny),
    }
    for name, (d1, h1, d2, h2, tz) in spans.items():
        ids[name] = await h.audit(
            c, starts_at=local(d1, h1, tz), ends_at=local(d2, h2, tz), time_zone=tz
        )
    # One auditor is never booked twice at once (PostgreSQL's exclusion constraint says so too).
    for name in spans:
        if name != "ldn_multi_day_over_change":
            await h.assign(ids[name], lee, "lead")
    await h.assign(ids["ldn_multi_day_over_change"], kit, "expert")
    await h.assign(ids["ldn_multi_day_over_change"], mo, "lead")
    ids["proposed"] = await h.audit(
        c,
        status="proposed",
        starts_at=local("2027-06-07", 9, ldn),
        ends_at=local("2027-06-08", 17, ldn),
        mode="remote",
    )
    ids["rescheduled"] = await h.audit(
        c, starts_at=local("2027-07-05", 9, ldn), ends_at=local("2027-07-05", 17, ldn)
    )
    await h.update_audit(
        ids["rescheduled"],
        starts_at=local("2027-07-12", 9, ldn),
        ends_at=local("2027-07-12", 17, ldn),
        sequence=1,
        status="proposed",
    )
    ids["cancelled"] = await h.audit(
        c, starts_at=local("2027-08-02", 9, ldn), ends_at=local("2027-08-02", 17, ldn)
    )
    await h.assign(ids["cancelled"], lee, "lead", live=False)
    await h.update_audit(ids["cancelled"], status="cancelled", sequence=1)
    ids["requested"] = await h.audit(
        c,
        status="requested",
        requested=(local("2027-09-06", 9, ldn), local("2027-09-06", 17, ldn)),
    )
    ids["due_window"] = await h.audit(
        c,
        status="planned",
        kind="recertification",
        window=(dt.date(2027, 5, 1), dt.date(2027, 5, 31)),
    )
    return ids


async def test_feed_content_agrees_in_three_parsers(
    client: httpx.AsyncClient, world: World
) -> None:
    ids = await _scene(world)
    path = await _feed(
        client,
        world.actor("a", "org:quality_manager").headers,
        scope="organisation",
        scope_id=str(world.a.org_id),
        label="Client A audits",
    )
    data = (await client.get(path)).content
    seen = parse_all(data)
    text = data.decode()

    def expect(name: str, start: str, end: str, status: str = "CONFIRMED", seq: int = 0) -> None:
        got = seen[_uid(ids[name])]
        assert got == (
            dt.datetime.fromisoformat(start),
            dt.datetime.fromisoformat(end),
            status,
            seq,
        ), name

    # 09:00 London is 09:00 UTC before 28 March and 08:00 UTC after; likewise in New York.
    expect("ldn_before_spring", "2027-03-26T09:00Z", "2027-03-26T17:00Z")
    expect("ldn_after_spring", "2027-03-29T08:00Z", "2027-03-29T16:00Z")
    expect("ldn_multi_day_over_change", "2027-03-26T09:00Z", "2027-03-30T16:00Z")
    expect("ldn_before_autumn", "2027-10-29T08:00Z", "2027-10-29T16:00Z")
    expect("ldn_after_autumn", "2027-11-01T09:00Z", "2027-11-01T17:00Z")
    expect("ny_before_spring", "2027-03-12T14:00Z", "2027-03-12T22:00Z")
    expect("ny_after_spring", "2027-03-15T13:00Z", "2027-03-15T21:00Z")
    expect("ny_before_autumn", "2027-11-05T13:00Z", "2027-11-05T21:00Z")
    expect("ny_after_autumn", "2027-11-08T14:00Z", "2027-11-08T22:00Z")
    expect("proposed", "2027-06-07T08:00Z", "2027-06-08T16:00Z", "TENTATIVE")
    expect("rescheduled", "2027-07-12T08:00Z", "2027-07-12T16:00Z", "TENTATIVE", 1)
    expect("cancelled", "2027-08-02T08:00Z", "2027-08-02T16:00Z", "CANCELLED", 1)
    expect("requested", "2027-09-06T08:00Z", "2027-09-06T16:00Z", "TENTATIVE")
    window = seen[f"audit-{ids['due_window']}-window@testserver"]
    assert window[:2] == (dt.date(2027, 5, 1), dt.date(2027, 6, 1))  # exclusive end
    assert len(seen) == 14

    # Wall times are written in the audit's zone, each zone with its VTIMEZONE.
    assert "DTSTART;TZID=Europe/London:20270329T090000" in text
    assert "DTSTART;TZID=America/New_York:20271108T090000" in text
    cal = icalendar.Calendar.from_ical(data)
    assert {str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")} == {
        "Europe/London",
        "America/New_York",
    }
    assert str(cal["X-WR-CALNAME"]) == "Client A audits"
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in text
    assert "X-PUBLISHED-TTL:PT1H" in text
    multi = next(
        e for e in cal.walk("VEVENT") if str(e["UID"]) == _uid(ids["ldn_multi_day_over_change"])
    )
    assert str(multi["SUMMARY"]) == "ISO 9001 surveillance 1 - Client A Ltd"
    assert str(multi["LOCATION"]) == "1 High Street, Leeds"
    assert "Mo Member (lead), Kit Expert (expert)" in str(multi["DESCRIPTION"])
    assert f"http://testserver/audits/{ids['ldn_multi_day_over_change']}" in str(
        multi["DESCRIPTION"]
    )
    assert str(multi["ORGANIZER"]).startswith("mailto:")
    attendees = {str(a) for a in multi.get("ATTENDEE")}
    assert {"mailto:kit@auditors.test", "mailto:mo@auditors.test"} <= attendees
    assert "mailto:owner.org.a@example.test" in attendees
    assert multi.walk("VALARM")[0].decoded("TRIGGER") == dt.timedelta(days=-1)
    remote = next(e for e in cal.walk("VEVENT") if str(e["UID"]) == _uid(ids["proposed"]))
    assert str(remote["LOCATION"]) == "Remote"
    cancelled = next(e for e in cal.walk("VEVENT") if str(e["UID"]) == _uid(ids["cancelled"]))
    assert not cancelled.walk("VALARM")
    assert "Lee Lead (lead)" in str(cancelled["DESCRIPTION"])


async def test_cancelled_audit_leaves_after_30_days(
    client: httpx.AsyncClient, world: World
) -> None:
    c = await h.cycle(world.a.org_id, world.a.body_id)
    gone = await h.audit(
        c,
        starts_at=local("2027-08-02", 9, "Europe/London"),
        ends_at=local("2027-08-02", 17, "Europe/London"),
    )
    await h.update_audit(gone, status="cancelled", sequence=1)
    path = await _feed(
        client, world.actor("a", "body:owner").headers, scope="body", scope_id=str(world.a.body_id)
    )
    first = await client.get(path)
    assert parse_all(first.content)[_uid(gone)][2:] == ("CANCELLED", 1)

    clock.travel_to(h.TODAY + dt.timedelta(days=29))
    still = await client.get(path, headers={"If-None-Match": first.headers["etag"]})
    assert still.status_code == 304

    clock.travel_to(h.TODAY + dt.timedelta(days=30, minutes=1))
    later = await client.get(
        path,
        headers={
            "If-None-Match": first.headers["etag"],
        },
    )
    assert later.status_code == 200
    assert _uid(gone) not in parse_all(later.content)
    assert later.headers["etag"] != first.headers["etag"]
    # Last-Modified moved forward to when the event left, so If-Modified-Since sees the change.
    r = await client.get(path, headers={"If-Modified-Since": first.headers["last-modified"]})
    assert r.status_code == 200


async def test_conditional_get_and_head(client: httpx.AsyncClient, world: World) -> None:
    c = await h.cycle(world.a.org_id, world.a.body_id)
    audit_id = await h.audit(
        c,
        starts_at=local("2027-03-29", 9, "Europe/London"),
        ends_at=local("2027-03-29", 17, "Europe/London"),
    )
    path = await _feed(client, world.actor("a", "org:member").headers, scope="me")
    first = await client.get(path)
    assert first.status_code == 200
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert etag.startswith('"')
    assert not etag.startswith("W/")

    again = await client.get(path)
    assert again.content == first.content
    assert again.headers["etag"] == etag

    r = await client.get(path, headers={"If-None-Match": etag})
    assert r.status_code == 304
    assert r.content == b""
    assert r.headers["etag"] == etag
    r = await client.get(path, headers={"If-None-Match": f'"other", {etag}'})
    assert r.status_code == 304
    r = await client.get(path, headers={"If-Modified-Since": modified})
    assert r.status_code == 304
    r = await client.get(path, headers={"If-Modified-Since": "not a date"})
    assert r.status_code == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2).
    r = await client.get(path, headers={"If-None-Match": '"stale"', "If-Modified-Since": modified})
    assert r.status_code == 200

    head = await client.head(path)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["etag"] == etag
    assert head.headers["content-type"].startswith("text/calendar")
    assert (await client.head(path, headers={"If-None-Match": etag})).status_code == 304

    clock.travel_to(h.TODAY + dt.timedelta(seconds=5))
    await h.update_audit(
        audit_id,
        starts_at=local("2027-03-30", 9, "Europe/London"),
        ends_at=local("2027-03-30", 17, "Europe/London"),
        sequence=1,
    )
    changed = await client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert parse_all(changed.content)[_uid(audit_id)][3] == 1
    r = await client.get(path, headers={"If-Modified-Since": modified})
    assert r.status_code == 200
    r = await client.get(path, headers={"If-None-Match": changed.headers["etag"]})
    assert r.status_code == 304


async def test_feeds_only_hold_their_scope(client: httpx.AsyncClient, world: World) -> None:
    ca = await h.cycle(world.a.org_id, world.a.body_id)
    cb = await h.cycle(world.b.org_id, world.b.body_id)
    start, end = local("2027-04-05", 9, "Europe/London"), local("2027-04-05", 17, "Europe/London")
    a1 = await h.audit(ca, starts_at=start, ends_at=end)
    a2 = await h.audit(ca, status="planned", window=(dt.date(2027, 6, 1), dt.date(2027, 6, 30)))
    b1 = await h.audit(cb, starts_at=start, ends_at=end)
    auditor_user = world.actor("a", "body:auditor")
    mine = await auditor(world.a.body_id, "Ann Auditor", user_id=auditor_user.user_id)
    await h.assign(a1, mine)
    b_lead = await auditor(world.b.body_id, "Bo Lead")
    await h.assign(b1, b_lead)

    async def uids(actor_headers: dict[str, str], **body: object) -> set[str]:
        path = await _feed(client, actor_headers, **body)
        return set(parse_all((await client.get(path)).content))

    a_window = f"audit-{a2}-window@testserver"
    assert await uids(
        world.actor("a", "org:owner").headers, scope="organisation", scope_id=str(world.a.org_id)
    ) == {_uid(a1), a_window}
    assert await uids(
        world.actor("b", "body:scheduler").headers, scope="body", scope_id=str(world.b.body_id)
    ) == {_uid(b1)}
    assert await uids(
        world.actor("a", "body:scheduler").headers, scope="auditor", scope_id=str(mine)
    ) == {_uid(a1)}
    assert await uids(auditor_user.headers, scope="me") == {_uid(a1)}
    assert await uids(world.actor("b", "org:member").headers, scope="me") == {_uid(b1)}
    assert await uids(world.outsider.headers, scope="me") == set()


async def test_losing_access_empties_the_feed(client: httpx.AsyncClient, world: World) -> None:
    c = await h.cycle(world.a.org_id, world.a.body_id)
    a1 = await h.audit(
        c,
        starts_at=local("2027-04-05", 9, "UTC"),
        ends_at=local("2027-04-05", 17, "UTC"),
        time_zone="UTC",
    )
    member = world.actor("a", "org:member")
    path = await _feed(client, member.headers, scope="organisation", scope_id=str(world.a.org_id))
    first = await client.get(path)
    assert _uid(a1) in parse_all(first.content)
    assert b"DTSTART:20270405T090000Z" in first.content
    await Membership.delete().where(Membership.user == member.user_id).run()
    r = await client.get(path, headers={"If-None-Match": first.headers["etag"]})
    assert r.status_code == 200
    assert parse_all(r.content) == {}


async def test_single_audit_ics(client: httpx.AsyncClient, world: World) -> None:
    c = await h.cycle(world.a.org_id, world.a.body_id)
    audit_id = await h.audit(
        c,
        starts_at=local("2027-03-29", 9, "Europe/London"),
        ends_at=local("2027-03-29", 17, "Europe/London"),
    )
    r = await client.get(
        f"/api/v1/audits/{audit_id}/ics", headers=world.actor("a", "body:finance").headers
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/calendar")
    assert list(parse_all(r.content)) == [_uid(audit_id)]
    path = await _feed(client, world.actor("a", "org:owner").headers, scope="me")
    assert _uid(audit_id) in parse_all((await client.get(path)).content)
    for headers in (world.actor("b", "org:owner").headers, world.outsider.headers):
        r = await client.get(f"/api/v1/audits/{audit_id}/ics", headers=headers)
        assert r.status_code == 404
    r = await client.get(
        f"/api/v1/audits/{uuid.uuid4()}/ics", headers=world.actor("a", "org:owner").headers
    )
    assert r.status_code == 404
    # An audit with neither dates nor a window has nothing to put in a calendar.
    bare = await h.audit(c, status="planned")
    r = await client.get(
        f"/api/v1/audits/{bare}/ics", headers=world.actor("a", "org:owner").headers
    )
    assert r.status_code == 404
    assert r.json()["detail"]

    await sign_in(client, world.actor("a", "org:member").user_id)
    r = await client.get(f"/audits/{audit_id}/calendar.ics")
    assert r.status_code == 200
    assert "attachment" in r.headers["content-disposition"]
    client.cookies.clear()


async def test_calendars_page(client: httpx.AsyncClient, world: World) -> None:
    await sign_in(client, world.actor("a", "org:owner").user_id)
    page = await client.get("/calendars")
    assert page.status_code == 200
    assert f'value="organisation:{world.a.org_id}"' in page.text
    csrf = page.cookies.get("mp_csrf") or client.cookies.get("mp_csrf")
    assert csrf
    token = page.text.split('name="_csrf_token" value="', 1)[1].split('"', 1)[0]
    r = await client.post(
        "/calendars",
        data={"_csrf_token": token, "choice": f"organisation:{world.a.org_id}", "label": "Ours"},
    )
    assert r.status_code == 201
    assert "webcal://testserver/calendar/" in r.text
    assert (
        "https://calendar.google.com/calendar/r?cid=webcal%3A%2F%2Ftestserver%2Fcalendar%2F"
        in r.text
    )
    assert (
        "https://outlook.live.com/calendar/0/addfromweb?url=http%3A%2F%2Ftestserver%2Fcalendar%2F"
        in r.text
    )
    secret = r.text.split("webcal://testserver/calendar/", 1)[1].split(".ics", 1)[0]
    listing = await client.get("/calendars")
    assert secret not in listing.text
    assert "Ours" in listing.text
    r = await client.post(
        "/calendars", data={"_csrf_token": token, "choice": f"organisation:{world.b.org_id}"}
    )
    assert r.status_code == 404
    r = await client.post("/calendars", data={"_csrf_token": token, "choice": "nonsense"})
    assert r.status_code == 422
    feed = await CalendarFeed.select(CalendarFeed.id).first().run()
    assert feed is not None
    r = await client.post(f"/calendars/{feed['id']}/revoke", data={"_csrf_token": token})
    assert r.status_code in (302, 303)
    assert (await client.get(f"/calendar/{secret}.ics")).status_code == 404
    client.cookies.clear()


async def test_invitations_share_the_feed_uid(world: World) -> None:
    from marketplace.calendars import services

    c = await h.cycle(world.a.org_id, world.a.body_id)
    audit_id = await h.audit(
        c,
        status="proposed",
        starts_at=local("2027-03-29", 9, "Europe/London"),
        ends_at=local("2027-03-29", 17, "Europe/London"),
    )
    links = services.Links("http://testserver", "plans@example.test")
    request = icalendar.Calendar.from_ical(await services.audit_invitation(audit_id, links))
    assert str(request["METHOD"]) == "REQUEST"
    event = request.walk("VEVENT")[0]
    assert str(event["UID"]) == _uid(audit_id)
    assert str(event["ORGANIZER"]) == "mailto:plans@example.test"
    await h.update_audit(audit_id, status="cancelled", sequence=1)
    cancel = await services.audit_invitation(audit_id, links, "CANCEL")
    assert parse_all(cancel)[_uid(audit_id)][2:] == ("CANCELLED", 1)
    planned = await h.audit(c, status="planned", window=(dt.date(2027, 5, 1), dt.date(2027, 5, 2)))
    with pytest.raises(NotFound):
        await services.audit_invitation(planned, links)


async def test_openapi_describes_the_calendar_api(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    assert {"post", "get"} <= set(paths["/api/v1/calendar-feeds"])
    assert "delete" in paths["/api/v1/calendar-feeds/{feed_id}"]
    assert "get" in paths["/api/v1/audits/{audit_id}/ics"]
    assert not any(p.startswith("/calendar/") for p in paths)
