"""Management reviews (ISO 9001:2015 9.3): what was reviewed, by whom, and what it decided."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from marketplace.accounts.guards import Principal
from marketplace.core import clock
from marketplace.core.activity import Tenant, log_action
from marketplace.core.db import write_transaction
from marketplace.core.errors import Invalid
from marketplace.readiness.context import client
from marketplace.readiness.schemas import ManagementReviewIn, ManagementReviewOut
from marketplace.readiness.tables import ManagementReview

# ISO 9001:2015 9.3.2 a) to f): what a management review takes into consideration.
REVIEW_INPUTS = {
    "previous_actions": "Status of actions from previous management reviews",
    "context_changes": "Changes in external and internal issues",
    "performance": "Performance and effectiveness (customers, objectives, processes, "
    "nonconformities, monitoring, audit results, external providers)",
    "resources": "Adequacy of resources",
    "risks_opportunities": "Effectiveness of actions taken to address risks and opportunities",
    "improvement": "Opportunities for improvement",
}


async def create_management_review(
    actor_id: uuid.UUID | None, organisation_id: uuid.UUID, data: dict[str, Any]
) -> uuid.UUID:
    """Record a management review (ISO 9001:2015 9.3): date, attendees, inputs covered, decisions."""
    inputs = list(dict.fromkeys(data.get("inputs") or []))
    for code in inputs:
        if code not in REVIEW_INPUTS:
            raise Invalid.field("inputs", f"Unknown review input {code!r}.")
    if data["held_on"] > clock.today():
        raise Invalid.field("held_on", "Record a review once it has been held.")
    async with write_transaction():
        review = ManagementReview(
            organisation=organisation_id,
            held_on=data["held_on"],
            attendees=data["attendees"].strip(),
            inputs=inputs,
            decisions=data.get("decisions", ""),
            created_by=actor_id,
        )
        await review.save().run()
        await log_action(
            "marketplace.management_review.recorded",
            actor_id=actor_id,
            entity_type="management_review",
            entity_id=review.id,
            tenant=Tenant("organisation", organisation_id),
            data={"held_on": str(data["held_on"]), "inputs": inputs},
        )
    return review.id


async def list_management_reviews(organisation_id: uuid.UUID) -> list[ManagementReviewOut]:
    rows: list[dict[str, Any]] = (
        await ManagementReview.select()
        .where(ManagementReview.organisation == organisation_id)
        .order_by(ManagementReview.held_on, ascending=False)
        .output(load_json=True)
        .run()
    )
    for r in rows:
        r["missing_inputs"] = [k for k in REVIEW_INPUTS if k not in r["inputs"]]
    return msgspec.convert(rows, list[ManagementReviewOut], strict=False)


async def record_review_as(
    principal: Principal, organisation_id: uuid.UUID, data: ManagementReviewIn
) -> ManagementReviewOut:
    client(principal, organisation_id, write=True)
    rid = await create_management_review(
        principal.user_id, organisation_id, msgspec.structs.asdict(data)
    )
    rows = await list_management_reviews(organisation_id)
    return next(r for r in rows if r.id == rid)
