"""The certification decision gate: every refusal, a grant that fixes the cycle, a refusal."""

from __future__ import annotations

import datetime as dt
import re

import httpx

from marketplace.core import clock
from marketplace.directory.tables import Accreditation
from marketplace.findings.tables import CorrectiveAction
from marketplace.rules.cycle import add_months, expiry_date
from marketplace.scheduling.tables import Audit, CertificationCycle
from tests.factories import World
from tests.factories.certificates import ready_cycle
from tests.factories.findings import answered, issued_report
from tests.factories.scheduling import engagement

GRANT = {"decision": "grant", "scope": "Design and manufacture of precision parts"}


def _path(cycle_id: object) -> str:
    return f"/api/v1/cycles/{cycle_id}/decision"


async def test_grant_issues_a_certificate_and_fixes_the_cycle(
    client: httpx.AsyncClient, world: World
) -> None:
    made = await ready_cycle(world.a.org_id, world.a.body_id)
    await Accreditation.insert(
        Accreditation(
            body=world.a.body_id,
            accreditation_body="UKAS",
            number="0001",
            standard="ISO 9001:2015",
            valid_until=clock.today() + dt.timedelta(days=400),
            status="verified",
        )
    ).run()
    decider = world.actor("a", "body:decision_maker").headers
    r = await client.post(_path(made.cycle_id), json=GRANT, headers=decider)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["decision"] == "grant"
    cert = out["certificate"]
    today = clock.today()
    assert re.fullmatch(rf"BAC-{today.year}-000001", cert["number"])
    assert cert["status"] == "active"
    assert cert["organisation"] == "Client A Ltd"
    assert cert["body"] == "Body A Certification"
    assert cert["accreditation_body"] == "UKAS"
    assert cert["standard"] == "ISO 9001:2015"
    assert cert["iaf_sectors"] == [28]
    assert cert["sites"][0]["name"] == "Head office"
    assert cert["issued_on"] == cert["original_issued_on"] == today.isoformat()
    assert cert["expires_on"] == expiry_date(today).isoformat()

    cycle = (
        await CertificationCycle.select()
        .where(CertificationCycle.id == made.cycle_id)
        .first()
        .run()
    )
    assert cycle["decision_date"] == today
    assert cycle["expiry_date"] == expiry_date(today)
    s1 = (
        await Audit.select()
        .where((Audit.cycle == made.cycle_id) & (Audit.kind == "surveillance1"))
        .first()
        .run()
    )
    assert s1["window_end"] == add_months(today, 12)

    r = await client.post(_path(made.cycle_id), json=GRANT, headers=decider)
    assert r.status_code == 409
    assert r.json()["code"] == "already_decided"

    # The next certificate of the same prefix and year takes the next number.
    other = await ready_cycle(world.a.org_id, world.a.body_id)
    r = await client.post(_path(other.cycle_id), json=GRANT, headers=decider)
    assert r.json()["certificate"]["number"] == f"BAC-{today.year}-000002"


async def test_open_nonconformities_block_the_grant(
    client: httpx.AsyncClient, world: World
) -> None:
    made = await engagement(world.a.org_id, world.a.body_id, held=2)
    _m, _report, actions = await issued_report(
        world.a.org_id, world.a.body_id, ("major", "minor"), made=made
    )
    decider = world.actor("a", "body:owner").headers
    r = await client.post(_path(made.cycle_id), json=GRANT, headers=decider)
    assert r.status_code == 409
    assert r.json()["code"] == "open_major_nonconformities"
    await answered(actions["major"], "accepted")  # accepted is not yet verified
    r = await client.post(_path(made.cycle_id), json=GRANT, headers=decider)
    assert r.json()["code"] == "open_major_nonconformities"
    await answered_verify(actions["major"])
    r = await client.post(_path(made.cycle_id), json=GRANT, headers=decider)
    assert r.status_code == 409
    assert r.json()["code"] == "open_minor_nonconformities"
    await answered(actions["minor"], "accepted")
    r = await client.post(_path(made.cycle_id), json=GRANT, headers=decider)
    assert r.status_code == 201, r.text


async def answered_verify(ca_id: object) -> None:
    from marketplace.findings import corrective_actions as services

    await services.verify_corrective_action(None, ca_id, True, "ok")  # type: ignore[arg-type]


async def test_escalated_minor_blocks_like_a_major(client: httpx.AsyncClient, world: World) -> None:
    made = await engagement(world.a.org_id, world.a.body_id, held=2)
    _m, _r, actions = await issued_report(world.a.org_id, world.a.body_id, ("minor",), made=made)
    await answered(actions["minor"], "accepted")
    await (
        CorrectiveAction.update({CorrectiveAction.grade: "major", CorrectiveAction.escalated: True})
        .where(CorrectiveAction.id == actions["minor"])
        .run()
    )
    r = await client.post(
        _path(made.cycle_id), json=GRANT, headers=world.actor("a", "body:owner").headers
    )
    assert r.json()["code"] == "open_major_nonconformities"


async def test_stage2_not_completed_and_report_not_issued(
    client: httpx.AsyncClient, world: World
) -> None:
    decider = world.actor("a", "body:decision_maker").headers
    made = await engagement(world.a.org_id, world.a.body_id, held=1)
    r = await client.post(_path(made.cycle_id), json=GRANT, headers=decider)
    assert r.status_code == 409
    assert r.json()["code"] == "stage2_not_completed"
    made = await engagement(world.a.org_id, world.a.body_id, held=2)
    r = await client.post(_path(made.cycle_id), json=GRANT, headers=decider)
    assert r.status_code == 409
    assert r.json()["code"] == "report_not_issued"


async def test_stage2_older_than_six_months(client: httpx.AsyncClient, world: World) -> None:
    decider = world.actor("a", "body:decision_maker").headers
    today = clock.today()
    ended = add_months(today, -6) - dt.timedelta(days=1)
    made = await ready_cycle(world.a.org_id, world.a.body_id, stage2_ended=ended)
    r = await client.post(_path(made.cycle_id), json=GRANT, headers=decider)
    assert r.status_code == 409
    assert r.json()["code"] == "stage2_expired"

    # Decided on the deadline itself (majors verified by then), it is still in time.
    clock.travel_to(clock.now() - dt.timedelta(days=1))
    made = await ready_cycle(world.a.org_id, world.a.body_id, stage2_ended=ended)
    r = await client.post(_path(made.cycle_id), json=GRANT, headers=decider)
    assert r.status_code == 201, r.text
    clock.travel_to(clock.now() + dt.timedelta(days=1))

    # Past it, the body may record its judgement that the evidence is still current ...
    made = await ready_cycle(world.a.org_id, world.a.body_id, stage2_ended=ended)
    in_time = dt.datetime.combine(ended + dt.timedelta(days=10), dt.time(9), tzinfo=dt.UTC)
    await (
        CorrectiveAction.update({CorrectiveAction.closed_at: in_time})
        .where(
            (CorrectiveAction.audit == made.audit_ids["stage2"])
            & (CorrectiveAction.grade == "major")
        )
        .run()
    )
    r = await client.post(_path(made.cycle_id), json=GRANT, headers=decider)
    assert r.json()["code"] == "stage2_expired"
    r = await client.post(
        _path(made.cycle_id),
        json={**GRANT, "stage2_override_reason": "Evidence re-checked remotely"},
        headers=decider,
    )
    assert r.status_code == 201, r.text

    # ... but never when a major was verified after the 6 months (ISO/IEC 17021-1 9.5.3.2).
    made = await ready_cycle(world.a.org_id, world.a.body_id, stage2_ended=ended)
    late = dt.datetime.combine(today, dt.time(9), tzinfo=dt.UTC)
    await (
        CorrectiveAction.update({CorrectiveAction.closed_at: late})
        .where(
            (CorrectiveAction.audit == made.audit_ids["stage2"])
            & (CorrectiveAction.grade == "major")
        )
        .run()
    )
    r = await client.post(
        _path(made.cycle_id), json={**GRANT, "stage2_override_reason": "Please"}, headers=decider
    )
    assert r.status_code == 409
    assert r.json()["code"] == "stage2_expired"


async def test_bad_dates_and_input(client: httpx.AsyncClient, world: World) -> None:
    made = await ready_cycle(world.a.org_id, world.a.body_id)
    decider = world.actor("a", "body:decision_maker").headers
    tomorrow = (clock.today() + dt.timedelta(days=1)).isoformat()
    r = await client.post(
        _path(made.cycle_id), json={**GRANT, "decided_on": tomorrow}, headers=decider
    )
    assert r.status_code == 422
    r = await client.post(
        _path(made.cycle_id), json={**GRANT, "decided_on": "2000-01-01"}, headers=decider
    )
    assert r.status_code == 422
    r = await client.post(
        _path(made.cycle_id), json={"decision": "grant", "scope": " "}, headers=decider
    )
    assert r.status_code == 422
    r = await client.post(_path(made.cycle_id), json={"decision": "maybe"}, headers=decider)
    assert r.status_code in (400, 422)
    # Nothing was written by the refusals.
    cycle = (
        await CertificationCycle.select()
        .where(CertificationCycle.id == made.cycle_id)
        .first()
        .run()
    )
    assert cycle["decision_date"] is None


async def test_refusal_and_roles(client: httpx.AsyncClient, world: World) -> None:
    made = await engagement(world.a.org_id, world.a.body_id, held=2)
    for key, status in (("body:scheduler", 403), ("org:owner", 403)):
        r = await client.post(
            _path(made.cycle_id), json=GRANT, headers=world.actor("a", key).headers
        )
        assert r.status_code == status
    assert (
        await client.post(
            _path(made.cycle_id), json=GRANT, headers=world.actor("b", "body:owner").headers
        )
    ).status_code == 404
    r = await client.post(
        _path(made.cycle_id),
        json={"decision": "refuse", "comment": "Majors unresolved"},
        headers=world.actor("a", "body:decision_maker").headers,
    )
    assert r.status_code == 201, r.text
    assert r.json()["certificate"] is None
    cycle = (
        await CertificationCycle.select()
        .where(CertificationCycle.id == made.cycle_id)
        .first()
        .run()
    )
    assert cycle["status"] == "refused"
    assert cycle["decision_date"] is None
