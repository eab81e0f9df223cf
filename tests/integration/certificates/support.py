"""Builders for certificate tests: a cycle ready for its decision, and a granted certificate."""

from __future__ import annotations

import datetime as dt
import uuid

from marketplace.certificates.decisions import decide
from tests.integration.findings.support import Made, answered, engagement, issued_report


async def ready_cycle(
    org_id: uuid.UUID, body_id: uuid.UUID, *, stage2_ended: dt.date | None = None
) -> Made:
    """Stage 2 completed, its report issued, the major verified and the minor's plan accepted."""
    made = await engagement(org_id, body_id, stage2_ended=stage2_ended)
    _made, _report, actions = await issued_report(org_id, body_id, ("major", "minor"), made=made)
    await answered(actions["major"], "closed")
    await answered(actions["minor"], "accepted")
    return made


async def granted(org_id: uuid.UUID, body_id: uuid.UUID) -> tuple[Made, str]:
    made = await ready_cycle(org_id, body_id)
    result = await decide(
        None,
        made.cycle_id,
        decision="grant",
        decided_on=None,
        scope="Design and manufacture of precision parts",
    )
    return made, str(result["certificate"])
