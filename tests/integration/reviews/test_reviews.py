"""Reviews: eligibility (a completed audit, once per engagement), the body's reply, moderation."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import World
from tests.factories.reviews import REVIEW
from tests.factories.scheduling import engagement

pytestmark = pytest.mark.usefixtures("database")


async def _review(
    client: httpx.AsyncClient,
    world: World,
    engagement_id: object,
    role: str = "org:quality_manager",
) -> httpx.Response:
    return await client.post(
        f"/api/v1/bodies/{world.a.body_id}/reviews",
        json={**REVIEW, "engagement_id": str(engagement_id)},
        headers=world.actor("a", role).headers,
    )


async def test_no_completed_audit_is_403(client: httpx.AsyncClient, world: World) -> None:
    planned = (await engagement(world.a.org_id, world.a.body_id)).engagement_id
    response = await _review(client, world, planned)
    assert response.status_code == 403
    assert response.json()["code"] == "no_completed_audit"


async def test_engagement_with_another_body_is_403(client: httpx.AsyncClient, world: World) -> None:
    elsewhere = (await engagement(world.a.org_id, world.b.body_id, held=2)).engagement_id
    response = await _review(client, world, elsewhere)
    assert response.status_code == 403
    assert response.json()["code"] == "no_completed_audit"


async def test_once_per_engagement(client: httpx.AsyncClient, world: World) -> None:
    done = (await engagement(world.a.org_id, world.a.body_id, held=2)).engagement_id
    first = await _review(client, world, done)
    assert first.status_code == 201, first.text
    assert first.json()["rating"] == 5
    assert first.json()["ratings"]["communication"] == 4
    second = await _review(client, world, done, role="org:owner")
    assert second.status_code == 409
    assert second.json()["code"] == "already_reviewed"
    detail = (await client.get(f"/api/v1/bodies/{world.a.body_id}")).json()
    assert detail["rating"]["review_count"] == 1
    assert detail["rating"]["distribution"]["5"] == 1
    assert detail["rating"]["communication"] == 4.0


async def test_only_the_engagements_client_may_review(
    client: httpx.AsyncClient, world: World
) -> None:
    done = (await engagement(world.a.org_id, world.a.body_id, held=2)).engagement_id
    stranger = await client.post(
        f"/api/v1/bodies/{world.a.body_id}/reviews",
        json={**REVIEW, "engagement_id": str(done)},
        headers=world.actor("b", "org:owner").headers,
    )
    assert stranger.status_code == 404
    member = await _review(client, world, done, role="org:member")
    assert member.status_code == 403


async def test_bad_ratings_are_422(client: httpx.AsyncClient, world: World) -> None:
    done = (await engagement(world.a.org_id, world.a.body_id, held=2)).engagement_id
    response = await client.post(
        f"/api/v1/bodies/{world.a.body_id}/reviews",
        json={**REVIEW, "rating": 6, "engagement_id": str(done)},
        headers=world.actor("a", "org:owner").headers,
    )
    assert response.status_code == 422


async def test_reply_once_and_hide(client: httpx.AsyncClient, world: World) -> None:
    done = (await engagement(world.a.org_id, world.a.body_id, held=2)).engagement_id
    review_id = (await _review(client, world, done)).json()["id"]
    reply = f"/api/v1/reviews/{review_id}/reply"
    owner = world.actor("a", "body:owner").headers
    first = await client.post(reply, json={"text": "Thank you."}, headers=owner)
    assert first.status_code == 200
    assert first.json()["reply"] == "Thank you."
    second = await client.post(reply, json={"text": "Again."}, headers=owner)
    assert second.status_code == 409
    assert second.json()["code"] == "already_replied"
    other_body = await client.post(
        reply, json={"text": "x"}, headers=world.actor("b", "body:owner").headers
    )
    assert other_body.status_code == 404

    hide = f"/api/v1/admin/reviews/{review_id}/hide"
    assert (await client.post(hide, json={"reason": "abuse"}, headers=owner)).status_code == 403
    hidden = await client.post(hide, json={"reason": "abuse"}, headers=world.admin.headers)
    assert hidden.status_code == 200
    assert hidden.json()["status"] == "hidden"
    listed = (await client.get(f"/api/v1/bodies/{world.a.body_id}/reviews")).json()
    assert listed["total"] == 0
    detail = (await client.get(f"/api/v1/bodies/{world.a.body_id}")).json()
    assert detail["rating"]["review_count"] == 0
    shown = await client.post(
        f"/api/v1/admin/reviews/{review_id}/show", headers=world.admin.headers
    )
    assert shown.json()["status"] == "published"
    assert (await client.get(f"/api/v1/bodies/{world.a.body_id}/reviews")).json()["total"] == 1


async def test_public_pages_render(client: httpx.AsyncClient, world: World) -> None:
    done = (await engagement(world.a.org_id, world.a.body_id, held=2)).engagement_id
    await _review(client, world, done)
    for path in (
        "/bodies",
        "/bodies?standard=ISO+9001%3A2015&iaf_sector=28&country=GB&sort=rating",
        "/bodies/body-a-certification",
        f"/bodies/compare?ids={world.a.body_id}&ids={world.b.body_id}",
    ):
        response = await client.get(path)
        assert response.status_code == 200, (path, response.text[:300])
    bad = await client.get("/bodies?standard=nope")
    assert bad.status_code == 422
    assert "allowed" in bad.text
