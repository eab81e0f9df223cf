"""Invitations: nobody joins a tenant without accepting, inviting probes no account, links are single use."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import httpx
import pytest

from marketplace.accounts.tables import Invitation, Membership
from marketplace.core import clock
from marketplace.core.tables import ActivityLog
from marketplace.notifications.tables import OutboxMessage
from tests.factories import PASSWORD, Actor, World, csrf_from, make_user, sign_in
from tests.integration.calendars import feed_rows as h

# (tenant kind, the members path of tenant a, manager role key, a role to offer, an existing member)
KINDS = {
    "organisation": ("/api/v1/organisations/{org}", "org:owner", "quality_manager", "org:member"),
    "body": ("/api/v1/bodies/{body}", "body:owner", "scheduler", "body:auditor"),
}


def _base(world: World, kind: str) -> str:
    return KINDS[kind][0].format(org=world.a.org_id, body=world.a.body_id)


def _manager(world: World, kind: str) -> Actor:
    return world.actor("a", KINDS[kind][1])


async def _invite(
    client: httpx.AsyncClient, world: World, kind: str, email: str, role: str | None = None
) -> httpx.Response:
    return await client.post(
        f"{_base(world, kind)}/members",
        json={"email": email, "role": role or KINDS[kind][2]},
        headers=_manager(world, kind).headers,
    )


async def _token(email: str) -> str:
    """The token of the newest invitation link e-mailed to the address (read from the outbox)."""
    row = (
        await OutboxMessage.select(OutboxMessage.data)
        .where((OutboxMessage.email == email) & (OutboxMessage.kind == "invitation"))
        .order_by(OutboxMessage.created_at, ascending=False)
        .first()
        .output(load_json=True)
        .run()
    )
    assert row is not None, f"no invitation e-mail to {email}"
    path = str(row["data"]["path"])
    assert path.startswith("/invitations/")
    return path.removeprefix("/invitations/")


async def _accept(client: httpx.AsyncClient, actor: Actor, token: str) -> httpx.Response:
    return await client.post(
        "/api/v1/invitations/accept", json={"token": token}, headers=actor.headers
    )


async def _memberships(client: httpx.AsyncClient, actor: Actor) -> list[dict[str, Any]]:
    me = await client.get("/api/v1/me", headers=actor.headers)
    assert me.status_code == 200
    memberships: list[dict[str, Any]] = me.json()["memberships"]
    return memberships


async def _pending(kind: str, tenant_id: uuid.UUID, email: str) -> int:
    column = Invitation.organisation if kind == "organisation" else Invitation.body
    return await (
        Invitation.count()
        .where(
            (column == tenant_id)
            & (Invitation.email == email)
            & Invitation.accepted_at.is_null()
            & Invitation.revoked_at.is_null()
        )
        .run()
    )


async def _feed_path(client: httpx.AsyncClient, actor: Actor) -> str:
    r = await client.post("/api/v1/calendar-feeds", json={"scope": "me"}, headers=actor.headers)
    assert r.status_code == 201, r.text
    return str(r.json()["url"]).removeprefix("http://testserver")


async def test_victim_sees_nothing_of_an_organisation_until_accepting(
    client: httpx.AsyncClient, world: World
) -> None:
    clock.travel_to(h.TODAY)
    cycle = await h.cycle(world.a.org_id, world.a.body_id)
    start = h.local("2027-02-15", 9, "Europe/London")
    audit_id = await h.audit(cycle, starts_at=start, ends_at=start + dt.timedelta(hours=8))
    victim = world.outsider
    feed = await _feed_path(client, victim)

    r = await _invite(client, world, "organisation", victim.email, role="owner")
    assert r.status_code == 201, r.text
    assert r.json() == {"status": "invited", "email": victim.email, "role": "owner"}

    assert await _memberships(client, victim) == []
    ics = await client.get(feed)
    assert ics.status_code == 200
    assert str(audit_id) not in ics.text
    org = await client.get(f"/api/v1/organisations/{world.a.org_id}", headers=victim.headers)
    assert org.status_code == 404
    await sign_in(client, victim.user_id)
    assert (await client.get(f"/organisations/{world.a.org_id}")).status_code == 404
    client.cookies.clear()

    accepted = await _accept(client, victim, await _token(victim.email))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json() == {
        "kind": "organisation",
        "id": str(world.a.org_id),
        "role": "owner",
        "name": "Client A Ltd",
    }
    assert await _memberships(client, victim) == [accepted.json()]
    assert f"audit-{audit_id}@" in (await client.get(feed)).text
    org = await client.get(f"/api/v1/organisations/{world.a.org_id}", headers=victim.headers)
    assert org.status_code == 200


async def test_body_invitation_gives_nothing_until_accepted(
    client: httpx.AsyncClient, world: World
) -> None:
    victim = world.outsider
    r = await _invite(client, world, "body", victim.email, role="owner")
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "invited"
    assert await _memberships(client, victim) == []
    activity = f"/api/v1/bodies/{world.a.body_id}/activity"
    assert (await client.get(activity, headers=victim.headers)).status_code == 404
    await sign_in(client, victim.user_id)
    assert (await client.get(f"/manage/bodies/{world.a.body_id}")).status_code == 404
    client.cookies.clear()

    accepted = await _accept(client, victim, await _token(victim.email))
    assert accepted.status_code == 200, accepted.text
    assert [(m["kind"], m["id"], m["role"]) for m in await _memberships(client, victim)] == [
        ("body", str(world.a.body_id), "owner")
    ]
    assert (await client.get(activity, headers=victim.headers)).status_code == 200


@pytest.mark.parametrize("kind", list(KINDS))
async def test_same_answer_for_unknown_known_and_member_addresses(
    client: httpx.AsyncClient, world: World, kind: str
) -> None:
    member = world.actor("a", KINDS[kind][3])
    addresses = {
        "unknown": f"nobody-{uuid.uuid4().hex[:8]}@example.test",
        "known": world.outsider.email,
        "member": member.email,
    }
    answers = {
        label: await _invite(client, world, kind, email) for label, email in addresses.items()
    }
    for label, r in answers.items():
        assert r.status_code == 201, (label, r.text)
        assert r.json() == {"status": "invited", "email": addresses[label], "role": KINDS[kind][2]}
        assert set(r.headers) == set(answers["unknown"].headers), label
    # The known and unknown addresses get a link; the member is not e-mailed, and stays as they were.
    assert await _token(addresses["unknown"])
    assert await _token(addresses["known"])
    assert not await OutboxMessage.exists().where(OutboxMessage.email == member.email).run()
    assert [m["role"] for m in await _memberships(client, member)] == [KINDS[kind][3].split(":")[1]]


@pytest.mark.parametrize("who", ["known", "unknown"])
async def test_twenty_simultaneous_invitations_leave_one_pending(
    client: httpx.AsyncClient, world: World, who: str
) -> None:
    email = world.outsider.email if who == "known" else "twenty@example.test"
    answers = await asyncio.gather(
        *(_invite(client, world, "organisation", email) for _ in range(20))
    )
    assert [r.status_code for r in answers] == [201] * 20, [r.text for r in answers]
    assert await _pending("organisation", world.a.org_id, email) == 1
    assert await Membership.count().where(Membership.organisation == world.a.org_id).run() == 3
    # The last link e-mailed is the one that works.
    accepter = world.outsider
    if who == "unknown":
        accepter = await make_user(email=email)
    assert (await _accept(client, accepter, await _token(email))).status_code == 200


async def _actor(client: httpx.AsyncClient, user_id: uuid.UUID, email: str) -> Actor:
    r = await client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return Actor(user_id, email, r.json()["token"])


async def test_simultaneous_accepts_make_one_membership(
    client: httpx.AsyncClient, world: World
) -> None:
    victim = world.outsider
    await _invite(client, world, "organisation", victim.email)
    token = await _token(victim.email)
    answers = await asyncio.gather(*(_accept(client, victim, token) for _ in range(5)))
    assert [r.status_code for r in answers] == [200] * 5, [r.text for r in answers]
    assert (
        await Membership.count()
        .where((Membership.user == victim.user_id) & (Membership.organisation == world.a.org_id))
        .run()
        == 1
    )
    accepted = (
        await ActivityLog.count()
        .where(ActivityLog.action == "marketplace.invitation.accepted")
        .run()
    )
    assert accepted == 1


async def test_wrong_account_cannot_accept(client: httpx.AsyncClient, world: World) -> None:
    await _invite(client, world, "organisation", world.outsider.email)
    token = await _token(world.outsider.email)
    intruder = world.actor("b", "org:owner")
    r = await _accept(client, intruder, token)
    assert r.status_code == 403
    assert r.json()["code"] == "wrong_account"
    assert world.outsider.email not in r.text, "the invited address is not told to someone else"
    assert str(world.a.org_id) not in [m["id"] for m in await _memberships(client, intruder)]
    unknown = await _accept(client, intruder, "not-a-real-token")
    assert unknown.status_code == 404
    assert (
        await client.post("/api/v1/invitations/accept", json={"token": token})
    ).status_code == 401
    # The invited person still can.
    assert (await _accept(client, world.outsider, token)).status_code == 200
    # ...and once used, the link is spent for everyone else.
    again = await _accept(client, intruder, token)
    assert again.status_code == 403


@pytest.mark.parametrize("kind", list(KINDS))
async def test_list_and_revoke(client: httpx.AsyncClient, world: World, kind: str) -> None:
    manager = _manager(world, kind)
    email = f"later-{uuid.uuid4().hex[:6]}@example.test"
    await _invite(client, world, kind, email)
    token = await _token(email)
    listed = await client.get(f"{_base(world, kind)}/invitations", headers=manager.headers)
    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert page["total"] == 1
    [item] = page["items"]
    assert item["email"] == email
    assert item["status"] == "pending"
    assert token not in listed.text
    assert "token_hash" not in item

    member = world.actor("a", KINDS[kind][3])
    path = f"{_base(world, kind)}/invitations/{item['id']}"
    assert (await client.delete(path, headers=member.headers)).status_code == 403
    other = world.actor("b", KINDS[kind][1])
    assert (await client.delete(path, headers=other.headers)).status_code == 404
    assert (await client.delete(path, headers=manager.headers)).status_code == 204
    assert (await client.delete(path, headers=manager.headers)).status_code == 404
    assert (await client.get(f"{_base(world, kind)}/invitations", headers=manager.headers)).json()[
        "total"
    ] == 0

    invitee = await make_user(email=email)
    r = await _accept(client, invitee, token)
    assert r.status_code == 409
    assert r.json()["code"] == "invitation_revoked"
    assert await _memberships(client, invitee) == []
    actions = [
        row["action"]
        for row in await ActivityLog.select(ActivityLog.action)
        .where(ActivityLog.entity_id == str(item["id"]))
        .order_by(ActivityLog.created_at)
        .run()
    ]
    assert actions == ["marketplace.invitation.created", "marketplace.invitation.revoked"]


async def test_links_expire_and_inviting_again_sends_a_fresh_one(
    client: httpx.AsyncClient, world: World
) -> None:
    victim = world.outsider
    await _invite(client, world, "organisation", victim.email)
    old = await _token(victim.email)
    clock.travel_to(clock.now() + dt.timedelta(days=7, minutes=1))
    r = await _accept(client, victim, old)
    assert r.status_code == 409
    assert r.json()["code"] == "invitation_expired"
    assert await _memberships(client, victim) == []
    manager = _manager(world, "organisation")
    listed = (
        await client.get(f"{_base(world, 'organisation')}/invitations", headers=manager.headers)
    ).json()
    assert [i["status"] for i in listed["items"]] == ["expired"]

    await _invite(client, world, "organisation", victim.email, role="member")
    fresh = await _token(victim.email)
    assert fresh != old
    assert await _pending("organisation", world.a.org_id, victim.email) == 1
    assert (await _accept(client, victim, old)).status_code == 404, "the old link is replaced"
    r = await _accept(client, victim, fresh)
    assert r.status_code == 200
    assert r.json()["role"] == "member", "the role chosen last counts"


async def test_registering_or_signing_in_joins_nothing(
    client: httpx.AsyncClient, world: World
) -> None:
    """Formerly an invitation turned into a membership at registration; now only accepting does."""
    await _invite(client, world, "organisation", "New.Person@example.test")
    r = await client.post(
        "/api/v1/auth/register",
        json={"email": "new.person@example.test", "password": PASSWORD, "name": "New"},
    )
    assert r.status_code == 201
    newcomer = await _actor(client, uuid.UUID(r.json()["id"]), "new.person@example.test")
    assert await _memberships(client, newcomer) == []
    r = await _accept(client, newcomer, await _token("new.person@example.test"))
    assert r.status_code == 200
    assert [(m["id"], m["role"]) for m in await _memberships(client, newcomer)] == [
        (str(world.a.org_id), "quality_manager")
    ]


async def test_the_link_secret_is_kept_only_as_a_hash(
    client: httpx.AsyncClient, world: World
) -> None:
    await _invite(client, world, "organisation", world.outsider.email)
    token = await _token(world.outsider.email)
    row = await Invitation.select().first().run()
    assert row is not None
    assert token not in str(row)
    assert len(row["token_hash"]) == 64
    log = await ActivityLog.select().run()
    assert token not in str(log)
    assert "marketplace.invitation.created" in [e["action"] for e in log]


# --- pages ------------------------------------------------------------------------------------


async def _form(client: httpx.AsyncClient, page: str, action: str, data: dict[str, str]) -> Any:
    html = (await client.get(page)).text
    return await client.post(action, data={**data, "_csrf_token": csrf_from(html)})


@pytest.mark.parametrize("kind", list(KINDS))
async def test_members_page_invites_lists_and_revokes(
    client: httpx.AsyncClient, world: World, kind: str
) -> None:
    page = (
        f"/organisations/{world.a.org_id}"
        if kind == "organisation"
        else f"/manage/bodies/{world.a.body_id}"
    )
    await sign_in(client, _manager(world, kind).user_id)
    notices = []
    for email in (
        "fresh@example.test",
        world.outsider.email,
        world.actor("a", KINDS[kind][3]).email,
    ):
        r = await _form(client, page, f"{page}/members", {"email": email, "role": KINDS[kind][2]})
        assert r.status_code == 200, r.text
        notices.append(r.text.split('role="status">')[1].split("</div>")[0].replace(email, "X"))
    assert len(set(notices)) == 1, notices
    html = (await client.get(page)).text
    assert "Pending invitations" in html
    assert "fresh@example.test" in html
    rows = await Invitation.select(Invitation.id, Invitation.email).run()
    fresh = next(r["id"] for r in rows if r["email"] == "fresh@example.test")
    confirm = await client.get(f"{page}/invitations/{fresh}/revoke")
    assert confirm.status_code == 200
    assert "Revoke this invitation?" in confirm.text
    assert "<strong>fresh@example.test</strong>" in confirm.text
    r = await client.post(
        f"{page}/invitations/{fresh}/revoke", data={"_csrf_token": csrf_from(confirm.text)}
    )
    assert r.status_code == 200
    assert "is revoked" in r.text
    assert (
        await _pending(
            kind,
            world.a.org_id if kind == "organisation" else world.a.body_id,
            "fresh@example.test",
        )
        == 0
    )


async def test_accept_page_signs_in_first_and_then_joins(
    client: httpx.AsyncClient, world: World
) -> None:
    await _invite(client, world, "organisation", world.outsider.email)
    token = await _token(world.outsider.email)
    client.cookies.clear()
    r = await client.get(f"/invitations/{token}")
    assert r.status_code == 302
    assert r.headers["location"] == f"/login?next=/invitations/{token}"

    await sign_in(client, world.actor("b", "org:owner").user_id)
    r = await client.get(f"/invitations/{token}")
    assert r.status_code == 403
    assert "another e-mail address" in r.text
    assert world.outsider.email not in r.text
    assert "Client A Ltd" not in r.text, "nothing of the invitation for the wrong account"

    await sign_in(client, world.outsider.user_id)
    r = await client.get(f"/invitations/{token}")
    assert r.status_code == 200
    assert "Client A Ltd" in r.text
    assert "quality manager" in r.text
    r = await client.post(f"/invitations/{token}", data={"_csrf_token": csrf_from(r.text)})
    assert r.status_code == 302
    assert r.headers["location"] == f"/organisations/{world.a.org_id}"
    assert (await client.get(f"/organisations/{world.a.org_id}")).status_code == 200
    assert "You have accepted this invitation." in (await client.get(f"/invitations/{token}")).text
    assert (await client.get("/invitations/not-a-token")).status_code == 404


async def test_a_newcomer_registers_from_the_link_and_comes_back_to_accept(
    client: httpx.AsyncClient, world: World
) -> None:
    email = "newcomer@example.org"
    await _invite(client, world, "organisation", email)
    token = await _token(email)
    client.cookies.clear()
    login = await client.get(f"/invitations/{token}", follow_redirects=True)
    # The sign-in page's "Register" link keeps where the visitor was going.
    assert f'href="/register?next=/invitations/{token}"' in login.text
    form = await client.get(f"/register?next=/invitations/{token}")
    assert f'name="next" value="/invitations/{token}"' in form.text
    r = await client.post(
        "/register",
        data={
            "_csrf_token": csrf_from(form.text),
            "name": "New Comer",
            "email": email,
            "password": PASSWORD,
            "time_zone": "UTC",
            "next": f"/invitations/{token}",
        },
    )
    assert r.status_code in (302, 303)
    assert r.headers["location"] == f"/invitations/{token}"
    page = await client.get(f"/invitations/{token}")
    assert page.status_code == 200
    assert "Client A Ltd" in page.text
    # An outside address in `next` never becomes a redirect.
    client.cookies.clear()
    form = await client.get("/register?next=//evil.example/")
    assert 'name="next" value="/account"' in form.text
