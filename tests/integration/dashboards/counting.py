"""Counting a home page's linked lists as their users see them: the page by session, the API by token."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx

from tests.factories import sign_in


def rows_on_page(path: str, html: str) -> int:
    """How many items the linked HTML list shows (its stated total where it pages)."""
    total = re.search(r'data-total="(\d+)"', html)
    if total:
        return int(total.group(1))
    caption = re.search(r"<caption>(\d+) corrective action", html)
    if caption:
        return int(caption.group(1))
    pending = re.search(r"<p>(\d+) pending\.", html)
    if pending:
        return int(pending.group(1))
    if "/planning" in path:
        return len(re.findall(r'<td><a href="/audits/', html))
    if "/certificates" in path:
        return len(re.findall(r'<td><a href="/certificates/', html))
    if "/invoices" in path:
        return len(re.findall(r'<td><a href="/invoices/', html))
    raise AssertionError(f"no way to count the list at {path}")


async def count_of(
    client: httpx.AsyncClient, user_id: uuid.UUID, path: str, headers: dict[str, str] | None = None
) -> int:
    """Fetch a linked list as its user would and count it: pages by session, API by token."""
    if path.startswith("/api/"):
        client.cookies.clear()
        response = await client.get(path, headers=headers)
        assert response.status_code == 200, (path, response.text[:300])
        body: Any = response.json()
        return int(body["total"]) if isinstance(body, dict) else len(body)
    await sign_in(client, user_id)
    response = await client.get(path.split("#")[0])
    assert response.status_code == 200, (path, response.text[:300])
    return rows_on_page(path, response.text)
