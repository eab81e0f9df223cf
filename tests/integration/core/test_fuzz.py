"""Schemathesis fuzzes every /api/v1 operation against a real server process: no input may cause a 5xx.

CI runs 40 examples per operation. A longer campaign is the same test with more:
`FUZZ_EXAMPLES=400 pytest -s tests/integration/core/test_fuzz.py` (add TEST_DATABASE_URL for
PostgreSQL; FUZZ_SERVER_LOG=path keeps the server's log, with the traceback of any 5xx).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.factories import World
from tests.live_server import live_server

EXAMPLES_PER_OPERATION = int(os.environ.get("FUZZ_EXAMPLES") or 40)


def _checker(
    operation: Any, headers: dict[str, str], failures: list[str], cases: list[int]
) -> Callable[[], None]:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def check(case: Any) -> None:
        response = case.call(headers=headers, timeout=30)
        cases[0] += 1
        if response.status_code >= 500:
            failures.append(
                f"{case.method} {case.formatted_path} {case.body!r:.200} -> "
                f"{response.status_code}: {response.text[:200]}"
            )
        elif response.status_code >= 400 and "json" in response.headers.get("content-type", ""):
            assert "detail" in response.json(), response.text

    return check  # type: ignore[no-any-return]


def test_no_input_causes_a_server_error(world: World) -> None:
    # Callers are members of tenant a, so the fuzzer reaches past authentication into the handlers.
    owner = world.actor("a", "org:owner").headers
    spare = world.actor(
        "a", "org:member"
    ).headers  # DELETE /auth/token revokes this one, not the owner's
    failures: list[str] = []
    operations = 0
    cases = [0]
    log = os.environ.get("FUZZ_SERVER_LOG")
    with live_server(log_path=Path(log) if log else None) as url:
        schema = schemathesis.openapi.from_url(f"{url}/schema/openapi.json").include(
            path_regex=r"^/api/v1/"
        )
        for result in schema.get_all_operations():
            operation = result.ok()
            operations += 1
            _checker(
                operation,
                spare if operation.method.upper() == "DELETE" else owner,
                failures,
                cases,
            )()
    print(f"fuzz: {operations} operations, {cases[0]} cases, {len(failures)} server errors")
    assert operations >= 10
    assert failures == []
