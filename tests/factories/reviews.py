"""Builders of reviews: the body a client posts, and a review written through the service."""

from __future__ import annotations

import uuid

from marketplace.accounts.sessions import load_principal
from marketplace.reviews import services as reviews

REVIEW = {
    "rating": 5,
    "ratings": {"competence": 5, "communication": 4, "value": 4, "punctuality": 5},
    "text": "Thorough and fair.",
}


async def review(author_id: uuid.UUID, body_id: uuid.UUID, engagement_id: uuid.UUID) -> uuid.UUID:
    """The client's review of the body for a held engagement (the author owns the client)."""
    principal = await load_principal(author_id)
    assert principal is not None
    return await reviews.write_review(
        principal, body_id, {**REVIEW, "engagement_id": engagement_id}
    )
