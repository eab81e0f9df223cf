"""Dashboard pages: the client list and file, notes, the work lists, every user's home."""

from __future__ import annotations

import datetime as dt

import httpx

from marketplace.core import clock
from marketplace.scheduling.tables import Audit, AuditAssignment
from tests.factories import World, csrf_from, make_organisation, sign_in
from tests.factories.dashboards import busy_client
from tests.factories.findings import answered, issued_report
from tests.factories.scheduling import auditor, engagement
from tests.integration.dashboards.counting import count_of


async def test_client_list_filters_sorts_pages_and_exports(
    client: httpx.AsyncClient, world: World
) -> None:
    await busy_client(world.a.org_id, world.a.body_id)
    quiet, _site = await make_organisation("Quiet Widgets Ltd")
    await engagement(quiet, world.a.body_id, held=2)
    await busy_client(world.b.org_id, world.b.body_id)  # never listed for body a
    owner = world.actor("a", "body:owner")
    api = f"/api/v1/bodies/{world.a.body_id}/clients"

    async def names(query: str) -> list[str]:
        response = await client.get(f"{api}?{query}", headers=owner.headers)
        assert response.status_code == 200, response.text
        return [c["name"] for c in response.json()["items"]]

    assert await names("") == ["Client A Ltd", "Quiet Widgets Ltd"]
    assert await names("q=widg") == ["Quiet Widgets Ltd"]
    assert await names("q=100%25") == []  # a literal percent sign matches nothing
    assert await names("certificate_status=active") == ["Client A Ltd"]
    assert await names("certificate_status=none") == ["Quiet Widgets Ltd"]
    assert await names("standard=ISO%2014001:2015") == ["Client A Ltd"]
    assert await names("open_ncs=true") == ["Client A Ltd"]
    assert await names("overdue_invoices=true") == ["Client A Ltd"]
    soon = clock.today() + dt.timedelta(days=30)
    assert await names(f"due_before={soon}") == ["Client A Ltd"]
    assert await names("sort=open_ncs") == ["Client A Ltd", "Quiet Widgets Ltd"]
    paged = (await client.get(f"{api}?per_page=1&page=2", headers=owner.headers)).json()
    assert paged["total"] == 2
    assert [c["name"] for c in paged["items"]] == ["Quiet Widgets Ltd"]
    row = (await client.get(f"{api}?q=client", headers=owner.headers)).json()["items"][0]
    assert row["open_ncs"] == 2
    assert row["overdue_invoices"] == 1
    assert row["standards"] == ["ISO 14001:2015", "ISO 9001:2015"]
    # Bad input is a clear 422, never a 500.
    for bad in ("sort=rating", "certificate_status=great", "due_before=soon", "per_page=1000"):
        response = await client.get(f"{api}?{bad}", headers=owner.headers)
        assert response.status_code in (400, 422), (bad, response.text)
    # The scheduler does not see invoices, so cannot filter by them.
    scheduler = world.actor("a", "body:scheduler")
    hidden = (await client.get(api, headers=scheduler.headers)).json()["items"]
    assert all(c["overdue_invoices"] is None for c in hidden)
    response = await client.get(f"{api}?overdue_invoices=true", headers=scheduler.headers)
    assert response.status_code == 422
    # The page and its CSV export show the same clients.
    await sign_in(client, owner.user_id)
    page = await client.get(f"/manage/bodies/{world.a.body_id}/clients?open_ncs=true")
    assert page.status_code == 200
    assert 'data-total="1"' in page.text
    assert "Client A Ltd" in page.text
    assert "Quiet Widgets" not in page.text
    export = await client.get(f"/manage/bodies/{world.a.body_id}/clients/export.csv?sort=name")
    assert export.headers["content-type"].startswith("text/csv")
    lines = export.text.strip().splitlines()
    assert lines[0].endswith("overdue_invoices")
    assert len(lines) == 3
    assert lines[1].split(",")[1] == "Client A Ltd"


async def test_client_file_shows_the_relationship_and_keeps_notes(
    client: httpx.AsyncClient, world: World
) -> None:
    made = await busy_client(world.a.org_id, world.a.body_id)
    base = f"/manage/bodies/{world.a.body_id}/clients/{world.a.org_id}"
    finance = world.actor("a", "body:finance")
    detail = (
        await client.get(
            f"/api/v1/bodies/{world.a.body_id}/clients/{world.a.org_id}", headers=finance.headers
        )
    ).json()
    assert [e["standard"] for e in detail["engagements"]] == [
        "ISO 9001:2015",
        "ISO 14001:2015",
        "ISO 9001:2015",
    ] or len(detail["engagements"]) == 3
    assert detail["certificates"][0]["number"] == made.certificate
    assert [h["action"] for h in detail["certificates"][0]["history"]] == ["granted"]
    assert detail["invoices"][0]["id"] == str(made.invoice_id)
    assert {a["action"] for a in detail["activity"]} >= {"marketplace.engagement.started"}
    statuses = {m["label"]: m["count"] for m in detail["corrective_actions"]}
    assert statuses["submitted"] == 1
    assert statuses["accepted"] == 1
    assert statuses["closed"] == 1
    for m in detail["corrective_actions"]:
        assert await count_of(client, finance.user_id, m["href"]) == m["count"]
    # A scheduler sees the file without invoices.
    scheduler = world.actor("a", "body:scheduler")
    no_money = (
        await client.get(
            f"/api/v1/bodies/{world.a.body_id}/clients/{world.a.org_id}", headers=scheduler.headers
        )
    ).json()
    assert no_money["invoices"] is None
    assert all(a["entity_type"] != "invoice" for a in no_money["activity"])
    # Notes: added from the page with its CSRF token, listed newest first, logged.
    await sign_in(client, scheduler.user_id)
    page = await client.get(base)
    assert page.status_code == 200
    for heading in ("Contacts and sites", "Engagements and cycles", "Reports and findings"):
        assert heading in page.text
    assert "Invoices and payments" not in page.text
    token = csrf_from(page.text)
    empty = await client.post(f"{base}/notes", data={"text": "  ", "_csrf_token": token})
    assert empty.status_code == 422
    assert 'id="text-error"' in empty.text
    added = await client.post(
        f"{base}/notes", data={"text": "Prefers August audits.", "_csrf_token": token}
    )
    assert added.status_code == 303
    page = await client.get(base)
    assert "Prefers August audits." in page.text
    notes = await client.get(
        f"/api/v1/bodies/{world.a.body_id}/clients/{world.a.org_id}/notes",
        headers=scheduler.headers,
    )
    assert [n["text"] for n in notes.json()] == ["Prefers August audits."]
    # Finance reads but does not write notes; another body's client is not found.
    denied = await client.post(
        f"/api/v1/bodies/{world.a.body_id}/clients/{world.a.org_id}/notes",
        json={"text": "x"},
        headers=finance.headers,
    )
    assert denied.status_code == 403
    stranger = await client.get(
        f"/api/v1/bodies/{world.a.body_id}/clients/{world.b.org_id}", headers=finance.headers
    )
    assert stranger.status_code == 404


async def test_home_pages_render_and_dashboard_leads_each_user(
    client: httpx.AsyncClient, world: World
) -> None:
    await busy_client(world.a.org_id, world.a.body_id)
    owner = world.actor("a", "body:owner")
    await sign_in(client, owner.user_id)
    lead = await client.get("/dashboard")
    assert lead.status_code == 303
    assert lead.headers["location"] == f"/manage/bodies/{world.a.body_id}/home"
    home = await client.get(lead.headers["location"])
    assert home.status_code == 200
    # Every chart has its title and a table with the same numbers.
    # (no auditors yet: audits per month, nonconformities by clause and revenue)
    assert home.text.count('role="img"') == 3
    assert home.text.count("<title id=") == 3
    assert home.text.count("<figcaption>") == 3
    assert 'data-metric="overdue_invoices"' in home.text
    await sign_in(client, world.actor("a", "org:member").user_id)
    lead = await client.get("/dashboard")
    assert lead.headers["location"] == f"/organisations/{world.a.org_id}/home"
    home = await client.get(lead.headers["location"])
    assert home.status_code == 200
    assert "Repeat findings on the same clause" in home.text
    await sign_in(client, world.actor("a", "body:auditor").user_id)
    assert (await client.get("/dashboard")).headers["location"] == "/me/auditor"
    await sign_in(client, world.outsider.user_id)
    chooser = await client.get("/dashboard")
    assert chooser.status_code == 200
    assert "Create your organisation" in chooser.text


async def test_auditor_home_counts_their_own_work(client: httpx.AsyncClient, world: World) -> None:
    user = world.actor("a", "body:auditor")
    auditor_id = await auditor(world.a.body_id, "Ann Auditor", user_id=user.user_id)
    _made, _report, actions = await issued_report(world.a.org_id, world.a.body_id, ("major",))
    await answered(actions["major"], "accepted")
    held = await engagement(world.a.org_id, world.a.body_id, held=2)  # held, no report yet
    now = clock.now()
    audits = (_made.audit_ids["stage2"], held.audit_ids["stage2"], held.audit_ids["surveillance1"])
    for day, audit_id in enumerate(audits):
        start = now + dt.timedelta(days=day)  # one booking per day: PostgreSQL forbids overlaps
        await (
            AuditAssignment(
                audit=audit_id,
                auditor=auditor_id,
                role="lead",
                starts_at=start,
                ends_at=start + dt.timedelta(hours=8),
            )
            .save()
            .run()
        )
    await (
        Audit.update({Audit.status: "confirmed"})
        .where(Audit.id == held.audit_ids["surveillance1"])
        .run()
    )
    board = (await client.get("/api/v1/me/auditor-dashboard", headers=user.headers)).json()
    (mine,) = board["auditors"]
    assert mine["assignments_ahead"]["count"] == 1
    assert mine["reports_to_write"]["count"] == 1
    assert mine["reports"][0]["id"] == str(held.audit_ids["stage2"])
    assert mine["actions_to_verify"]["count"] == 1
    for key in ("assignments_ahead", "actions_to_verify", "actions_to_review"):
        assert await count_of(client, user.user_id, mine[key]["href"]) == mine[key]["count"]
    await sign_in(client, user.user_id)
    page = await client.get("/me/auditor")
    assert page.status_code == 200
    assert page.text.count('<li><a href="/audits/') == 1
    # Another tenant's auditor sees nothing of body a.
    other = (
        await client.get(
            "/api/v1/me/auditor-dashboard", headers=world.actor("b", "body:auditor").headers
        )
    ).json()
    assert other["auditors"] == []


async def test_admin_home_numbers_equal_their_lists(
    client: httpx.AsyncClient, world: World
) -> None:
    board = (await client.get("/api/v1/admin/dashboard", headers=world.admin.headers)).json()
    queues = {m["key"]: m for m in board["queues"]}
    assert (
        queues["signups"]["count"] == len(world.a.actors) * 2 + 2
    )  # both tenants, outsider, admin
    for m in board["queues"]:
        assert await count_of(client, world.admin.user_id, m["href"]) == m["count"]
        assert m["api"], m  # every queue is a JSON list too
        assert (
            await count_of(client, world.admin.user_id, m["api"], world.admin.headers) == m["count"]
        )
    users = (await client.get("/api/v1/admin/users?per_page=3", headers=world.admin.headers)).json()
    assert (len(users["items"]), users["per_page"]) == (3, 3)
    assert {"id", "name", "email", "created_at", "is_active"} <= set(users["items"][0])
    assert world.admin.email in {
        u["email"]
        for u in (
            await client.get("/api/v1/admin/users?per_page=100", headers=world.admin.headers)
        ).json()["items"]
    }
    r = await client.get("/api/v1/admin/users?per_page=500", headers=world.admin.headers)
    assert r.status_code == 422
    r = await client.get("/api/v1/admin/reviews?since=yesterday", headers=world.admin.headers)
    assert r.status_code == 422
    assert "since" in r.text
    assert board["health"]["bodies"] == 2
    await sign_in(client, world.admin.user_id)
    page = await client.get("/admin/home")
    assert page.status_code == 200
    assert "Waiting for you" in page.text
