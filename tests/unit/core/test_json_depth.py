"""json_depth measures nesting from the raw bytes, so deep bodies are refused before decoding."""

from __future__ import annotations

import json

import pytest

from marketplace.core.guards import MAX_JSON_DEPTH, json_depth


@pytest.mark.parametrize(
    ("body", "depth"),
    [
        (b"", 0),
        (b'{"a": 1}', 1),
        (b"[" * 40 + b"]" * 40, 40),
        (b'{"a": [' * 20 + b"1" + b"]}" * 20, 40),
        (b'["' + b"[" * 100 + b'"]', 1),  # brackets in a string are text
        (b'["\\"' + b"[" * 100 + b'"]', 1),  # ... also after an escaped quote
        (b"[]" * 100, 1),  # many brackets side by side are not deep
        (b"[" * 100_000, 100_000),  # unterminated: still measured
    ],
)
def test_depth(body: bytes, depth: int) -> None:
    assert json_depth(body) == depth


def test_agrees_with_a_decoder_at_the_limit() -> None:
    body = json.dumps(json.loads(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH)).encode()
    assert json_depth(body) == MAX_JSON_DEPTH
