"""Builders of certificates' things: a cycle ready for its decision, and a granted certificate."""

from __future__ import annotations

import datetime as dt
import uuid

from marketplace.certificates.decisions import decide
from marketplace.scheduling.engagements import StartedEngagement
from tests.factories.findings import answered, issued_report
from tests.factories.scheduling import engagement


async def ready_cycle(
    org_id: uuid.UUID, body_id: uuid.UUID, *, stage2_ended: dt.date | None = None
) -> StartedEngagement:
    """Stage 2 held, its report issued, the major verified and the minor's plan accepted."""
    made = await engagement(org_id, body_id, held=2, stage2_ended=stage2_ended)
    _made, _report, actions = await issued_report(org_id, body_id, ("major", "minor"), made=made)
    await answered(actions["major"], "closed")
    await answered(actions["minor"], "accepted")
    return made


async def granted(
    org_id: uuid.UUID,
    body_id: uuid.UUID,
    *,
    scope: str = "Design and manufacture of precision parts",
) -> tuple[StartedEngagement, str]:
    """A certificate granted by the body's decision on a ready cycle; returns its number."""
    made = await ready_cycle(org_id, body_id)
    result = await decide(None, made.cycle_id, decision="grant", decided_on=None, scope=scope)
    return made, str(result["certificate"])
