"""Every /api/v1 operation documents a typed answer, so a client can be generated from the schema."""

from __future__ import annotations

from typing import Any

import httpx

# Statuses whose answer has no body by definition: nothing to describe.
NO_BODY = {"202", "204"}
METHODS = ("get", "post", "put", "patch", "delete")


def _typed(schema: Any) -> bool:
    """A schema names a Struct (`$ref`) somewhere, or is a string (a file or a text answer).

    An empty schema (`-> Any`) or objects of unnamed keys (`-> dict`) describe nothing.
    """
    if not isinstance(schema, dict) or not schema:
        return False
    if "$ref" in schema or schema.get("type") == "string":
        return True
    if schema.get("type") == "array":
        return _typed(schema.get("items"))
    if schema.get("type") == "object":
        return bool(schema.get("properties"))
    return any(_typed(s) for s in schema.get("oneOf", []) + schema.get("anyOf", []))


def _resolve(doc: dict[str, Any], schema: Any) -> Any:
    """Follow a `$ref` into components, so Page[...] envelopes are checked by their items."""
    if isinstance(schema, dict) and "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return doc["components"]["schemas"].get(name, schema)
    return schema


def _page_items_typed(doc: dict[str, Any], schema: Any) -> bool:
    """A named envelope with an `items` list must say what the items are."""
    resolved = _resolve(doc, schema)
    items = (resolved.get("properties") or {}).get("items") if isinstance(resolved, dict) else None
    if items is None:
        return True
    return _typed(items)


def untyped_operations(doc: dict[str, Any]) -> list[str]:
    """`METHOD path` of every /api/v1 operation without a 2xx answer that has a typed schema."""
    missing = []
    for path, ops in sorted(doc["paths"].items()):
        if not path.startswith("/api/v1"):
            continue
        for method in METHODS:
            op = ops.get(method)
            if op is None:
                continue
            answers = {code: r for code, r in op.get("responses", {}).items() if code[0] == "2"}
            ok = False
            for code, answer in answers.items():
                content = answer.get("content") or {}
                if not content and code in NO_BODY:
                    ok = True
                for media in content.values():
                    schema = media.get("schema")
                    if _typed(schema) and _page_items_typed(doc, schema):
                        ok = True
            if not ok:
                missing.append(f"{method.upper()} {path}")
    return missing


def test_checker_tells_typed_from_untyped_answers() -> None:
    ok = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/A"}}}}
    doc = {
        "components": {
            "schemas": {
                "A": {"type": "object", "properties": {"x": {"type": "integer"}}},
                "PageLoose": {
                    "type": "object",
                    "properties": {"items": {"type": "array", "items": {"type": "object"}}},
                },
            }
        },
        "paths": {
            "/api/v1/typed": {"get": {"responses": {"200": ok}}},
            "/api/v1/gone": {"delete": {"responses": {"204": {"description": "No content"}}}},
            "/api/v1/any": {
                "get": {"responses": {"200": {"content": {"application/json": {"schema": {}}}}}}
            },
            "/api/v1/dict": {
                "post": {
                    "responses": {
                        "201": {
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "additionalProperties": {"type": "integer"},
                                    }
                                }
                            }
                        }
                    }
                }
            },
            "/api/v1/loose-page": {
                "get": {
                    "responses": {
                        "200": {
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/PageLoose"}
                                }
                            }
                        }
                    }
                }
            },
            "/api/v1/nothing": {"get": {"responses": {"200": {"description": "OK"}}}},
            "/schema/other": {"get": {"responses": {}}},
        },
    }
    assert untyped_operations(doc) == [
        "GET /api/v1/any",
        "POST /api/v1/dict",
        "GET /api/v1/loose-page",
        "GET /api/v1/nothing",
    ]


DASHBOARDS = [
    "GET /api/v1/bodies/{body_id}/dashboard",
    "GET /api/v1/bodies/{body_id}/clients",
    "GET /api/v1/bodies/{body_id}/clients/{organisation_id}",
    "GET /api/v1/bodies/{body_id}/clients/{organisation_id}/notes",
    "POST /api/v1/bodies/{body_id}/clients/{organisation_id}/notes",
    "GET /api/v1/organisations/{organisation_id}/dashboard",
    "GET /api/v1/me/auditor-dashboard",
    "GET /api/v1/admin/dashboard",
    "GET /api/v1/admin/reviews",
    "GET /api/v1/admin/users",
]


async def test_dashboards_answers_are_typed(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/schema/openapi.json")).json()
    listed = {f"{m.upper()} {p}" for p, ops in doc["paths"].items() for m in ops}
    assert set(DASHBOARDS) <= listed
    assert [op for op in untyped_operations(doc) if op in DASHBOARDS] == []


async def test_every_api_operation_documents_a_typed_answer(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/schema/openapi.json")).json()
    missing = untyped_operations(doc)
    assert not missing, "operations without a typed 2xx answer:\n" + "\n".join(missing)
