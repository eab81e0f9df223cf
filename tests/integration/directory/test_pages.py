"""The body's own directory pages: declaring an accreditation through the management form."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import World, csrf_from, sign_in

pytestmark = pytest.mark.usefixtures("database")


async def test_body_declares_an_accreditation_on_its_page(
    client: httpx.AsyncClient, world: World
) -> None:
    await sign_in(client, world.actor("a", "body:scheduler").user_id)
    page = await client.get(f"/manage/bodies/{world.a.body_id}")
    assert page.status_code == 200
    assert "Declare accreditation" in page.text
    # The form's token (bound to this session), not the raw CSRF cookie.
    token = csrf_from(page.text)
    form = {
        "_csrf_token": token,
        "accreditation_body": "UKAS",
        "number": "77",
        "standard": "ISO 9001:2015",
        "iaf_sectors": "28, 29",
        "valid_until": "2099-01-01",
    }
    response = await client.post(
        f"/manage/bodies/{world.a.body_id}/accreditations",
        data=form,
        headers={"x-csrftoken": token},
    )
    assert response.status_code == 200, response.text[:500]
    assert "pending" in response.text
    bad = await client.post(
        f"/manage/bodies/{world.a.body_id}/accreditations",
        data={**form, "iaf_sectors": "99"},
        headers={"x-csrftoken": token},
    )
    assert bad.status_code == 422
    client.cookies.clear()
