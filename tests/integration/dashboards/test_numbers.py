"""Every dashboard number equals the list it links to, for both tenants, with nothing of the other."""

from __future__ import annotations

from typing import Any

import httpx

from tests.factories import World
from tests.factories.dashboards import busy_client
from tests.integration.dashboards.counting import count_of


async def _check(client: httpx.AsyncClient, actor: Any, metrics: list[dict[str, Any]]) -> None:
    for m in metrics:
        assert await count_of(client, actor.user_id, m["href"]) == m["count"], m
        if m.get("api"):
            assert await count_of(client, actor.user_id, m["api"], actor.headers) == m["count"], m


async def test_body_home_numbers_equal_their_lists(client: httpx.AsyncClient, world: World) -> None:
    for t in ("a", "b"):
        tenant = world.tenant(t)
        await busy_client(tenant.org_id, tenant.body_id)
    for t in ("a", "b"):
        owner = world.actor(t, "body:owner")
        response = await client.get(
            f"/api/v1/bodies/{world.tenant(t).body_id}/dashboard", headers=owner.headers
        )
        assert response.status_code == 200, response.text
        board = response.json()
        counts = {m["key"]: m["count"] for m in board["attention"]}
        # One of each per tenant: the other tenant's identical data is never counted.
        assert counts == {
            "proposals_awaiting_client": 1,
            "audits_without_team": 2,  # the new stage 1 and the closing surveillance 2
            "surveillance_closing": 1,
            "certificates_at_risk": 1,
            "certificates_expiring": 1,
            "actions_awaiting_review": 1,
            "actions_awaiting_verification": 1,
            "overdue_invoices": 1,
        }
        assert board["clients"]["count"] == 1
        await _check(client, owner, [*board["attention"], board["clients"]])
        # The KPI numbers link to their lists too.
        apm = board["audits_per_month"]
        held = [c for m in apm["months"] for c in m["kinds"].values() if c["count"]]
        assert sum(c["count"] for c in held) == 4  # two engagements' stage 1 and stage 2
        for cell in held + [t for t in apm["totals"].values() if t["count"]]:
            assert await count_of(client, owner.user_id, cell["href"]) == cell["count"]
        clauses = board["nonconformities_by_clause"]
        assert [c["clause"] for c in clauses] == ["8.5.1"]
        assert clauses[0]["count"] == 3
        assert await count_of(client, owner.user_id, clauses[0]["href"]) == 3
        assert board["stage2_to_decision"]["decisions"] == 1
        assert board["revenue"]["months"][-1]["invoiced"]["GBP"] == 228000


async def test_finance_sees_invoices_scheduler_does_not(
    client: httpx.AsyncClient, world: World
) -> None:
    await busy_client(world.a.org_id, world.a.body_id)
    path = f"/api/v1/bodies/{world.a.body_id}/dashboard"
    finance = (await client.get(path, headers=world.actor("a", "body:finance").headers)).json()
    scheduler = (await client.get(path, headers=world.actor("a", "body:scheduler").headers)).json()
    assert "overdue_invoices" in {m["key"] for m in finance["attention"]}
    assert "overdue_invoices" not in {m["key"] for m in scheduler["attention"]}
    assert finance["revenue"] is not None
    assert scheduler["revenue"] is None
    auditor = await client.get(path, headers=world.actor("a", "body:auditor").headers)
    assert auditor.status_code == 403


async def test_client_home_numbers_equal_their_lists(
    client: httpx.AsyncClient, world: World
) -> None:
    for t in ("a", "b"):
        await busy_client(world.tenant(t).org_id, world.tenant(t).body_id)
    for t in ("a", "b"):
        qm = world.actor(t, "org:quality_manager")
        response = await client.get(
            f"/api/v1/organisations/{world.tenant(t).org_id}/dashboard", headers=qm.headers
        )
        assert response.status_code == 200, response.text
        board = response.json()
        counts = {m["key"]: m["count"] for m in board["actions"] + board["invoices"]}
        assert counts == {
            "actions_open": 0,
            "actions_overdue": 0,
            "invoices_open": 1,
            "invoices_overdue": 1,
        }
        await _check(client, qm, board["actions"] + board["invoices"])
        imp = board["improvement"]
        assert imp["closed"]["count"] == 1
        assert await count_of(client, qm.user_id, imp["closed"]["href"]) == 1
        # Clause 8.5.1 drew nonconformities at two audits: a repeat finding.
        assert [(r["clause"], r["count"], r["audits"]) for r in imp["repeat_clauses"]] == [
            ("8.5.1", 3, 2)
        ]
        for r in imp["repeat_clauses"]:
            assert await count_of(client, qm.user_id, r["api"], qm.headers) == r["count"]
        assert sorted(r["count"] for r in imp["per_report"]) == [1, 2]
        assert board["certificates"][0]["status"] == "active"
        assert board["certificates"][0]["days_to_expiry"] == 30


async def test_client_home_by_owner(client: httpx.AsyncClient, world: World) -> None:
    from marketplace.findings.tables import CorrectiveAction
    from tests.factories.findings import issued_report

    qm = world.actor("a", "org:quality_manager")
    _m, _r, actions = await issued_report(world.a.org_id, world.a.body_id, ("major", "minor"))
    await (
        CorrectiveAction.update({CorrectiveAction.owner: qm.user_id})
        .where(CorrectiveAction.id == actions["major"])
        .run()
    )
    await issued_report(world.b.org_id, world.b.body_id, ("major", "minor"))
    board = (
        await client.get(f"/api/v1/organisations/{world.a.org_id}/dashboard", headers=qm.headers)
    ).json()
    assert [(o["owner_name"], o["count"]) for o in board["actions_by_owner"]] == [
        ("quality_manager of org a", 1)
    ]
    assert {m["key"]: m["count"] for m in board["actions"]}["actions_open"] == 2
    await _check(client, qm, board["actions_by_owner"] + board["actions"])
